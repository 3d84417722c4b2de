/**
 * The pod subresources a scheduler and `kubectl drain` post to: `pods/<name>/binding` (v1
 * Binding, pkg/registry/core/pod/storage BindingREST) and `pods/<name>/eviction` (policy/v1
 * Eviction, pkg/registry/core/pod/storage/eviction.go), which deletes a pod only when the
 * PodDisruptionBudget matching it allows one more disruption.
 */
import { ApiError, badRequest, notFound } from '../errors.js';
import type { ResourceRoute } from '../http/router.js';
import { timestamp } from './metadata.js';
import { storageKey } from './resource-catalog.js';
import { matchesLabels, parseLabelSelector, labelSelectorToString } from './selectors.js';
import type { WriteTarget } from './writes.js';
import type { KubeObject } from '../types.js';

/** How a pod is deleted: the API's own graceful delete, with the eviction's delete options. */
export type PodDelete = (route: ResourceRoute, options: Record<string, unknown>, query: URLSearchParams) => KubeObject;

/** Options of {@link PodSubresources}. */
export interface PodSubresourcesOptions {
  readonly target: WriteTarget;
  readonly deletePod: PodDelete;
}

/** What a subresource post answers: its HTTP code and body. */
export interface SubresourceAnswer {
  readonly code: number;
  readonly object: KubeObject;
}

/** The subresources served here. */
export const POD_ACTIONS: ReadonlySet<string> = new Set(['binding', 'eviction']);

const PDB_RESOURCE = storageKey({ group: 'policy', plural: 'poddisruptionbudgets' });
const POD_RESOURCE = storageKey({ group: '', plural: 'pods' });

/** The eviction's refusal message (eviction.go createTooManyRequestsError). */
const VIOLATES_BUDGET = "Cannot evict pod as it would violate the pod's disruption budget.";

/** eviction.go MaxDisruptedPodSize: evictions the disruption controller has not yet confirmed. */
const MAX_DISRUPTED_PODS = 2000;

/** Answers POSTs to `pods/<name>/binding` and `pods/<name>/eviction`. */
export class PodSubresources {
  readonly #target: WriteTarget;
  readonly #deletePod: PodDelete;

  constructor(options: PodSubresourcesOptions) {
    this.#target = options.target;
    this.#deletePod = options.deletePod;
  }

  /** Serves one POST; `body` is the parsed Binding or Eviction. */
  handle(route: ResourceRoute, body: KubeObject, query: URLSearchParams): SubresourceAnswer {
    if (route.verb !== 'create') throw new ApiError(405, 'MethodNotAllowed', `${route.verb} is not supported here`);
    const name = route.name!;
    if (body.metadata?.name !== undefined && body.metadata.name !== name) {
      throw badRequest(
        `name in URL does not match name in ${route.subresource === 'binding' ? 'Binding' : 'Eviction'} object`,
      );
    }
    const pod = this.#target.store.get(POD_RESOURCE, route.namespace ?? '', name);
    if (!pod) throw notFound(route.type, name);
    const dryRun = query.getAll('dryRun').includes('All') || hasDryRun(body);
    if (route.subresource === 'binding') this.#bind(pod, body, dryRun);
    else this.#evict(route, { pod, body, query, dryRun });
    return { code: 201, object: SUCCESS };
  }

