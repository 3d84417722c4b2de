import type { V1Deployment, V1DeploymentCondition, V1DeploymentStatus, V1ReplicaSet } from '@kubernetes/client-node';
import { rolloutBounds, specOf } from './deployment-plan.js';

/**
 * A Deployment's status, pure, after kube-controller-manager's `deployment/sync.go`
 * (`calculateStatus`, `syncRolloutStatus`) and `progress.go`: the replica figures from its
 * ReplicaSets' status, and the Available and Progressing conditions.
 */

/** Condition reasons, as the real controller words them. */
export const REASONS = {
  minimumAvailable: 'MinimumReplicasAvailable',
  minimumUnavailable: 'MinimumReplicasUnavailable',
  newCreated: 'NewReplicaSetCreated',
  updated: 'ReplicaSetUpdated',
  newAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
} as const;

/** A Deployment status as JSON, conditions with RFC 3339 times. */
export type DeploymentStatusJson = Omit<V1DeploymentStatus, 'conditions'> & { conditions: ConditionJson[] };

type ConditionJson = Omit<V1DeploymentCondition, 'lastTransitionTime' | 'lastUpdateTime'> & {
  lastTransitionTime: string;
  lastUpdateTime: string;
};

/** What {@link deploymentStatus} works from. */
export interface DeploymentStatusInput {
  readonly deployment: V1Deployment;
  readonly newRS: V1ReplicaSet | undefined;
  readonly replicaSets: readonly V1ReplicaSet[];
  /** Epoch milliseconds: condition times and the progress deadline. */
  readonly nowMs: number;
  /** Set when this reconcile created the new ReplicaSet. */
  readonly createdNewRS?: boolean;
}

/**
 * The status to write, and `recheckAfterMs` when the progress deadline falls due before
 * anything else would make the controller look again.
 */
export function deploymentStatus(input: DeploymentStatusInput): {
  status: DeploymentStatusJson;
  recheckAfterMs?: number;
} {
  const { deployment, replicaSets } = input;
  const sum = (pick: (rs: V1ReplicaSet) => number): number => replicaSets.reduce((n, rs) => n + pick(rs), 0);
  const available = sum((rs) => rs.status?.availableReplicas ?? 0);
  const figures = {
    observedGeneration: deployment.metadata?.generation ?? 0,
    replicas: sum((rs) => rs.status?.replicas ?? 0),
    updatedReplicas: input.newRS?.status?.replicas ?? 0,
    readyReplicas: sum((rs) => rs.status?.readyReplicas ?? 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sum(specOf) - available),
  };
  const now = timestamp(input.nowMs);
  const previous = (deployment.status?.conditions ?? []) as unknown as ConditionJson[];
  const { replicas, maxUnavailable } = rolloutBounds(deployment);
  const availableCondition =
    available >= replicas - maxUnavailable
      ? condition('Available', 'True', REASONS.minimumAvailable, 'Deployment has minimum availability.')
      : condition('Available', 'False', REASONS.minimumUnavailable, 'Deployment does not have minimum availability.');
  const progressing = progressingCondition(input, figures);
  const conditions = [availableCondition, ...(progressing ? [progressing] : [])].map((c) => settle(c, previous, now));
  const kept = previous.filter((c) => c.type === 'Progressing' && !progressing).map((c) => ({ ...c, ...timesOf(c) }));
  const status: DeploymentStatusJson = {
    ...figures,
    ...(deployment.status?.collisionCount === undefined ? {} : { collisionCount: deployment.status.collisionCount }),
    conditions: [...conditions, ...kept],
  };
  return { status, ...recheck(deployment, status, input.nowMs) };
}

type Figures = Required<
  Pick<V1DeploymentStatus, 'replicas' | 'updatedReplicas' | 'readyReplicas' | 'availableReplicas'>
> & {
  observedGeneration: number;
};

/** The Progressing condition, or undefined to keep the one there (syncRolloutStatus). */
function progressingCondition(input: DeploymentStatusInput, figures: Figures): PartialCondition | undefined {
  const { deployment } = input;
  const current = progressingOf(deployment);
  const rsName = nameOf(input.newRS);
  if (deployment.spec?.paused) return condition('Progressing', 'Unknown', REASONS.paused, 'Deployment is paused');
  if (input.createdNewRS)
    return condition('Progressing', 'True', REASONS.newCreated, `Created new replica set "${rsName}"`);
  if (deployment.spec?.progressDeadlineSeconds === undefined) return undefined;
  if (figures.replicas === figures.updatedReplicas && current?.reason === REASONS.newAvailable) return undefined;
  const progress = rolloutProgress(input, figures, rsName);
  if (progress || current?.reason !== REASONS.paused) return progress;
  return condition('Progressing', 'Unknown', REASONS.resumed, 'Deployment is resumed');
}

