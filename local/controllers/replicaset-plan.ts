import type { V1Pod, V1ReplicaSet, V1ReplicaSetStatus } from '@kubernetes/client-node';
import { isFinished, isRunningAndReady, isTerminating, msUntilAvailable } from './statefulset-pods.js';

/**
 * What the ReplicaSet controller does next and the status it reports: pure functions after
 * kube-controller-manager's `replica_set.go` (`manageReplicas`, `getPodsToDelete`) and
 * `replica_set_utils.go` (`calculateStatus`), without adoption and pod-deletion cost.
 */

/** Pod writes for one reconcile: how many pods to create, and which to delete (first to go first). */
export interface ReplicaPlan {
  readonly create: number;
  readonly delete: readonly V1Pod[];
}

/** A ReplicaSet's status figures, as this controller computes them. */
export type ReplicaFigures = Required<
  Pick<
    V1ReplicaSetStatus,
    'replicas' | 'fullyLabeledReplicas' | 'readyReplicas' | 'availableReplicas' | 'observedGeneration'
  >
>;

/** Pods that count towards `spec.replicas`: neither being deleted nor finished (Failed or Succeeded). */
export function activePods(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter((p) => !isTerminating(p) && !isFinished(p));
}

/**
 * The writes that bring the set's active pods to `spec.replicas`: creations for the missing,
 * or the surplus to delete, not-yet-useful pods first (see {@link deletionOrder}).
 */
export function planReplicas(rs: V1ReplicaSet, pods: readonly V1Pod[]): ReplicaPlan {
  const active = activePods(pods);
  const diff = active.length - Math.max(0, rs.spec?.replicas ?? 1);
  if (diff < 0) return { create: -diff, delete: [] };
  if (diff === 0) return { create: 0, delete: [] };
  return { create: 0, delete: [...active].sort(deletionOrder).slice(0, diff) };
}

/**
 * controller.ActivePods' order, the first to delete first: unscheduled before scheduled,
 * Pending before Unknown before Running, not Ready before Ready, Ready for less time before
 * longer, more restarts before fewer, newer before older.
 */
export function deletionOrder(a: V1Pod, b: V1Pod): number {
  return (
    Number(Boolean(a.spec?.nodeName)) - Number(Boolean(b.spec?.nodeName)) ||
    phaseRank(a) - phaseRank(b) ||
    Number(isRunningAndReady(a)) - Number(isRunningAndReady(b)) ||
    timeOf(readySince(b)) - timeOf(readySince(a)) ||
    restarts(b) - restarts(a) ||
    timeOf(b.metadata?.creationTimestamp) - timeOf(a.metadata?.creationTimestamp)
  );
}

/**
 * The set's status from its pods (calculateStatus). `recheckAfterMs` is when a Ready pod
 * becomes available under `minReadySeconds`, so the caller can look again.
 * @param nowMs the current time, epoch milliseconds.
 */
export function replicaFigures(
  rs: V1ReplicaSet,
  pods: readonly V1Pod[],
  nowMs: number,
): { figures: ReplicaFigures; recheckAfterMs?: number } {
  const active = activePods(pods);
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const waits = active
    .map((p) => msUntilAvailable(p, rs.spec?.minReadySeconds ?? 0, nowMs))
    .filter((ms) => ms !== undefined);
  const figures: ReplicaFigures = {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => hasLabels(p, templateLabels)).length,
    readyReplicas: waits.length,
    availableReplicas: waits.filter((ms) => ms === 0).length,
    observedGeneration: rs.metadata?.generation ?? 0,
  };
  const pending = waits.filter((ms) => ms > 0);
  return pending.length > 0 ? { figures, recheckAfterMs: Math.min(...pending) } : { figures };
}

/** Whether `next` differs from the figures in `previous` (absent numbers count as 0, as in Go). */
export function hasReplicaFiguresChanged(previous: V1ReplicaSetStatus | undefined, next: ReplicaFigures): boolean {
  const old = (previous ?? {}) as Partial<Record<keyof ReplicaFigures, number>>;
  return (Object.keys(next) as (keyof ReplicaFigures)[]).some((key) => (old[key] ?? 0) !== next[key]);
}

function hasLabels(pod: V1Pod, labels: Record<string, string>): boolean {
  const own = pod.metadata?.labels ?? {};
  return Object.entries(labels).every(([k, v]) => own[k] === v);
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function phaseRank(pod: V1Pod): number {
  return PHASE_RANK[pod.status?.phase ?? 'Pending'] ?? 0;
}

function readySince(pod: V1Pod): Date | string | undefined {
  if (!isRunningAndReady(pod)) return undefined;
  return pod.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
}

function restarts(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + (c.restartCount ?? 0), 0);
}

/** Epoch ms of a timestamp; a missing one sorts as the newest (Go's zero time comes first). */
function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return Number.MAX_SAFE_INTEGER;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
}