  #bind(pod: KubeObject, binding: KubeObject, dryRun: boolean): void {
    const node = (binding.target as { name?: unknown } | undefined)?.name;
    if (typeof node !== 'string' || node === '') throw badRequest('Binding.target.name: Required value');
    const id = `${pod.metadata!.namespace}/${pod.metadata!.name}`;
    if (pod.metadata?.deletionTimestamp) {
      throw new ApiError(409, 'Conflict', `pod ${id} is being deleted, cannot be assigned to a host`);
    }
    const spec = (pod.spec ?? {}) as { nodeName?: string };
    if (spec.nodeName) throw new ApiError(409, 'Conflict', `pod ${id} is already assigned to node "${spec.nodeName}"`);
    if (dryRun) return;
    const next = structuredClone(pod);
    next.spec = { ...spec, nodeName: node };
    const status = (next.status ?? {}) as { conditions?: Record<string, unknown>[] };
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    const scheduled = { type: 'PodScheduled', status: 'True', lastProbeTime: null };
    next.status = { ...status, conditions: [...conditions, { ...scheduled, lastTransitionTime: this.#now() }] };
    this.#target.store.put(POD_RESOURCE, next);
  }

  #evict(
    route: ResourceRoute,
    at: { pod: KubeObject; body: KubeObject; query: URLSearchParams; dryRun: boolean },
  ): void {
    const { pod, body, query, dryRun } = at;
    const options = { ...((body.deleteOptions ?? {}) as Record<string, unknown>) };
    const remove = (): void => {
      if (dryRun) return;
      delete options.dryRun;
      this.#deletePod({ ...route, verb: 'delete', subresource: undefined }, options, withoutDryRun(query));
    };
    if (canIgnoreBudget(pod)) return remove();
    const budgets = this.#budgetsOf(pod);
    if (budgets.length === 0) return remove();
    if (budgets.length > 1) {
      throw new ApiError(
        500,
        'InternalError',
        'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      );
    }
    const budget = budgets[0]!;
    if (!isPodReady(pod) && mayEvictUnhealthy(budget)) return remove();
    this.#takeDisruption(budget, pod.metadata!.name!, dryRun);
    remove();
  }

  /** eviction.go checkAndDecrement: refuses with 429, or takes one disruption from the budget at once. */
  #takeDisruption(budget: KubeObject, podName: string, dryRun: boolean): void {
    const status = (budget.status ?? {}) as PdbStatus;
    const name = budget.metadata!.name!;
    if ((status.observedGeneration ?? 0) < (budget.metadata?.generation ?? 0)) {
      throw tooManyRequests(`The disruption budget ${name} is still being processed by the server.`);
    }
    const allowed = checkAllowed(name, status);
    if (dryRun) return;
    const next = structuredClone(budget);
    const nextStatus: PdbStatus = {
      ...status,
      disruptionsAllowed: allowed - 1,
      disruptedPods: { ...status.disruptedPods, [podName]: this.#now() },
    };
    if (allowed - 1 === 0) nextStatus.conditions = withInsufficientPods(status.conditions ?? [], this.#now());
    next.status = nextStatus;
    this.#target.store.put(PDB_RESOURCE, next);
  }

  #budgetsOf(pod: KubeObject): KubeObject[] {
    const labels = pod.metadata?.labels;
    return this.#target.store.list(PDB_RESOURCE, pod.metadata?.namespace ?? '').filter((pdb) => {
      const selector = (pdb.spec as { selector?: unknown } | undefined)?.selector;
      // policy/v1: a null selector matches no pod, an empty one every pod.
      if (selector === undefined || selector === null) return false;
      return matchesLabels(parseLabelSelector(labelSelectorToString(selector)), labels);
    });
  }

  #now(): string {
    return timestamp(this.#target.now());
  }
}

/** policy/v1 PodDisruptionBudgetStatus, the fields the eviction reads and writes. */
interface PdbStatus {
  observedGeneration?: number;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  disruptedPods?: Record<string, string>;
  conditions?: Record<string, unknown>[];
}

const SUCCESS: KubeObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

/** The disruptions `status` allows, or the error refusing one more. */
function checkAllowed(name: string, status: PdbStatus): number {
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbiddenBudget(name, 'pdb disruptions allowed is negative');
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
    throw forbiddenBudget(name, 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  }
  if (allowed === 0) {
    const needs = `needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`;
    throw tooManyRequests(`The disruption budget ${name} ${needs}`);
  }
  return allowed;
}

/** A pod no budget protects: already finished, not yet running, or already being deleted (eviction.go canIgnorePDB). */
function canIgnoreBudget(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (pod.metadata?.deletionTimestamp) return true;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || phase === undefined;
}

/** An unready pod goes when the policy says AlwaysAllow, or (IfHealthyBudget) while the budget is met. */
function mayEvictUnhealthy(budget: KubeObject): boolean {
  const policy = (budget.spec as { unhealthyPodEvictionPolicy?: string } | undefined)?.unhealthyPodEvictionPolicy;
  if (policy === 'AlwaysAllow') return true;
  const status = (budget.status ?? {}) as PdbStatus;
  return (status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0) && (status.desiredHealthy ?? 0) > 0;
}

function isPodReady(pod: KubeObject): boolean {
  const conditions = (pod.status as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions;
  return (conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The DisruptionAllowed condition once no disruption is left (pdbhelper.UpdateDisruptionAllowedCondition). */
function withInsufficientPods(conditions: Record<string, unknown>[], now: string): Record<string, unknown>[] {
  const previous = conditions.find((c) => c.type === 'DisruptionAllowed');
  const changed = previous?.status !== 'False';
  const condition = {
    type: 'DisruptionAllowed',
    status: 'False',
    reason: 'InsufficientPods',
    message: '',
    observedGeneration: previous?.observedGeneration,
    lastTransitionTime: changed ? now : previous?.lastTransitionTime,
  };
  return [...conditions.filter((c) => c !== previous), condition];
}

function tooManyRequests(cause: string): ApiError {
  return new ApiError(429, 'TooManyRequests', VIOLATES_BUDGET, {
    causes: [{ reason: 'DisruptionBudget', message: cause }],
  });
}

function forbiddenBudget(name: string, why: string): ApiError {
  return new ApiError(403, 'Forbidden', `poddisruptionbudgets.policy "${name}" is forbidden: ${why}`, {
    name,
    group: 'policy',
    kind: 'poddisruptionbudgets',
  });
}

function hasDryRun(body: KubeObject): boolean {
  const dryRun = (body.deleteOptions as { dryRun?: unknown } | undefined)?.dryRun;
  return Array.isArray(dryRun) && dryRun.includes('All');
}

function withoutDryRun(query: URLSearchParams): URLSearchParams {
  const copy = new URLSearchParams(query);
  copy.delete('dryRun');
  return copy;
}
