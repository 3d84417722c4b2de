/**
 * The operator's controller: informers on IMGateways and what they own (StatefulSets,
 * Services, ConfigMaps, PDBs, gateway pods, runtime Leases) feed `namespace/name` keys into a
 * keyed work queue (de-duplicated, one worker per key, per-key backoff 5 ms → 5 min, a global
 * rate limit) that runs the reconciler; every key is resynced periodically.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PolicyV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { EventRecorder, ResilientInformer, WorkQueue } from '../kube/controller-kit.js';
import { TokenBucket } from '../kube/token-bucket.js';
import { Labels } from '../ring/index.js';
import { IMGATEWAY, type IMGateway } from './api.js';
import { apiStatusCode } from '../kube/api-errors.js';
import { Applier } from './apply.js';
import type { OperatorMetrics } from './metrics.js';
import { DEFAULT_CLUSTER_DOMAIN, keyOf, parseKey } from './names.js';
import { LeaseChanges } from './lease-changes.js';
import { Reconciler, type Caches } from './reconciler.js';
import type { RolloutMode } from './rollout.js';

export interface ControllerOptions {
  readonly kc: KubeConfig;
  /** Namespace to watch; undefined: all namespaces. */
  readonly namespace?: string;
  /** Default `cluster.local`. */
  readonly clusterDomain?: string;
  /** Who rolls gateway pods out. Default `ring`. */
  readonly rollout?: RolloutMode;
  readonly logger: Logger;
  readonly metrics: OperatorMetrics;
  /** Every key is reconciled again this often, ms. Default 60,000. */
  readonly resyncMs?: number;
  /** Reconciles started per second across all keys (burst the same). Default 50. */
  readonly reconcilesPerSecond?: number;
  /** How often Leases are checked for a lapse (no event marks one), ms. Default 1,000. */
  readonly leaseLapseCheckMs?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
}

export const CONTROLLER_DEFAULTS = {
  clusterDomain: DEFAULT_CLUSTER_DOMAIN,
  resyncMs: 60_000,
  reconcilesPerSecond: 50,
  leaseLapseCheckMs: 1000,
} as const;

/** Runs the reconcile loop until closed. */
export class Controller {
  readonly #options: ControllerOptions &
    Required<Pick<ControllerOptions, 'clusterDomain' | 'resyncMs' | 'reconcilesPerSecond' | 'leaseLapseCheckMs'>>;
  /** Renewals that change nothing a reconcile reads are not followed (./lease-changes.ts). */
  readonly #leaseChanges = new LeaseChanges();
  readonly #informers: ResilientInformer<KubernetesObject>[] = [];
  readonly #queue: WorkQueue;
  readonly #reconciler: Reconciler;
  readonly #bucket: TokenBucket;
  #gateways!: ResilientInformer<IMGateway>;
  #resync: NodeJS.Timeout | undefined;
  #lapseCheck: NodeJS.Timeout | undefined;
  /** False until every cache has its first list: a reconcile on a partial cache would see owned objects as missing. */
  #synced = false;
  #closing: Promise<void> | undefined;

