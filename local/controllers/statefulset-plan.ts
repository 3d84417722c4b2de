import type { V1Pod, V1StatefulSet, V1StatefulSetStatus } from '@kubernetes/client-node';
import {
  desiredPod,
  isFinished,
  isHealthy,
  isTerminating,
  msUntilAvailable,
  ordinalOf,
  revisionOfPod,
  type Revision,
} from './statefulset-pods.js';

/**
 * What the StatefulSet controller does next, and the status it reports: pure functions after
 * kube-controller-manager's `stateful_set_control.go` (`updateStatefulSet`,
 * `computeReplicaStatus`, `completeRollingUpdate`), without PVCs, adoption, `spec.ordinals`
 * and `maxUnavailable`.
 */

/** One pod write: create a member, or delete one (Failed, condemned by a scale-down, outdated). */
export type PodAction =
  | { readonly kind: 'create'; readonly pod: V1Pod }
  | { readonly kind: 'delete'; readonly pod: V1Pod; readonly why: 'Finished' | 'Condemned' | 'Outdated' };

/** What {@link planActions} works from. */
export interface PlanInput {
  readonly set: V1StatefulSet;
  /** The pods the set controls (any ordinal), as observed. */
  readonly pods: readonly V1Pod[];
  /** The revision of `spec.template`. */
  readonly update: Revision;
  /** The revision in `status.currentRevision`, if its template is known; else `update`. */
  readonly current: Revision;
}

/**
 * The pod writes that move the set towards its spec, in order. OrderedReady yields at most
 * one and stops at the first pod that is missing, terminating or not Running and Ready;
 * Parallel creates and deletes all it can at once. Rolling updates replace one pod at a
 * time in both, from the highest ordinal down to `partition`.
 */
export function planActions(input: PlanInput): PodAction[] {
  const { set } = input;
  const ordered = set.spec?.podManagementPolicy !== 'Parallel';
  const replicas = Math.max(0, set.spec?.replicas ?? 1);
  const members = podsByOrdinal(input.pods, set.metadata?.name ?? '');
  const actions: PodAction[] = [];
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const { action, blocked } = slotStep(input, ordinal, members.get(ordinal));
    if (action) actions.push(action);
    if (ordered && blocked) return actions;
  }
  const condemned = [...members.entries()].filter(([ordinal]) => ordinal >= replicas).sort(([a], [b]) => b - a);
  for (const [, pod] of condemned) {
    if (!isTerminating(pod)) actions.push({ kind: 'delete', pod, why: 'Condemned' });
    // OrderedReady removes the highest and waits until it is gone before the next.
    if (ordered) return actions;
  }
  // Replacements wait until creations and deletions are seen through.
  if (actions.length > 0) return actions;
  const outdated = rollingUpdateTarget(input, members, replicas);
  if (outdated) actions.push({ kind: 'delete', pod: outdated, why: 'Outdated' });
  return actions;
}

/** The revision a new pod of `ordinal` gets: below a RollingUpdate partition, the current one. */
export function revisionFor(input: Pick<PlanInput, 'set' | 'update' | 'current'>, ordinal: number): Revision {
  const strategy = input.set.spec?.updateStrategy;
  if (strategy?.type === 'OnDelete') return input.update;
  return ordinal < partitionOf(input.set) ? input.current : input.update;
}

/** The status figures this controller owns. */
export type StatusFigures = Required<
  Pick<
    V1StatefulSetStatus,
    | 'observedGeneration'
    | 'replicas'
    | 'readyReplicas'
    | 'currentReplicas'
    | 'updatedReplicas'
    | 'availableReplicas'
    | 'currentRevision'
    | 'updateRevision'
    | 'collisionCount'
  >
>;

/** What {@link statusOf} works from. */
export interface StatusInput {
  readonly set: V1StatefulSet;
  readonly pods: readonly V1Pod[];
  readonly currentRevision: string;
  readonly updateRevision: string;
  /** Epoch milliseconds, for `minReadySeconds`. */
  readonly nowMs: number;
}

/**
 * The set's status from its pods. `replicas` counts pods that exist and are not terminating;
 * `availableReplicas` those Ready for `minReadySeconds`. A RollingUpdate whose pods are all
 * updated and Ready completes: the update revision becomes the current one.
 * `recheckAfterMs` is when a Ready pod becomes available, so the caller can look again.
 */
