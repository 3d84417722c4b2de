import { AppsV1Api, CoreV1Api, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { EventRecorder, ResilientInformer } from '../../kube/controller-kit.js';
import {
  hasStatusChanged,
  nextStatus,
  planActions,
  statusOf,
  type PodAction,
  type StatusFigures,
} from './statefulset-plan.js';
import { isOwnedBy, ownerKeyOf, updateRevisionOf } from './statefulset-pods.js';
import { podInformer } from './workload-informers.js';
import { StatefulSetHistory } from './statefulset-history.js';
import { apiStatusCode, apiErrorMessage } from '../../kube/api-errors.js';
import {
  ControllerLoop,
  StatusMemo,
  objectKey,
  resolveWorkloadOptions,
  type ResolvedWorkloadOptions,
  type WorkloadControllerOptions,
} from './controller-loop.js';

/** Options of {@link StatefulSetController}. */
export type StatefulSetControllerOptions = WorkloadControllerOptions;

/** Component name on the Events it records, as the real controller's. */
const COMPONENT = 'statefulset-controller';

/**
 * The StatefulSet controller of the local control plane, after kube-controller-manager's:
 * keeps pods `<set>-<ordinal>` from `spec.template` (OrderedReady or Parallel), recreates
 * Failed and deleted ones, rolls template changes out from the highest ordinal down
 * (RollingUpdate with partition, or OnDelete), keeps a ControllerRevision per template, and
 * reports status through the status subresource. A plain client of the API server: it works against a real cluster too.
 */
export class StatefulSetController {
  readonly #options: ResolvedWorkloadOptions;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #events: EventRecorder;
  readonly #sets: ResilientInformer<V1StatefulSet>;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #loop: ControllerLoop;
  /** The sets' ControllerRevisions: the current revision's template, to recreate pods below a partition. */
  readonly #history: StatefulSetHistory;
  readonly #written = new StatusMemo<StatusFigures>();

  constructor(options: StatefulSetControllerOptions) {
    this.#options = resolveWorkloadOptions('StatefulSetController', options);
    const { kc, namespace } = this.#options;
    const onError = this.#options.onError;
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#events = new EventRecorder(kc, COMPONENT, onError);
    const apps = this.#apps;
    this.#sets = new ResilientInformer<V1StatefulSet>({
      kc,
      onError,
      path: namespace ? `/apis/apps/v1/namespaces/${namespace}/statefulsets` : '/apis/apps/v1/statefulsets',
      list: () => (namespace ? apps.listNamespacedStatefulSet({ namespace }) : apps.listStatefulSetForAllNamespaces()),
    });
    this.#pods = podInformer(this.#options);
    this.#history = new StatefulSetHistory(this.#options, (key) => this.#loop.enqueue(key));
    this.#loop = new ControllerLoop({
      name: 'StatefulSetController',
      options: this.#options,
      startInformers: async () =>
        void (await Promise.all([this.#sets.start(), this.#pods.start(), this.#history.start()])),
      closeInformers: () => this.#closeInformers(),
      keys: () => this.#sets.list().map(objectKey),
      reconcile: (key) => this.#reconcile(key),
    });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#sets.on(event, (set) => this.#loop.enqueue(objectKey(set)));
      this.#pods.on(event, (pod) => this.#loop.enqueue(ownerKeyOf(pod)));
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

  async #closeInformers(): Promise<void> {
    await Promise.all([this.#sets.close(), this.#pods.close()]);
    await this.#history.close();
    this.#written.clear();
  }

  /** observe → plan (pure) → apply the pod writes → status (pure) → write it if it changed. */
  async #reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const set = this.#sets.get(name, namespace);
    if (set === undefined) {
      this.#written.forget(key);
      return;
    }
    // The garbage collector removes the pods of a set being deleted; nothing to keep up.
    if (set.metadata?.deletionTimestamp) return;
    const pods = this.#pods.list(namespace).filter((pod) => isOwnedBy(pod, set));
    const update = updateRevisionOf(set);
    const currentName = set.status?.currentRevision ?? update.name;
    if (!(await this.#history.sync({ set, update, currentName, pods }))) {
      this.#loop.enqueue(key, this.#options.conflictRetryMs);
      return;
    }
    const current = this.#history.revision(set, currentName) ?? update;
    for (const action of planActions({ set, pods, update, current })) {
      if (!(await this.#apply(set, action))) {
        this.#loop.enqueue(key, this.#options.conflictRetryMs);
        return;
      }
    }
    const { status, recheckAfterMs } = statusOf({
      set,
      pods,
      currentRevision: currentName,
      updateRevision: update.name,
      nowMs: this.#options.now(),
    });
    const cached = { resourceVersion: set.metadata?.resourceVersion, differs: hasStatusChanged(set.status, status) };
    if (this.#written.shouldWrite(key, cached, (from) => hasStatusChanged(from, status)))
      await this.#writeStatus(key, set, status);
    if (recheckAfterMs !== undefined) this.#loop.enqueue(key, recheckAfterMs);
  }

  /** One pod write and its Event. False on a 409 (a stale cache): the caller requeues quietly. */
  async #apply(set: V1StatefulSet, action: PodAction): Promise<boolean> {
    const namespace = set.metadata?.namespace ?? '';
    const podName = action.pod.metadata?.name ?? '';
    const verb = action.kind;
    try {
      if (action.kind === 'create') await this.#core.createNamespacedPod({ namespace, body: action.pod });
      else
        await this.#core.deleteNamespacedPod({
          namespace,
          name: podName,
          body: { preconditions: { uid: action.pod.metadata?.uid } },
        });
    } catch (error) {
      const code = apiStatusCode(error);
      if (code === 409) return false;
      // Already gone (delete) or namespace gone (create): the informers will tell.
      if (code === 404) return true;
      await this.#record(set, {
        type: 'Warning',
        reason: verb === 'create' ? 'FailedCreate' : 'FailedDelete',
        message: `${verb} Pod ${podName} in StatefulSet ${set.metadata?.name} failed error: ${apiErrorMessage(error)}`,
      });
      throw new Error(`while trying to ${verb} pod ${namespace}/${podName}`, { cause: error });
    }
    await this.#record(set, {
      type: 'Normal',
      reason: verb === 'create' ? 'SuccessfulCreate' : 'SuccessfulDelete',
      message: `${verb} Pod ${podName} in StatefulSet ${set.metadata?.name} successful`,
    });
    return true;
  }

  async #writeStatus(key: string, set: V1StatefulSet, figures: StatusFigures): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const name = set.metadata?.name ?? '';
    // A JSON patch of /status alone: the cached object may be stale, and no other field is ours.
    const body = [{ op: 'replace', path: '/status', value: nextStatus(set.status, figures) }];
    try {
      const saved = await this.#apps.patchNamespacedStatefulSetStatus({ namespace, name, body });
      this.#written.remember(key, figures, saved.metadata?.resourceVersion);
    } catch (error) {
      if (apiStatusCode(error) === 404) return;
      throw new Error(`while writing the status of statefulset ${namespace}/${name}`, { cause: error });
    }
  }

  #record(set: V1StatefulSet, event: { type: 'Normal' | 'Warning'; reason: string; message: string }): Promise<void> {
    return this.#events.record(
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: set.metadata },
      event.type,
      event.reason,
      event.message,
    );
  }
}
