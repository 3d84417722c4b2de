import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Endpoints,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import {
  desiredEndpoints,
  endpointGroups,
  hasSelector,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  planSlices,
  sameEndpoints,
  SERVICE_NAME_LABEL,
  type SlicePlan,
} from './endpoint-slice-plan.js';
import { Lifecycle } from './lifecycle.js';
import { servicesInformer, slicesInformer } from './service-informers.js';

/** Options of {@link EndpointsController}. */
export interface EndpointsControllerOptions {
  readonly kc: KubeConfig;
  /** Told of informer restarts and failed writes (retried with backoff). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

/** Delay before a Service whose Endpoints write met a stale cache (409) is synced again, in ms. */
const CONFLICT_RETRY_MS = 50;

/**
 * The endpoints controllers of the local control plane, after kube-controller-manager's
 * endpointslice and endpoints controllers: for every Service with a selector, EndpointSlices
 * `<svc>-<5 chars>` (owned by the Service, so the garbage collector removes them with it) and
 * the core/v1 Endpoints of the same name, kept in step with the selected pods as
 * {@link endpointGroups} computes them. Services without a selector are left to their users.
 */
export class EndpointsController {
  readonly #core: CoreV1Api;
  readonly #discovery: DiscoveryV1Api;
  readonly #services: ResilientInformer<V1Service>;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #slices: ResilientInformer<V1EndpointSlice>;
  readonly #endpoints: ResilientInformer<V1Endpoints>;
  readonly #queue: WorkQueue;
  /**
   * Slice writes the cache has not shown yet, per Service: name → the resourceVersion written
   * (undefined for a delete). A sync waits for them so as not to act on a stale cache (and,
   * with generated names, create a slice twice).
   */
  readonly #pending = new Map<string, Map<string, string | undefined>>();
  readonly #lifecycle = new Lifecycle('EndpointsController', {
    start: () => this.#start(),
    close: () => this.#close(),
  });

  constructor(options: EndpointsControllerOptions) {
    const { kc } = options;
    const onError = options.onError ?? (() => undefined);
    const core = kc.makeApiClient(CoreV1Api);
    this.#core = core;
    this.#discovery = kc.makeApiClient(DiscoveryV1Api);
    this.#services = servicesInformer({ kc, onError });
    this.#pods = new ResilientInformer({
      kc,
      onError,
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
    });
    this.#slices = slicesInformer({ kc, onError, labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY}` });
    this.#endpoints = new ResilientInformer({
      kc,
      onError,
      path: '/api/v1/endpoints',
      list: () => core.listEndpointsForAllNamespaces(),
    });
    this.#queue = new WorkQueue((key) => this.#sync(key), { onError: (_key, error) => onError(error) });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#services.on(event, (s) => this.#queue.add(keyOf(s.metadata?.namespace, s.metadata?.name)));
      this.#pods.on(event, (pod) => this.#enqueueNamespace(pod.metadata?.namespace));
      this.#slices.on(event, (s) =>
        this.#queue.add(keyOf(s.metadata?.namespace, s.metadata?.labels?.[SERVICE_NAME_LABEL])),
      );
      this.#endpoints.on(event, (e) => this.#queue.add(keyOf(e.metadata?.namespace, e.metadata?.name)));
    }
  }

  /** Starts watching; resolves once every Service has been synced once. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops watching and waits for the syncs in flight. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    await Promise.all([this.#services.start(), this.#pods.start(), this.#slices.start(), this.#endpoints.start()]);
    for (const s of this.#services.list()) this.#queue.add(keyOf(s.metadata?.namespace, s.metadata?.name));
    await this.#queue.idle();
  }

  async #close(): Promise<void> {
    await Promise.all([this.#services.close(), this.#pods.close(), this.#slices.close(), this.#endpoints.close()]);
    await this.#queue.close();
  }

  #enqueueNamespace(namespace: string | undefined): void {
    for (const s of this.#services.list(namespace)) {
      if (hasSelector(s)) this.#queue.add(keyOf(namespace, s.metadata?.name));
    }
  }

  async #sync(key: string): Promise<void> {
    if (this.#lifecycle.isClosed) return;
    const [namespace = '', name = ''] = key.split('/');
    if (this.#awaitsCache(key, namespace)) return;
    const service = this.#services.get(name, namespace);
    const existing = this.#slices.list(namespace).filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === name);
    if (!service || !hasSelector(service)) {
      await this.#applySlices(key, namespace, {
        create: [],
        update: [],
        delete: existing.map((s) => s.metadata!.name!),
      });
      if (!service) await this.#deleteEndpoints(namespace, name);
      return;
    }
    const groups = endpointGroups(service, this.#pods.list(namespace));
    await this.#applySlices(key, namespace, planSlices(service, groups, existing));
    await this.#applyEndpoints(key, desiredEndpoints(service, groups));
  }

  /** Whether slice writes of this Service have not reached the cache yet (their events sync it again). */
  #awaitsCache(key: string, namespace: string): boolean {
    const pending = this.#pending.get(key);
    if (!pending) return false;
    for (const [name, written] of pending) {
      const cached = this.#slices.get(name, namespace)?.metadata?.resourceVersion;
      const seen = written === undefined ? cached === undefined : Number(cached ?? 0) >= Number(written);
      if (seen) pending.delete(name);
    }
    if (pending.size === 0) this.#pending.delete(key);
    return pending.size > 0;
  }

  async #applySlices(key: string, namespace: string, plan: SlicePlan): Promise<void> {
    const pending = this.#pending.get(key) ?? new Map<string, string | undefined>();
    this.#pending.set(key, pending);
    try {
      for (const body of plan.create) {
        const created = await this.#discovery.createNamespacedEndpointSlice({ namespace, body });
        pending.set(created.metadata!.name!, created.metadata!.resourceVersion);
      }
      for (const body of plan.update) {
        const name = body.metadata!.name!;
        const updated = await this.#discovery.replaceNamespacedEndpointSlice({ name, namespace, body });
        pending.set(name, updated.metadata!.resourceVersion);
      }
      for (const name of plan.delete) {
        await this.#discovery.deleteNamespacedEndpointSlice({ name, namespace }).catch(ignore(404));
        pending.set(name, undefined);
      }
    } finally {
      if (pending.size === 0) this.#pending.delete(key);
    }
  }

  async #applyEndpoints(key: string, desired: V1Endpoints): Promise<void> {
    const { name, namespace } = desired.metadata as { name: string; namespace: string };
    const current = this.#endpoints.get(name, namespace);
    if (current && sameEndpoints(current, desired)) return;
    try {
      if (!current) await this.#core.createNamespacedEndpoints({ namespace, body: desired });
      else {
        const body = {
          ...desired,
          metadata: { ...desired.metadata, resourceVersion: current.metadata?.resourceVersion },
        };
        await this.#core.replaceNamespacedEndpoints({ name, namespace, body });
      }
    } catch (error) {
      // 409: the cache is behind the Endpoints written last; its event, or this retry, syncs again.
      if (apiStatusCode(error) !== 409) throw error;
      this.#queue.add(key, CONFLICT_RETRY_MS);
    }
  }

  async #deleteEndpoints(namespace: string, name: string): Promise<void> {
    if (!this.#endpoints.get(name, namespace)) return;
    await this.#core.deleteNamespacedEndpoints({ name, namespace }).catch(ignore(404));
  }
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

/** A catch handler that lets an API error with `code` pass and rethrows anything else. */
function ignore(code: number): (error: unknown) => void {
  return (error) => {
    if (apiStatusCode(error) !== code) throw error;
  };
}
