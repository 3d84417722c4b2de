import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type V1Pod,
  type V1PodTemplateSpec,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { EventRecorder, ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import {
  hasStatusChanged,
  nextStatus,
  planActions,
  statusOf,
  type PodAction,
  type StatusFigures,
} from './statefulset-plan.js';
import { isOwnedBy, ownerKeyOf, updateRevisionOf, type Revision } from './statefulset-pods.js';
import { apiStatusCode, apiErrorMessage } from '../../kube/api-errors.js';
import { Lifecycle } from './lifecycle.js';

/** Options of {@link StatefulSetController}. */
export interface StatefulSetControllerOptions {
  /** Where the API server is; every read and write goes through client-node with it. */
  readonly kc: KubeConfig;
  /** The namespace to watch. Default: all namespaces. */
  readonly namespace?: string;
  /** Told of informer errors and failed reconciles (which are retried with backoff). */
  readonly onError?: (error: unknown) => void;
  /** Every set is reconciled again this often, in ms. Default 30,000. */
  readonly resyncMs?: number;
  /** Delay before a set is reconciled again after a 409 (a stale cache), in ms. Default 100. */
  readonly conflictRetryMs?: number;
  /** The clock, epoch ms, for `minReadySeconds`. Default `Date.now`. */
  readonly now?: () => number;
  /** Told after each reconcile of a set (`namespace/name`), done or failed; for tests and metrics. */
  readonly onReconciled?: (key: string) => void;
}

const DEFAULTS = {
  namespace: undefined,
  onError: (): void => undefined,
  resyncMs: 30_000,
  conflictRetryMs: 100,
  now: (): number => Date.now(),
  onReconciled: (): void => undefined,
} satisfies Omit<StatefulSetControllerOptions, 'kc'>;

type ResolvedOptions = Required<Omit<StatefulSetControllerOptions, 'namespace'>> &
  Pick<StatefulSetControllerOptions, 'namespace'>;

/** Component name on the Events it records, as the real controller's. */
const COMPONENT = 'statefulset-controller';

/**
 * The StatefulSet controller of the local control plane, after kube-controller-manager's:
 * keeps pods `<set>-<ordinal>` from `spec.template` (OrderedReady or Parallel), recreates
 * Failed and deleted ones, rolls template changes out from the highest ordinal down
 * (RollingUpdate with partition, or OnDelete), and reports status through the status
 * subresource. A plain client of the API server: it works against a real cluster too.
 */
export class StatefulSetController {
  readonly #options: ResolvedOptions;
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #events: EventRecorder;
  readonly #sets: ResilientInformer<V1StatefulSet>;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #queue: WorkQueue;
  /** Templates seen per set (`namespace/name` → revision name → template), to recreate pods below a partition. */
  readonly #history = new Map<string, Map<string, V1PodTemplateSpec>>();
  /** The last status written per set and the resourceVersion it got, until the cache catches up. */
  readonly #written = new Map<string, { figures: StatusFigures; resourceVersion: string }>();
  #synced = false;
  #resync: NodeJS.Timeout | undefined;
  readonly #lifecycle = new Lifecycle('StatefulSetController', {
    start: () => this.#start(),
    close: () => this.#close(),
  });

  constructor(options: StatefulSetControllerOptions) {
    this.#options = resolveOptions(options);
    const { kc, namespace } = this.#options;
    const onError = this.#options.onError;
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#events = new EventRecorder(kc, COMPONENT, onError);
    const apps = this.#apps;
    const core = this.#core;
    this.#sets = new ResilientInformer<V1StatefulSet>({
      kc,
      onError,
      path: namespace ? `/apis/apps/v1/namespaces/${namespace}/statefulsets` : '/apis/apps/v1/statefulsets',
      list: () => (namespace ? apps.listNamespacedStatefulSet({ namespace }) : apps.listStatefulSetForAllNamespaces()),
    });
    this.#pods = new ResilientInformer<V1Pod>({
      kc,
      onError,
      path: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
      list: () => (namespace ? core.listNamespacedPod({ namespace }) : core.listPodForAllNamespaces()),
    });
    this.#queue = new WorkQueue((key) => this.#handle(key), { onError: (_key, error) => onError(error) });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#sets.on(event, (set) => this.#enqueue(keyOf(set)));
      this.#pods.on(event, (pod) => this.#enqueue(ownerKeyOf(pod)));
    }
  }

  /** Starts watching; resolves once both informers have synced and every set is queued. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops: no new reconciles, waits for the running ones, closes the informers. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    await Promise.all([this.#sets.start(), this.#pods.start()]);
    if (this.#lifecycle.isClosed) return;
    // Reconciling before both caches are full would see missing pods and create them again.
    this.#synced = true;
    this.#enqueueAll();
    this.#resync = setInterval(() => this.#enqueueAll(), this.#options.resyncMs);
    this.#resync.unref();
  }

  async #close(): Promise<void> {
    clearInterval(this.#resync);
    await this.#queue.close();
    await Promise.all([this.#sets.close(), this.#pods.close()]);
    this.#history.clear();
    this.#written.clear();
  }

  #enqueue(key: string | undefined): void {
    if (key !== undefined && this.#synced && !this.#lifecycle.isClosed) this.#queue.add(key);
  }

  #enqueueAll(): void {
    for (const set of this.#sets.list()) this.#enqueue(keyOf(set));
  }

  async #handle(key: string): Promise<void> {
    try {
      await this.#reconcile(key);
    } finally {
      this.#options.onReconciled(key);
    }
  }

  /** observe → plan (pure) → apply the pod writes → status (pure) → write it if it changed. */
  async #reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const set = this.#sets.get(name, namespace);
    if (set === undefined) {
      this.#history.delete(key);
      this.#written.delete(key);
      return;
    }
    // The garbage collector removes the pods of a set being deleted; nothing to keep up.
    if (set.metadata?.deletionTimestamp) return;
    const pods = this.#pods.list(namespace).filter((pod) => isOwnedBy(pod, set));
    const update = updateRevisionOf(set);
    const currentName = set.status?.currentRevision ?? update.name;
    const current = this.#remember(key, set, { update, currentName });
    for (const action of planActions({ set, pods, update, current })) {
      if (!(await this.#apply(set, action))) {
        this.#queue.add(key, this.#options.conflictRetryMs);
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
    if (this.#shouldWriteStatus(key, set, status)) await this.#writeStatus(key, set, status);
    if (recheckAfterMs !== undefined) this.#queue.add(key, recheckAfterMs);
  }

  /**
   * Records the update revision's template and returns the current revision, if its template
   * is known (else the update revision, so new pods get the newest template). Keeps
   * `revisionHistoryLimit` + 1 templates per set.
   */
  #remember(key: string, set: V1StatefulSet, revisions: { update: Revision; currentName: string }): Revision {
    const { update, currentName } = revisions;
    const templates = this.#history.get(key) ?? new Map<string, V1PodTemplateSpec>();
    this.#history.set(key, templates);
    templates.delete(update.name);
    templates.set(update.name, structuredClone(update.template));
    const limit = Math.max(1, (set.spec?.revisionHistoryLimit ?? 10) + 1);
    for (const old of templates.keys()) {
      if (templates.size <= limit) break;
      if (old !== currentName) templates.delete(old);
    }
    const template = templates.get(currentName);
    return template ? { name: currentName, template } : update;
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

  /**
   * Whether the status differs from the cached one, unless the cache is older than our own
   * last write of these very figures (watch events trail writes: without this, each write
   * is followed by a second, identical one from a reconcile that saw the one before).
   */
  #shouldWriteStatus(key: string, set: V1StatefulSet, figures: StatusFigures): boolean {
    let written = this.#written.get(key);
    if (written !== undefined && !isOlder(set.metadata?.resourceVersion, written.resourceVersion)) {
      this.#written.delete(key);
      written = undefined;
    }
    if (!hasStatusChanged(set.status, figures)) return false;
    return written === undefined || hasStatusChanged(written.figures, figures);
  }

  async #writeStatus(key: string, set: V1StatefulSet, figures: StatusFigures): Promise<void> {
    const namespace = set.metadata?.namespace ?? '';
    const name = set.metadata?.name ?? '';
    // A JSON patch of /status alone: the cached object may be stale, and no other field is ours.
    const body = [{ op: 'replace', path: '/status', value: nextStatus(set.status, figures) }];
    try {
      const saved = await this.#apps.patchNamespacedStatefulSetStatus({ namespace, name, body });
      const resourceVersion = saved.metadata?.resourceVersion;
      if (resourceVersion) this.#written.set(key, { figures, resourceVersion });
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

function resolveOptions(options: StatefulSetControllerOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null || typeof options.kc !== 'object' || options.kc === null) {
    throw new TypeError('StatefulSetController: options.kc must be a KubeConfig');
  }
  const resolved: ResolvedOptions = { ...DEFAULTS, ...stripUndefined(options) };
  for (const key of ['resyncMs', 'conflictRetryMs'] as const) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`StatefulSetController: ${key} must be a positive number of ms, got ${value}`);
  }
  if (resolved.namespace !== undefined && (typeof resolved.namespace !== 'string' || resolved.namespace === '')) {
    throw new TypeError('StatefulSetController: namespace must be a non-empty string');
  }
  return resolved;
}

function stripUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Whether resourceVersion `a` is older than `b`. Resource versions are opaque to clients, but
 * both etcd's and the local server's are increasing integers; anything else counts as not
 * older, so the status is written rather than skipped.
 */
function isOlder(a: string | undefined, b: string): boolean {
  if (a === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

function keyOf(set: V1StatefulSet): string {
  return `${set.metadata?.namespace ?? ''}/${set.metadata?.name ?? ''}`;
}
