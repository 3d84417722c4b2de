/**
 * A PodDisruptionBudget's status, pure, as the disruption controller computes it
 * (pkg/controller/disruption): expected pods from the owners' scale, desired healthy from
 * minAvailable or maxUnavailable (ints or percentages, rounded up), healthy pods the Ready ones
 * neither being deleted nor recorded in `disruptedPods` by an eviction not yet seen through.
 */
import type { V1Pod, V1PodDisruptionBudget, V1PodDisruptionBudgetStatus } from '@kubernetes/client-node';

/** How long an eviction recorded in `disruptedPods` keeps its pod out of the healthy count (DeletionTimeout). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60 * 1000;

/** What the status is computed from. */
export interface BudgetInputs {
  readonly pdb: V1PodDisruptionBudget;
  /** The pods the budget's selector matches in its namespace. */
  readonly pods: readonly V1Pod[];
  /** The replicas of the controller owning `pod` (StatefulSet, ReplicaSet), if known. */
  readonly scaleOf: (pod: V1Pod) => { readonly key: string; readonly replicas: number } | undefined;
  readonly now: Date;
}

/** The budget's status for `inputs`, keeping the DisruptionAllowed condition's time unless it flips. */
export function budgetStatus(inputs: BudgetInputs): V1PodDisruptionBudgetStatus {
  const { pdb, pods, now } = inputs;
  const disruptedPods = stillDisrupted(pdb.status?.disruptedPods ?? {}, pods, now);
  const { expectedPods, desiredHealthy } = expectation(inputs);
  const currentHealthy = pods.filter(
    (p) => !p.metadata?.deletionTimestamp && isReady(p) && disruptedPods[p.metadata!.name!] === undefined,
  ).length;
  const margin = currentHealthy - desiredHealthy;
  const disruptionsAllowed = expectedPods <= 0 || margin <= 0 ? 0 : margin;
  const previous = (pdb.status?.conditions ?? []).find((c) => c.type === 'DisruptionAllowed');
  const status = disruptionsAllowed > 0 ? 'True' : 'False';
  const generation = pdb.metadata?.generation ?? 0;
  return {
    observedGeneration: generation,
    ...(Object.keys(disruptedPods).length > 0 ? { disruptedPods } : {}),
    disruptionsAllowed,
    currentHealthy,
    desiredHealthy,
    expectedPods,
    conditions: [
      {
        type: 'DisruptionAllowed',
        status,
        reason: status === 'True' ? 'SufficientPods' : 'InsufficientPods',
        message: '',
        observedGeneration: generation,
        lastTransitionTime: previous?.status === status ? previous.lastTransitionTime : now,
      },
    ],
  };
}

function expectation(inputs: BudgetInputs): { expectedPods: number; desiredHealthy: number } {
  const { minAvailable, maxUnavailable } = inputs.pdb.spec ?? {};
  if (maxUnavailable !== undefined) {
    const expectedPods = expectedScale(inputs);
    const unavailable = scaled(maxUnavailable, expectedPods);
    return { expectedPods, desiredHealthy: Math.max(0, expectedPods - unavailable) };
  }
  if (minAvailable === undefined) return { expectedPods: inputs.pods.length, desiredHealthy: 0 };
  if (typeof minAvailable === 'number') return { expectedPods: inputs.pods.length, desiredHealthy: minAvailable };
  const expectedPods = expectedScale(inputs);
  return { expectedPods, desiredHealthy: scaled(minAvailable, expectedPods) };
}

/** The sum of the owning controllers' replicas; a pod no controller owns counts as one. */
function expectedScale(inputs: BudgetInputs): number {
  const owners = new Map<string, number>();
  let unowned = 0;
  for (const pod of inputs.pods) {
    const scale = inputs.scaleOf(pod);
    if (scale) owners.set(scale.key, scale.replicas);
    else unowned++;
  }
  return [...owners.values()].reduce((a, b) => a + b, unowned);
}

/** intstr.GetScaledValueFromIntOrPercent with roundUp. */
function scaled(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.replace(/%$/, ''));
  return Number.isFinite(percent) ? Math.ceil((percent * total) / 100) : 0;
}

/** The evictions still pending: their pod exists, is not yet being deleted, and the record is recent. */
function stillDisrupted(recorded: Record<string, Date>, pods: readonly V1Pod[], now: Date): Record<string, Date> {
  const byName = new Map(pods.map((p) => [p.metadata!.name!, p]));
  const kept: Record<string, Date> = {};
  for (const [name, at] of Object.entries(recorded)) {
    const pod = byName.get(name);
    if (!pod || pod.metadata?.deletionTimestamp) continue;
    if (new Date(at).getTime() + DISRUPTED_POD_TIMEOUT_MS < now.getTime()) continue;
    kept[name] = at;
  }
  return kept;
}

function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