/** Progressing for a rollout: complete, moving (its deadline restarts), or past its deadline. */
function rolloutProgress(input: DeploymentStatusInput, figures: Figures, rsName: string): PartialCondition | undefined {
  const { deployment } = input;
  const { replicas } = rolloutBounds(deployment);
  const complete =
    figures.updatedReplicas === replicas &&
    figures.replicas === replicas &&
    figures.availableReplicas === replicas &&
    figures.observedGeneration >= (deployment.metadata?.generation ?? 0);
  if (complete)
    return condition(
      'Progressing',
      'True',
      REASONS.newAvailable,
      `ReplicaSet "${rsName}" has successfully progressed.`,
    );
  if (isProgressing(deployment.status, figures))
    return {
      ...condition('Progressing', 'True', REASONS.updated, `ReplicaSet "${rsName}" is progressing.`),
      touch: true,
    };
  if (isTimedOut(deployment, input.nowMs))
    return condition('Progressing', 'False', REASONS.timedOut, `ReplicaSet "${rsName}" has timed out progressing.`);
  return undefined;
}

/** More updated, ready or available pods than the status says, or fewer old ones (DeploymentProgressing). */
function isProgressing(old: V1DeploymentStatus | undefined, next: Figures): boolean {
  const before = old ?? {};
  const oldOld = (before.replicas ?? 0) - (before.updatedReplicas ?? 0);
  return (
    next.updatedReplicas > (before.updatedReplicas ?? 0) ||
    next.replicas - next.updatedReplicas < oldOld ||
    next.readyReplicas > (before.readyReplicas ?? 0) ||
    next.availableReplicas > (before.availableReplicas ?? 0)
  );
}

function progressingOf(deployment: V1Deployment): V1DeploymentCondition | undefined {
  return deployment.status?.conditions?.find((c) => c.type === 'Progressing');
}

function nameOf(rs: V1ReplicaSet | undefined): string {
  return rs?.metadata?.name ?? '';
}

function isTimedOut(deployment: V1Deployment, nowMs: number): boolean {
  const current = progressingOf(deployment);
  if (current === undefined || current.reason === REASONS.newAvailable) return false;
  if (current.reason === REASONS.timedOut) return true;
  return deadlineMs(deployment, current) < nowMs;
}

/** When a rollout still under way will time out: its Progressing condition's last update plus the deadline. */
function recheck(deployment: V1Deployment, status: DeploymentStatusJson, nowMs: number): { recheckAfterMs?: number } {
  const current = status.conditions.find((c) => c.type === 'Progressing');
  if (deployment.spec?.paused || current?.status !== 'True' || current.reason === REASONS.newAvailable) return {};
  return { recheckAfterMs: Math.max(1, deadlineMs(deployment, current) - nowMs + 1) };
}

function deadlineMs(deployment: V1Deployment, condition: { lastUpdateTime?: Date | string }): number {
  const seconds = deployment.spec?.progressDeadlineSeconds ?? 600;
  return new Date(condition.lastUpdateTime ?? 0).getTime() + seconds * 1000;
}

type PartialCondition = Pick<ConditionJson, 'type' | 'status' | 'reason' | 'message'> & { touch?: boolean };

function condition(type: string, status: string, reason: string, message: string): PartialCondition {
  return { type, status, reason, message };
}

/**
 * The condition with its times: an unchanged one (status and reason) keeps both (a
 * ReplicaSetUpdated one moves its lastUpdateTime, which the deadline counts from); a changed
 * one keeps lastTransitionTime when only the reason changed.
 */
function settle(next: PartialCondition, previous: readonly ConditionJson[], now: string): ConditionJson {
  const { touch, ...fields } = next;
  const old = previous.find((c) => c.type === next.type);
  if (old && old.status === next.status && old.reason === next.reason && old.message === next.message && !touch)
    return { ...fields, ...timesOf(old) };
  const transition = old && old.status === next.status ? timesOf(old).lastTransitionTime : now;
  return { ...fields, lastUpdateTime: now, lastTransitionTime: transition };
}

/** A condition's times as RFC 3339 strings: the cache holds Dates (lists) or strings (watches). */
function timesOf(c: ConditionJson): { lastUpdateTime: string; lastTransitionTime: string } {
  return { lastUpdateTime: timestamp(c.lastUpdateTime), lastTransitionTime: timestamp(c.lastTransitionTime) };
}

function timestamp(time: number | string | Date): string {
  return `${new Date(time).toISOString().slice(0, 19)}Z`;
}
