import {
  AppsV1Api,
  CoreV1Api,
  PolicyV1Api,
  type KubeConfig,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import { labelSelectorToString, matchesLabels, parseLabelSelector } from '../apiserver/store/selectors.js';
import { budgetStatus, DISRUPTED_POD_TIMEOUT_MS } from './disruption-plan.js';
import { Lifecycle } from './lifecycle.js';

/** Options of {@link DisruptionController}. */
export interface DisruptionControllerOptions {
  readonly kc: KubeConfig;
  /** Told of failed status writes (retried) and informer restarts. Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** The clock. Default `() => new Date()`. */
  readonly now?: () => Date;
}

/**
 * The disruption controller: keeps each PodDisruptionBudget's status (currentHealthy,
 * desiredHealthy, disruptionsAllowed, expectedPods, disruptedPods, the DisruptionAllowed
 * condition) in step with its pods, as {@link budgetStatus} computes it. The eviction
 * subresource reads that status and takes disruptions from it.
 */
export class DisruptionController {
  readonly #onError: (error: unknown) => void;
  readonly #now: () => Date;
  readonly #policy: PolicyV1Api;
  readonly #budgets: ResilientInformer<V1PodDisruptionBudget>;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #sets: ResilientInformer<V1StatefulSet>;
  readonly #queue: WorkQueue;
  readonly #lifecycle = new Lifecycle('DisruptionController', {
    start: () => this.#start(),
    close: () => this.#close(),
  });

  constructor(options: DisruptionControllerOptions) {
    const { kc } = options;
    const onError = options.onError ?? (() => undefined);
    this.#onError = onError;
    this.#now = options.now ?? (() => new Date());
    const policy = kc.makeApiClient(PolicyV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    this.#policy = policy;
    this.#budgets = new ResilientInformer<V1PodDisruptionBudget>({
      kc,
      onError,
      path: '/apis/policy/v1/poddisruptionbudgets',
      list: () => policy.listPodDisruptionBudgetForAllNamespaces(),
    });
    this.#pods = new ResilientInformer<V1Pod>({
      kc,
      onError,
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
    });
    this.#sets = new ResilientInformer<V1StatefulSet>({
      kc,
      onError,
      path: '/apis/apps/v1/statefulsets',
      list: () => apps.listStatefulSetForAllNamespaces(),
    });
    this.#queue = new WorkQueue((key) => this.#sync(key), { onError: (_key, error) => onError(error) });
    for (const event of ['add', 'update'] as const) this.#budgets.on(event, (pdb) => this.#queue.add(keyOf(pdb)));
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#pods.on(event, (pod) => this.#enqueueNamespace(pod.metadata?.namespace));
      this.#sets.on(event, (set) => this.#enqueueNamespace(set.metadata?.namespace));
    }
  }

  /** Starts watching budgets, pods and StatefulSets. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops computing and watching. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    await Promise.all([this.#budgets.start(), this.#pods.start(), this.#sets.start()]);
    for (const pdb of this.#budgets.list()) this.#queue.add(keyOf(pdb));
  }

  async #close(): Promise<void> {
    await Promise.all([this.#budgets.close(), this.#pods.close(), this.#sets.close()]);
    await this.#queue.close();
  }

  #enqueueNamespace(namespace: string | undefined): void {
    for (const pdb of this.#budgets.list(namespace)) this.#queue.add(keyOf(pdb));
  }

  async #sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const pdb = this.#budgets.get(name, namespace);
    if (!pdb || this.#lifecycle.isClosed) return;
    const status = budgetStatus({
      pdb,
      pods: this.#podsOf(pdb),
      scaleOf: (pod) => this.#scaleOf(pod),
      now: this.#now(),
    });
    // A recorded eviction stops counting once it times out: look again then.
    if (status.disruptedPods) this.#queue.add(key, DISRUPTED_POD_TIMEOUT_MS);
    if (sameStatus(pdb.status, status)) return;
    const body: V1PodDisruptionBudget = { ...structuredClone(pdb), status };
    try {
      await this.#policy.replaceNamespacedPodDisruptionBudgetStatus({ name, namespace, body });
    } catch (error) {
      // 409: an eviction took a disruption meanwhile; the budget's update event queues it again.
      if (apiStatusCode(error) === 409 || apiStatusCode(error) === 404) return;
      this.#onError(error);
      throw error;
    }
  }

  #podsOf(pdb: V1PodDisruptionBudget): V1Pod[] {
    const selector = pdb.spec?.selector;
    if (!selector) return [];
    const parsed = parseLabelSelector(labelSelectorToString(selector));
    return this.#pods.list(pdb.metadata?.namespace).filter((p) => matchesLabels(parsed, p.metadata?.labels));
  }

  #scaleOf(pod: V1Pod): { key: string; replicas: number } | undefined {
    const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
    if (owner?.kind !== 'StatefulSet') return undefined;
    const set = this.#sets.get(owner.name, pod.metadata?.namespace);
    if (!set || set.metadata?.uid !== owner.uid) return undefined;
    return { key: `StatefulSet/${owner.name}`, replicas: set.spec?.replicas ?? 1 };
  }
}

/** Same figures, disrupted pods and condition: the times the API returns as strings are compared as instants. */
function sameStatus(a: V1PodDisruptionBudget['status'], b: V1PodDisruptionBudget['status']): boolean {
  return JSON.stringify(normalized(a)) === JSON.stringify(normalized(b));
}

function normalized(s: V1PodDisruptionBudget['status']): unknown {
  if (!s) return undefined;
  const time = (t: unknown) => (t === undefined ? undefined : new Date(t as string).getTime());
  const disrupted = Object.entries(s.disruptedPods ?? {}).map(([k, v]) => [k, time(v)]);
  const conditions = (s.conditions ?? []).map((c) => [c.type, c.status, c.reason, c.observedGeneration]);
  const figures = [s.observedGeneration, s.disruptionsAllowed, s.currentHealthy, s.desiredHealthy, s.expectedPods];
  return [figures, disrupted, conditions];
}

function keyOf(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}