  constructor(options: ControllerOptions) {
    const resolved = { ...CONTROLLER_DEFAULTS, ...options };
    if (!(resolved.resyncMs >= 1000)) throw new RangeError(`resyncMs must be at least 1000, got ${resolved.resyncMs}`);
    if (!(resolved.reconcilesPerSecond > 0))
      throw new RangeError(`reconcilesPerSecond must be positive, got ${resolved.reconcilesPerSecond}`);
    if (!(resolved.leaseLapseCheckMs > 0))
      throw new RangeError(`leaseLapseCheckMs must be positive, got ${resolved.leaseLapseCheckMs}`);
    this.#options = resolved;
    this.#bucket = new TokenBucket(resolved.reconcilesPerSecond);
    const caches = this.#makeInformers();
    const applier = new Applier(options.kc, (kind, verb) => options.metrics.apiWrites.inc({ kind, verb }));
    // Its ClusterRole grants create on events, not patch: each event is an Event of its own.
    const recorder = new EventRecorder(
      options.kc,
      'imring-operator',
      (error) => options.logger.warn({ err: error }, 'event not recorded'),
      { correlate: false },
    );
    this.#reconciler = new Reconciler({
      caches,
      applier,
      recorder,
      logger: options.logger,
      clusterDomain: resolved.clusterDomain,
      rollout: resolved.rollout ?? 'ring',
      now: resolved.now ?? Date.now,
      onStep: (step, decision) => options.metrics.observeStep(step, decision),
    });
    this.#queue = new WorkQueue((key) => this.#handle(key), {
      onError: (key, error) => {
        options.metrics.reconciles.inc({ result: 'error' });
        options.logger.warn({ err: error, key }, 'reconcile failed; retrying with backoff');
      },
    });
  }

  /** Starts the informers; resolves once every cache has its first list, then reconciles everything. */
  async start(): Promise<void> {
    await Promise.all([this.#gateways, ...this.#informers].map((i) => i.start()));
    this.#synced = true;
    for (const gateway of this.#gateways.list()) this.#queue.add(keyOf(gatewayKeyOf(gateway)));
    this.#resync = setInterval(() => {
      for (const gateway of this.#gateways.list()) this.#queue.add(keyOf(gatewayKeyOf(gateway)));
    }, this.#options.resyncMs);
    this.#resync.unref();
    this.#lapseCheck = setInterval(() => {
      for (const key of this.#leaseChanges.lapsed(this.#now())) this.#queue.add(key);
    }, this.#options.leaseLapseCheckMs);
    this.#lapseCheck.unref();
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  /** Resolves when no key is queued or being reconciled (delayed requeues aside). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Stops informers and the queue (waiting for reconciles in progress). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#resync);
      clearInterval(this.#lapseCheck);
      await this.#queue.close();
      await Promise.all([this.#gateways, ...this.#informers].map((i) => i.close()));
    })();
    return this.#closing;
  }

  async #handle(key: string): Promise<void> {
    await this.#bucket.take();
    const { namespace, name } = parseKey(key);
    const stop = this.#options.metrics.reconcileSeconds.startTimer();
    try {
      const result = await this.#reconciler.reconcile(namespace, name);
      this.#options.metrics.reconciles.inc({ result: 'ok' });
      if (result.requeueAfterMs !== undefined) this.#queue.add(key, result.requeueAfterMs);
    } catch (error) {
      if (apiStatusCode(error) !== 409) throw error;
      // The cache was stale: the watch brings the newer object, and with it another reconcile.
      this.#options.metrics.reconciles.inc({ result: 'conflict' });
      this.#queue.add(key, 50);
    } finally {
      stop();
      this.#options.metrics.queueDepth.set(this.#queue.depth);
    }
  }

  #makeInformers(): Caches {
    this.#gateways = this.#gatewayInformer();
    const list = ownedLists(this.#options.kc, this.#options.namespace);
    const sets = this.#owned('/apis/apps/v1{scope}/statefulsets', list.statefulSets);
    const services = this.#owned('/api/v1{scope}/services', list.services);
    const configMaps = this.#owned('/api/v1{scope}/configmaps', list.configMaps);
    const budgets = this.#owned('/apis/policy/v1{scope}/poddisruptionbudgets', list.podDisruptionBudgets);
    const pods = this.#owned('/api/v1{scope}/pods', list.pods);
    const leases = this.#owned('/apis/coordination.k8s.io/v1{scope}/leases', list.leases, (event, lease, key) => {
      if (event !== 'delete') return this.#leaseChanges.matters(lease, key, this.#now());
      this.#leaseChanges.forget(lease);
      return true;
    });
    return {
      gateway: (namespace, name) => this.#gateways.get(name, namespace),
      statefulSet: (namespace, name) => sets.get(name, namespace),
      service: (namespace, name) => services.get(name, namespace),
      podDisruptionBudget: (namespace, name) => budgets.get(name, namespace),
      configMap: (namespace, name) => configMaps.get(name, namespace),
      pods: (namespace, gateway) => byGateway(pods, namespace, gateway),
      leases: (namespace, gateway) => byGateway(leases, namespace, gateway),
    };
  }

  /** The IMGateway informer: any change of a gateway enqueues it. */
  #gatewayInformer(): ResilientInformer<IMGateway> {
    const { kc, namespace } = this.#options;
    const custom = kc.makeApiClient(CustomObjectsApi);
    const { group, version, plural } = IMGATEWAY;
    const informer = new ResilientInformer<IMGateway>({
      kc,
      path: `/apis/${group}/${version}${scopeOf(namespace)}/${plural}`,
      list: async () =>
        (namespace === undefined
          ? await custom.listClusterCustomObject({ group, version, plural })
          : await custom.listNamespacedCustomObject({
              group,
              version,
              namespace,
              plural,
            })) as KubernetesListObject<IMGateway>,
      onError: (error) => this.#options.logger.warn({ err: error }, 'IMGateway watch failed; restarting'),
    });
    const enqueueGateway = (g: IMGateway): void => {
      if (this.#synced) this.#queue.add(keyOf(gatewayKeyOf(g)));
    };
    for (const event of ['add', 'update', 'delete'] as const) {
      informer.on(event, (g) => {
        this.#options.metrics.informerEvents.inc({ resource: plural, event });
        enqueueGateway(g);
      });
    }
    return informer;
  }

  /**
   * An informer on the objects of one kind labelled with their gateway (`path` with `{scope}` for
   * the namespace part): any change enqueues the gateway the label names, or those `follow` says matter.
   */
  #owned<T extends KubernetesObject>(
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    follow?: (event: 'add' | 'update' | 'delete', object: T, key: string) => boolean,
  ): ResilientInformer<T> {
    const informer = new ResilientInformer<T>({
      kc: this.#options.kc,
      path: path.replace('{scope}', scopeOf(this.#options.namespace)),
      list,
      labelSelector: Labels.gateway,
      onError: (error) => this.#options.logger.warn({ err: error, path }, 'watch failed; restarting'),
    });
    const enqueue = (event: 'add' | 'update' | 'delete', o: T): void => {
      const gateway = o.metadata?.labels?.[Labels.gateway];
      if (gateway === undefined || o.metadata?.namespace === undefined) return;
      const key = keyOf({ namespace: o.metadata.namespace, name: gateway });
      // Followed before the first sync too, so the first renewals after it are known as such.
      if (follow !== undefined && !follow(event, o, key)) return;
      if (this.#synced) this.#queue.add(key);
    };
    const resource = path.slice(path.lastIndexOf('/') + 1);
    for (const event of ['add', 'update', 'delete'] as const) {
      informer.on(event, (o) => {
        this.#options.metrics.informerEvents.inc({ resource, event });
        enqueue(event, o);
      });
    }
    this.#informers.push(informer);
    return informer;
  }
}

/** The path segment of a watch in `namespace`: empty across all namespaces. */
function scopeOf(namespace: string | undefined): string {
  return namespace === undefined ? '' : `/namespaces/${namespace}`;
}

/**
 * The list calls of the kinds an IMGateway owns, each limited to the objects labelled with a
 * gateway, across all namespaces or in `namespace`.
 */
function ownedLists(kc: KubeConfig, namespace: string | undefined) {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const labelSelector = Labels.gateway;
  const ns = namespace ?? '';
  const all = namespace === undefined;
  return {
    statefulSets: () =>
      all
        ? apps.listStatefulSetForAllNamespaces({ labelSelector })
        : apps.listNamespacedStatefulSet({ namespace: ns, labelSelector }),
    services: () =>
      all
        ? core.listServiceForAllNamespaces({ labelSelector })
        : core.listNamespacedService({ namespace: ns, labelSelector }),
    configMaps: () =>
      all
        ? core.listConfigMapForAllNamespaces({ labelSelector })
        : core.listNamespacedConfigMap({ namespace: ns, labelSelector }),
    podDisruptionBudgets: () =>
      all
        ? policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector })
        : policy.listNamespacedPodDisruptionBudget({ namespace: ns, labelSelector }),
    pods: () =>
      all ? core.listPodForAllNamespaces({ labelSelector }) : core.listNamespacedPod({ namespace: ns, labelSelector }),
    leases: () =>
      all
        ? coordination.listLeaseForAllNamespaces({ labelSelector })
        : coordination.listNamespacedLease({ namespace: ns, labelSelector }),
  };
}

/** The cached objects in `namespace` labelled with `gateway`. */
function byGateway<T extends KubernetesObject>(
  informer: ResilientInformer<T>,
  namespace: string,
  gateway: string,
): T[] {
  return informer.list(namespace).filter((o) => o.metadata?.labels?.[Labels.gateway] === gateway);
}

function gatewayKeyOf(gateway: IMGateway): { namespace: string; name: string } {
  return { namespace: gateway.metadata.namespace ?? 'default', name: gateway.metadata.name ?? '' };
}
