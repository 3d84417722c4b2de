/**
 * The IMGateway status as a pure function of what the reconcile observed and decided. A
 * condition keeps its `lastTransitionTime` unless its status flips, so an unchanged world
 * gives an identical status and the reconcile writes nothing.
 */
import { isDeepStrictEqual } from 'node:util';
import type { RuntimeComponent } from '../ring/index.js';
import { ConditionTypes, type Condition, type IMGatewayStatus, type Phase, type RingStatus } from './api.js';
import type { TransitionDecision } from './transition-types.js';

/** What the status is computed from. */
export interface StatusInput {
  readonly previous: IMGatewayStatus | undefined;
  readonly generation: number | undefined;
  readonly selector: string;
  readonly desiredReplicas: number;
  /** The StatefulSet's status: pods that exist and pods that are Ready. */
  readonly replicas: number;
  readonly readyReplicas: number;
  /** Gateway pods at the StatefulSet's update revision; not reported when undefined. */
  readonly updatedReplicas?: number;
  /** Name of the ring ConfigMap. */
  readonly configMap: string;
  /** Gateway pods unready past their grace period (not in the ring for that reason). */
  readonly unreadyMembers: readonly string[];
  /** Errors runtimes report about refused ring documents, `component/pod: error`. */
  readonly ringErrors: readonly string[];
  readonly now: Date;
}

/** Reason of the Progressing condition, and phase, while a rollout replaces gateway pods. */
export const ROLLING_UPDATE = 'RollingUpdate';

/** Status when the spec is invalid: everything else as it was, InvalidSpec True. */
export function invalidSpecStatus(
  input: Pick<StatusInput, 'previous' | 'generation' | 'now'>,
  problems: readonly string[],
): IMGatewayStatus {
  const previous = input.previous ?? {};
  const conditions = withConditions(previous.conditions, input, [
    { type: ConditionTypes.invalidSpec, status: 'True', reason: 'InvalidSpec', message: problems.join('; ') },
    {
      type: ConditionTypes.degraded,
      status: 'True',
      reason: 'InvalidSpec',
      message: 'The spec is invalid; the ring and the StatefulSet are left as they are',
    },
  ]);
  return { ...previous, observedGeneration: input.generation, phase: 'Degraded', conditions };
}

/** The status after a reconcile that decided `decision`. */
export function computeStatus(
  input: StatusInput,
  decision: TransitionDecision,
  warnings: readonly string[],
): IMGatewayStatus {
  const document = decision.ring.document;
  const ring: RingStatus = {
    version: document.version,
    state: document.state,
    members: document.members.map((m) => m.name),
    ...(document.previous
      ? { previous: { version: document.previous.version, members: document.previous.members.map((m) => m.name) } }
      : {}),
    tableSize: document.algorithm.tableSize,
    checksum: document.checksum,
    configMap: input.configMap,
    acknowledged: Object.fromEntries(
      (['proxy', 'push', 'gateway'] as const).map((c: RuntimeComponent) => [
        c,
        `${decision.acknowledged[c].acked}/${decision.acknowledged[c].live}`,
      ]),
    ),
    misplacedConnections: decision.misplacedConnections,
    lastTransitionTime: new Date(decision.ring.transitionAtMs).toISOString(),
    ...(decision.convergedVersion !== undefined ? { convergedVersion: decision.convergedVersion } : {}),
  };
  const phase = phaseOf(input, decision);
  const converged = decision.step === 'Stable';
  const degraded = phase === 'Degraded' || input.ringErrors.length > 0;
  const conditions = withConditions(input.previous?.conditions, input, [
    readyCondition(input, document.members.length),
    progressingCondition(decision),
    converged
      ? {
          type: ConditionTypes.ringConverged,
          status: 'True',
          reason: 'RingConverged',
          message: `Ring version ${document.version} is converged`,
        }
      : { type: ConditionTypes.ringConverged, status: 'False', reason: decision.step, message: decision.message },
    degraded
      ? {
          type: ConditionTypes.degraded,
          status: 'True',
          reason: input.ringErrors.length > 0 ? 'RingDocumentRejected' : 'MembersUnready',
          message: degradedMessage(input),
        }
      : {
          type: ConditionTypes.degraded,
          status: 'False',
          reason: 'AsExpected',
          message: warnings.length > 0 ? `Warnings: ${warnings.join('; ')}` : 'No problems found',
        },
    {
      type: ConditionTypes.invalidSpec,
      status: 'False',
      reason: 'SpecValid',
      message: warnings.length > 0 ? `Valid, with warnings: ${warnings.join('; ')}` : 'The spec is valid',
    },
  ]);
  return {
    observedGeneration: input.generation,
    replicas: input.replicas,
    readyReplicas: input.readyReplicas,
    ...(input.updatedReplicas !== undefined ? { updatedReplicas: input.updatedReplicas } : {}),
    selector: input.selector,
    phase,
    ring,
    conditions,
  };
}

