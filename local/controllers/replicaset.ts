import { AppsV1Api, CoreV1Api, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { EventRecorder, type ResilientInformer } from '../../kube/controller-kit.js';
import { apiErrorMessage, apiStatusCode } from '../../kube/api-errors.js';
import {
  ControllerLoop,
  StatusMemo,
  objectKey,
  resolveWorkloadOptions,
  type ResolvedWorkloadOptions,
  type WorkloadControllerOptions,
} from './controller-loop.js';
import { hasReplicaFiguresChanged, planReplicas, replicaFigures, type ReplicaFigures } from './replicaset-plan.js';
import { podInformer, replicaSetInformer } from './workload-informers.js';
import { controllerKeyOf, controllerRef, isControlledBy } from './owner-refs.js';

/** Options of {@link ReplicaSetController}. */
export type ReplicaSetControllerOptions = WorkloadControllerOptions;

/** Component name on the Events it records, as the real controller's. */
const COMPONENT = 'replicaset-controller';
/** Most pods one reconcile creates or deletes (the real controller's burstReplicas). */
const BURST_REPLICAS = 500;
/** How long writes not yet seen by the pod informer hold a set's pod management back, in ms (as the real 5 min). */
const EXPECTATIONS_TIMEOUT_MS = 300_000;

/** Pod writes of one set that the pod informer has not shown yet. */
interface Expectations {
  adds: number;
  readonly deletes: Set<string>;
  readonly sinceMs: number;
}

/**
 * The ReplicaSet controller of the local control plane, after kube-controller-manager's: keeps
 * `spec.replicas` pods `<set>-<5 chars>` from the template (Failed and deleted ones replaced),
 * deletes the least useful first on a scale-down, and reports status through the status
 * subresource. Pod writes it has not yet seen come back through its informer hold the next
 * ones back (the real controller's expectations), so a stale cache never doubles them.
 */
export class ReplicaSetController {
  readonly #options: ResolvedWorkloadOptions;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #events: EventRecorder;
  readonly #sets: ResilientInformer<V1ReplicaSet>;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #loop: ControllerLoop;
  readonly #expected = new Map<string, Expectations>();
  readonly #written = new StatusMemo<ReplicaFigures>();

  constructor(options: ReplicaSetControllerOptions) {
    this.#options = resolveWorkloadOptions('ReplicaSetController', options);
    const { kc, onError } = this.#options;
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#events = new EventRecorder(kc, COMPONENT, onError);
    this.#sets = replicaSetInformer(this.#options);
    this.#pods = podInformer(this.#options);
    this.#loop = new ControllerLoop({
      name: 'ReplicaSetController',
      options: this.#options,
      startInformers: async () => void (await Promise.all([this.#sets.start(), this.#pods.start()])),
      closeInformers: () => Promise.all([this.#sets.close(), this.#pods.close()]).then(() => this.#written.clear()),
      keys: () => this.#sets.list().map(objectKey),
      reconcile: (key) => this.#reconcile(key),
    });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#sets.on(event, (set) => this.#loop.enqueue(objectKey(set)));
      this.#pods.on(event, (pod) => this.#observed(event, pod));
    }
  }

  /** Starts watching; resolves once both informers have synced and every set is queued. Refused after `close()`. */
  start(): Promise<void> {
    return this.#loop.start();
  }

  /** Stops: no new reconciles, waits for the running ones, closes the informers. Idempotent. */
  close(): Promise<void> {
    return this.#loop.close();
  }

  #observed(event: 'add' | 'update' | 'delete', pod: V1Pod): void {
    const key = controllerKeyOf(pod, 'ReplicaSet');
    if (key === undefined) return;
    const expected = this.#expected.get(key);
    if (expected !== undefined) {
      if (event === 'add') expected.adds = Math.max(0, expected.adds - 1);
      if (event === 'delete' || pod.metadata?.deletionTimestamp) expected.deletes.delete(pod.metadata?.uid ?? '');
    }
    this.#loop.enqueue(key);
  }

  /** observe → plan (pure) → the pod writes → status (pure) → write it if it changed. */
  async #reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const set = this.#sets.get(name, namespace);
    if (set === undefined) {
      this.#expected.delete(key);
      this.#written.forget(key);
      return;
    }
    const pods = this.#pods.list(namespace).filter((pod) => isControlledBy(pod, set));
    // The garbage collector removes the pods of a set being deleted; nothing to keep up.
    if (!set.metadata?.deletionTimestamp && this.#isSettled(key)) await this.#manage(key, set, pods);
    const { figures, recheckAfterMs } = replicaFigures(set, pods, this.#options.now());
    const cached = {
      resourceVersion: set.metadata?.resourceVersion,
      differs: hasReplicaFiguresChanged(set.status, figures),
    };
    if (this.#written.shouldWrite(key, cached, (from) => hasReplicaFiguresChanged(from, figures)))
      await this.#writeStatus(key, set, figures);
    if (recheckAfterMs !== undefined) this.#loop.enqueue(key, recheckAfterMs);
  }

  /** Whether every pod write of the set has been seen (or has been waited for too long). */
  #isSettled(key: string): boolean {
    const expected = this.#expected.get(key);
    if (expected === undefined) return true;
    const done = expected.adds === 0 && expected.deletes.size === 0;
    if (done || this.#options.now() - expected.sinceMs > EXPECTATIONS_TIMEOUT_MS) this.#expected.delete(key);
    return !this.#expected.has(key);
  }

  async #manage(key: string, set: V1ReplicaSet, pods: readonly V1Pod[]): Promise<void> {
    const plan = planReplicas(set, pods);
    const creates = Math.min(plan.create, BURST_REPLICAS);
    const deletes = plan.delete.slice(0, BURST_REPLICAS);
    if (creates === 0 && deletes.length === 0) return;
    const expected: Expectations = {
      adds: creates,
      deletes: new Set(deletes.map((p) => p.metadata?.uid ?? '')),
      sinceMs: this.#options.now(),
    };
    this.#expected.set(key, expected);
    if (creates > 0) await this.#createPods(set, creates, expected);
    const results = await Promise.allSettled(deletes.map((pod) => this.#deletePod(set, pod, expected)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Creates `count` pods in doubling batches (1, 2, 4, …), stopping at a failed batch, as slowStartBatch. */
  async #createPods(set: V1ReplicaSet, count: number, expected: Expectations): Promise<void> {
    let done = 0;
    for (let batch = 1; done < count; batch *= 2) {
      const size = Math.min(batch, count - done);
      const results = await Promise.allSettled(Array.from({ length: size }, () => this.#createPod(set)));
      done += size;
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length === 0) continue;
      // Creations never made will never be seen.
      expected.adds = Math.max(0, expected.adds - failed.length - (count - done));
      throw failed[0]!.reason;
    }
  }

  async #createPod(set: V1ReplicaSet): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    try {
      const pod = await this.#core.createNamespacedPod({ namespace, body: podFor(set) });
      await this.#record(set, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata?.name}`);
    } catch (error) {
      await this.#record(set, 'Warning', 'FailedCreate', `Error creating: ${apiErrorMessage(error)}`);
      throw new Error(`while creating a pod of replicaset ${objectKey(set)}`, { cause: error });
    }
  }

  async #deletePod(set: V1ReplicaSet, pod: V1Pod, expected: Expectations): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const name = pod.metadata?.name ?? '';
    try {
      const body = { preconditions: { uid: pod.metadata?.uid } };
      await this.#core.deleteNamespacedPod({ namespace, name, body });
      await this.#record(set, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    } catch (error) {
      expected.deletes.delete(pod.metadata?.uid ?? '');
      // Gone already, or replaced under the same name: the informer tells the rest.
      if (apiStatusCode(error) === 404 || apiStatusCode(error) === 409) return;
      await this.#record(set, 'Warning', 'FailedDelete', `Error deleting: ${apiErrorMessage(error)}`);
      throw new Error(`while deleting pod ${namespace}/${name}`, { cause: error });
    }
  }

  async #writeStatus(key: string, set: V1ReplicaSet, figures: ReplicaFigures): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const name = set.metadata?.name ?? '';
    // A JSON patch of /status alone (`add` sets it whether or not there is one): the cache may be stale.
    const value = { ...JSON.parse(JSON.stringify(set.status ?? {})), ...figures } as Record<string, unknown>;
    try {
      const saved = await this.#apps.patchNamespacedReplicaSetStatus({
        namespace,
        name,
        body: [{ op: 'add', path: '/status', value }],
      });
      this.#written.remember(key, figures, saved.metadata?.resourceVersion);
    } catch (error) {
      if (apiStatusCode(error) === 404) return;
      throw new Error(`while writing the status of replicaset ${key}`, { cause: error });
    }
  }

  #record(set: V1ReplicaSet, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.#events.record(
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: set.metadata },
      type,
      reason,
      message,
    );
  }
}

/** A pod of `set`'s template, named by the server from `<set>-`, controlled by the set. */
function podFor(set: V1ReplicaSet): V1Pod {
  const template = structuredClone(set.spec?.template ?? {});
  const meta = template.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${set.metadata?.name ?? ''}-`,
      namespace: set.metadata?.namespace,
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers?.length ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [controllerRef('ReplicaSet', set.metadata)],
    },
    spec: template.spec ?? { containers: [] },
  };
}