export function statusOf(input: StatusInput): { status: StatusFigures; recheckAfterMs?: number } {
  const minReadySeconds = input.set.spec?.minReadySeconds ?? 0;
  const live = input.pods.filter((p) => !isTerminating(p));
  const waits = live.map((p) => msUntilAvailable(p, minReadySeconds, input.nowMs)).filter((ms) => ms !== undefined);
  const status: StatusFigures = {
    observedGeneration: input.set.metadata?.generation ?? 0,
    replicas: live.length,
    readyReplicas: waits.length,
    currentReplicas: live.filter((p) => revisionOfPod(p) === input.currentRevision).length,
    updatedReplicas: live.filter((p) => revisionOfPod(p) === input.updateRevision).length,
    availableReplicas: waits.filter((ms) => ms === 0).length,
    currentRevision: input.currentRevision,
    updateRevision: input.updateRevision,
    collisionCount: 0,
  };
  const rolling = input.set.spec?.updateStrategy?.type !== 'OnDelete';
  if (rolling && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentRevision = status.updateRevision;
    status.currentReplicas = status.updatedReplicas;
  }
  const pending = waits.filter((ms) => ms > 0);
  return pending.length > 0 ? { status, recheckAfterMs: Math.min(...pending) } : { status };
}

/** Whether `next` differs from the figures in `previous` (absent numbers count as 0, as in Go). */
export function hasStatusChanged(previous: V1StatefulSetStatus | undefined, next: StatusFigures): boolean {
  const old = (previous ?? {}) as Partial<Record<keyof StatusFigures, unknown>>;
  return (Object.keys(next) as (keyof StatusFigures)[]).some((key) => {
    const value = next[key];
    const before = old[key] ?? (typeof value === 'number' ? 0 : undefined);
    return before !== value;
  });
}

/** The status to write: the previous one (conditions kept) with `figures` over it, as JSON. */
export function nextStatus(previous: V1StatefulSetStatus | undefined, figures: StatusFigures): Record<string, unknown> {
  const base = JSON.parse(JSON.stringify(previous ?? {})) as Record<string, unknown>;
  return { ...base, ...figures };
}

function partitionOf(set: V1StatefulSet): number {
  return Math.max(0, set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0);
}

/** Members by ordinal; pods whose names are not `<set>-<n>` are not members and are left alone. */
function podsByOrdinal(pods: readonly V1Pod[], setName: string): Map<number, V1Pod> {
  const out = new Map<number, V1Pod>();
  for (const pod of pods) {
    const ordinal = ordinalOf(pod.metadata?.name ?? '', setName);
    if (ordinal !== undefined) out.set(ordinal, pod);
  }
  return out;
}

/** What one wanted ordinal needs, and whether OrderedReady must stop there. */
function slotStep(input: PlanInput, ordinal: number, pod: V1Pod | undefined): { action?: PodAction; blocked: boolean } {
  if (pod === undefined)
    return {
      action: { kind: 'create', pod: desiredPod(input.set, ordinal, revisionFor(input, ordinal)) },
      blocked: true,
    };
  // A pod being deleted keeps its name until it is gone: wait, then create it again.
  if (isTerminating(pod)) return { blocked: true };
  if (isFinished(pod)) return { action: { kind: 'delete', pod, why: 'Finished' }, blocked: true };
  return { blocked: !isHealthy(pod) };
}

/**
 * The next pod a RollingUpdate replaces: the highest ordinal at or above the partition whose
 * revision is outdated, provided every pod above it is healthy (one at a time, each
 * replacement Running and Ready before the next). None under OnDelete.
 */
function rollingUpdateTarget(input: PlanInput, members: Map<number, V1Pod>, replicas: number): V1Pod | undefined {
  if (input.set.spec?.updateStrategy?.type === 'OnDelete') return undefined;
  for (let ordinal = replicas - 1; ordinal >= partitionOf(input.set); ordinal--) {
    const pod = members.get(ordinal);
    if (pod === undefined) return undefined;
    if (revisionOfPod(pod) !== input.update.name && !isTerminating(pod)) return pod;
    if (!isHealthy(pod)) return undefined;
  }
  return undefined;
}