/** True when writing `next` would change nothing. */
export function isSameStatus(previous: IMGatewayStatus | undefined, next: IMGatewayStatus): boolean {
  return isDeepStrictEqual(JSON.parse(JSON.stringify(previous ?? {})), JSON.parse(JSON.stringify(next)));
}

/**
 * True while the ring or a rollout moves; a rollout names its progress and step
 * (`Rolling update: batch 3/10, 200 of 1000 pods updated; …`).
 */
function progressingCondition(decision: TransitionDecision): Omit<Condition, 'lastTransitionTime'> {
  const { progressing } = ConditionTypes;
  if (decision.rollingUpdate) {
    const step = decision.message.replace(/^Rolling update: /, '');
    const progress = decision.rolloutProgress === undefined ? '' : `${decision.rolloutProgress}; `;
    const message = `Rolling update: ${progress}${step}`;
    return { type: progressing, status: 'True', reason: ROLLING_UPDATE, message };
  }
  if (decision.step === 'Stable')
    return { type: progressing, status: 'False', reason: 'Converged', message: decision.message };
  return { type: progressing, status: 'True', reason: decision.step, message: decision.message };
}

/**
 * The phase. A halted rollout (a replaced pod unready past its grace period) is Degraded; otherwise a rollout's ring
 * transitions read as RollingUpdate rather than scaling, since they are the rollout's.
 */
function phaseOf(input: StatusInput, decision: TransitionDecision): Phase {
  if (decision.rollingUpdate) return input.unreadyMembers.length > 0 ? 'Degraded' : ROLLING_UPDATE;
  if (decision.step !== 'Stable') {
    if (decision.adding.length > 0 && decision.removing.length === 0) return 'ScalingUp';
    if (decision.removing.length > 0 && decision.adding.length === 0) return 'ScalingDown';
    return 'Rebalancing';
  }
  if (input.unreadyMembers.length > 0) return 'Degraded';
  if (input.replicas > input.desiredReplicas) return 'ScalingDown';
  if (input.replicas < input.desiredReplicas) return 'ScalingUp';
  return 'Stable';
}

function readyCondition(input: StatusInput, members: number): Omit<Condition, 'lastTransitionTime'> {
  const ready = input.readyReplicas >= input.desiredReplicas && members === input.desiredReplicas;
  return ready
    ? {
        type: ConditionTypes.ready,
        status: 'True',
        reason: 'AllMembersReady',
        message: `${members} of ${input.desiredReplicas} gateways Ready and in the ring`,
      }
    : {
        type: ConditionTypes.ready,
        status: 'False',
        reason: 'MembersNotReady',
        message: `${members} of ${input.desiredReplicas} gateways in the ring, ${input.readyReplicas} Ready`,
      };
}

function degradedMessage(input: StatusInput): string {
  const parts = [];
  if (input.unreadyMembers.length > 0) parts.push(`unready past the grace period: ${input.unreadyMembers.join(', ')}`);
  if (input.ringErrors.length > 0) parts.push(`ring document refused by ${input.ringErrors.join('; ')}`);
  return parts.join('; ');
}

/** Sets each condition, keeping `lastTransitionTime` unless its status flips. Order: as given. */
function withConditions(
  previous: readonly Condition[] | undefined,
  input: Pick<StatusInput, 'generation' | 'now'>,
  next: readonly Omit<Condition, 'lastTransitionTime'>[],
): Condition[] {
  const old = new Map((previous ?? []).map((c) => [c.type, c]));
  const updated = next.map((c): Condition => {
    const before = old.get(c.type);
    old.delete(c.type);
    const lastTransitionTime =
      before && before.status === c.status ? before.lastTransitionTime : input.now.toISOString();
    return {
      type: c.type,
      status: c.status,
      observedGeneration: input.generation,
      lastTransitionTime,
      reason: c.reason,
      message: c.message,
    };
  });
  return [...updated, ...old.values()];
}
