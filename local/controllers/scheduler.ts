import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { EventRecorder, ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import { Lifecycle } from './lifecycle.js';
import { placePod } from './scheduler-plan.js';

/** Options of {@link Scheduler}. */
export interface SchedulerOptions {
  readonly kc: KubeConfig;
  /** Told of failed binds (retried) and informer restarts. Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** The clock, for condition times. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/** Component name on the Events it records, as kube-scheduler's. */
const COMPONENT = 'default-scheduler';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The local kube-scheduler: binds each pod without `spec.nodeName` (and with no other
 * `schedulerName`) to a node through the `binding` subresource, as {@link placePod} chooses;
 * a pod no node fits stays Pending with PodScheduled False (Unschedulable) and a
 * FailedScheduling Event, and is tried again whenever a node changes.
 */
export class Scheduler {
  readonly #onError: (error: unknown) => void;
  readonly #now: () => Date;
  readonly #core: CoreV1Api;
  readonly #events: EventRecorder;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #nodes: ResilientInformer<V1Node>;
  readonly #queue: WorkQueue;
  /** Pods bound here whose binding the pod cache has not shown yet: `namespace/name` → node. */
  readonly #assumed = new Map<string, string>();
  /** Unschedulable pods and the message last reported for each, so a retry reports only changes. */
  readonly #unschedulable = new Map<string, string>();
  readonly #lifecycle = new Lifecycle('Scheduler', { start: () => this.#start(), close: () => this.#close() });

  constructor(options: SchedulerOptions) {
    const { kc } = options;
    this.#onError = options.onError ?? (() => undefined);
    this.#now = options.now ?? (() => new Date());
    const core = kc.makeApiClient(CoreV1Api);
    this.#core = core;
    this.#events = new EventRecorder(kc, COMPONENT, this.#onError);
    const onError = this.#onError;
    this.#pods = new ResilientInformer<V1Pod>({
      kc,
      onError,
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
    });
    this.#nodes = new ResilientInformer<V1Node>({ kc, onError, path: '/api/v1/nodes', list: () => core.listNode() });
    // One pod at a time: each choice counts the pods the previous ones placed.
    this.#queue = new WorkQueue((key) => this.#schedule(key), { concurrency: 1, onError: (_k, e) => onError(e) });
    for (const event of ['add', 'update'] as const) this.#pods.on(event, (pod) => this.#queue.add(keyOf(pod)));
    this.#pods.on('delete', (pod) => this.#forget(keyOf(pod)));
    for (const event of ['add', 'update', 'delete'] as const) this.#nodes.on(event, () => this.#retryUnschedulable());
  }

  /** Starts watching pods and nodes. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops scheduling and watching. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    await Promise.all([this.#nodes.start(), this.#pods.start()]);
    for (const pod of this.#pods.list()) this.#queue.add(keyOf(pod));
  }

  async #close(): Promise<void> {
    await Promise.all([this.#pods.close(), this.#nodes.close()]);
    await this.#queue.close();
  }

  async #schedule(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.#pods.get(name, namespace);
    if (!pod || this.#lifecycle.isClosed) return;
    if (pod.spec?.nodeName) return void this.#assumed.delete(key);
    if (!isSchedulable(pod) || this.#assumed.has(key)) return;
    const placement = placePod(pod, this.#nodes.list(), this.#podsPerNode());
    if ('message' in placement) return this.#reportUnschedulable(pod, placement.message);
    const body = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name, namespace, uid: pod.metadata?.uid },
      target: { apiVersion: 'v1', kind: 'Node', name: placement.node },
    };
    try {
      await this.#core.createNamespacedPodBinding({ name, namespace, body });
    } catch (error) {
      // Bound or deleted meanwhile: the pod's next event says what became of it.
      if (apiStatusCode(error) === 404 || apiStatusCode(error) === 409) return;
      throw error;
    }
    this.#assumed.set(key, placement.node);
    this.#unschedulable.delete(key);
    const message = `Successfully assigned ${namespace}/${name} to ${placement.node}`;
    await this.#events.record(targetOf(pod), 'Normal', 'Scheduled', message);
  }

  /** Pods per node: those the cache shows bound and not finished, and those bound here since. */
  #podsPerNode(): Map<string, number> {
    const counts = new Map<string, number>();
    const add = (node: string) => counts.set(node, (counts.get(node) ?? 0) + 1);
    for (const pod of this.#pods.list()) {
      const phase = pod.status?.phase;
      if (pod.spec?.nodeName && phase !== 'Succeeded' && phase !== 'Failed') add(pod.spec.nodeName);
    }
    for (const [key, node] of this.#assumed) {
      const [namespace = '', name = ''] = key.split('/');
      if (!this.#pods.get(name, namespace)?.spec?.nodeName) add(node);
    }
    return counts;
  }

  async #reportUnschedulable(pod: V1Pod, message: string): Promise<void> {
    const key = keyOf(pod);
    if (this.#unschedulable.get(key) === message) return;
    this.#unschedulable.set(key, message);
    const condition = {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message,
      lastProbeTime: null,
      lastTransitionTime: this.#now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z'),
    };
    const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    const body = { status: { phase: 'Pending', conditions: [...others, condition] } };
    const { name = '', namespace = '' } = pod.metadata ?? {};
    try {
      await this.#core.patchNamespacedPodStatus({ name, namespace, body }, mergePatch);
    } catch (error) {
      if (apiStatusCode(error) !== 404) throw error;
      return;
    }
    await this.#events.record(targetOf(pod), 'Warning', 'FailedScheduling', message);
  }

  #retryUnschedulable(): void {
    for (const key of this.#unschedulable.keys()) this.#queue.add(key);
  }

  #forget(key: string): void {
    this.#assumed.delete(key);
    this.#unschedulable.delete(key);
  }
}

/** A pod this scheduler places: pending, not being deleted, and asking for the default scheduler. */
function isSchedulable(pod: V1Pod): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const scheduler = pod.spec?.schedulerName;
  return scheduler === undefined || scheduler === COMPONENT;
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

function targetOf(pod: V1Pod): { apiVersion: string; kind: string; metadata: V1Pod['metadata'] } {
  return { apiVersion: 'v1', kind: 'Pod', metadata: structuredClone(pod.metadata) };
}
