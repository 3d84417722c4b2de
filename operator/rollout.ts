/**
 * Ring-aware rollouts (DESIGN.md section 5): under `updateStrategy: OnDelete` the operator replaces
 * outdated gateway pods itself, one at a time, highest ordinal first. A member leaves the ring
 * through the normal protocol, its pod is deleted once out of the ring and drained, and the pod the
 * StatefulSet recreates joins when Ready. Pure: every choice follows from the pods' revisions, the
 * ring and the converged version, so a restarted operator resumes where the last one stopped.
 */
import type { RingDocument } from '../ring/index.js';
import { memberName, ordinalOf } from './names.js';
import type { PodReplacement, PodView, TransitionEvent, TransitionInput } from './transition-types.js';

/** What the rollout does on a converged ring whose members are the desired ones. */
/**
 * Who rolls gateway pods out: `ring`, the operator (OnDelete: one member leaves the ring, its pod is replaced, it
 * joins again; a stopping pod leaves the ring at once), or `statefulset`, the StatefulSet controller (RollingUpdate,
 * membership following readiness): kept for comparison (bench:lifecycle), not for production.
 */
export type RolloutMode = 'ring' | 'statefulset';

export type RolloutStep =
  | { readonly kind: 'replace'; readonly pod: PodReplacement; readonly message: string }
  | { readonly kind: 'leave'; readonly ordinal: number; readonly message: string }
  | { readonly kind: 'wait'; readonly message: string };

/** Whether `pod` runs another revision than the StatefulSet's update revision (never when either is unknown). */
export function isOutdated(input: Pick<TransitionInput, 'updateRevision'>, pod: PodView | undefined): boolean {
  return (
    input.updateRevision !== undefined &&
    pod?.revision !== undefined &&
    !pod.terminating &&
    pod.revision !== input.updateRevision
  );
}

/** Whether the gateway at `ordinal` is stopping: its pod is being deleted, or its live Lease says draining. */
export function isStopping(input: TransitionInput, ordinal: number, pod: PodView | undefined): boolean {
  if (pod?.terminating) return true;
  const name = memberName(input.owner, ordinal);
  return input.leases.some((l) => l.component === 'gateway' && l.live && l.draining === true && l.pod === name);
}

/**
 * The rollout's next step on a converged ring with nobody waiting, or undefined when no pod below `replicas` is
 * outdated (or the update revision is unknown). (a) An outdated pod out of the ring is replaced, highest ordinal
 * first; (b) with every ordinal a Ready member, the highest outdated member leaves; (c) otherwise it waits.
 */
export function rolloutStep(input: TransitionInput, ring: RingDocument): RolloutStep | undefined {
  const updateRevision = input.updateRevision;
  if (updateRevision === undefined) return undefined;
  const pods = podsBelowReplicas(input);
  const members = memberOrdinals(input, ring);
  const outdated = pods.filter((p) => isOutdated(input, p)).sort((a, b) => b.ordinal - a.ordinal);
  if (outdated.length === 0) return undefined;
  const replace = outdated.find((p) => !members.has(p.ordinal) && p.uid !== undefined);
  if (replace !== undefined) {
    const pod = { ordinal: replace.ordinal, uid: replace.uid!, revision: replace.revision!, updateRevision };
    return { kind: 'replace', pod, message: `Rolling update: replacing pod ${name(input, replace.ordinal)}` };
  }
  const complete = Array.from({ length: input.spec.replicas }, (_, i) => i).every((ordinal) => {
    const pod = pods.find((p) => p.ordinal === ordinal);
    return members.has(ordinal) && pod?.ready === true && !pod.terminating;
  });
  const leaving = outdated.find((p) => members.has(p.ordinal));
  if (complete && leaving !== undefined) {
    const message = `Rolling update: ${name(input, leaving.ordinal)} leaves the ring to be replaced`;
    return { kind: 'leave', ordinal: leaving.ordinal, message };
  }
  const missing = Array.from({ length: input.spec.replicas }, (_, i) => i).filter((o) => !members.has(o));
  const waitingFor = missing.length > 0 ? missing.map((o) => name(input, o)).join(', ') : 'every pod to be Ready';
  return {
    kind: 'wait',
    message: `Rolling update: ${outdated.length} pod(s) outdated; waiting for ${waitingFor} to be Ready in the ring`,
  };
}

/**
 * Whether a rollout is in progress once `ring` is published with `convergedVersion`: a pod below `replicas` is
 * outdated, or the last status said so and some ordinal below `replicas` is not yet a member of a converged ring.
 */
export function isRollingOut(
  input: TransitionInput,
  ring: RingDocument,
  convergedVersion: number | undefined,
): boolean {
  if (input.updateRevision === undefined) return input.wasRollingOut === true;
  if (podsBelowReplicas(input).some((p) => isOutdated(input, p))) return true;
  if (input.wasRollingOut !== true) return false;
  const members = memberOrdinals(input, ring);
  const all = Array.from({ length: input.spec.replicas }, (_, i) => i).every((o) => members.has(o));
  return !(all && convergedVersion === ring.version);
}

/**
 * Events of a converged transition during a rollout: each member it added joined again
 * (`RolloutMemberJoined`), and `RolloutComplete` once the rollout is over. Each converged version is
 * reached once, so these are never repeated.
 */
export function rolloutConvergedEvents(input: TransitionInput, ring: RingDocument): TransitionEvent[] {
  if (input.wasRollingOut !== true || input.updateRevision === undefined) return [];
  const before = new Set((ring.previous?.members ?? []).map((m) => m.name));
  const joined = ring.members.map((m) => m.name).filter((n) => !before.has(n));
  const events: TransitionEvent[] = joined.map((member) => ({
    type: 'Normal',
    reason: 'RolloutMemberJoined',
    message: `${member} joined the ring again at revision ${input.updateRevision}`,
  }));
  if (!isRollingOut(input, ring, ring.version)) {
    events.push({
      type: 'Normal',
      reason: 'RolloutComplete',
      message: `Every gateway pod runs revision ${input.updateRevision}`,
    });
  }
  return events;
}

function podsBelowReplicas(input: TransitionInput): PodView[] {
  return input.pods.filter((p) => p.ordinal < input.spec.replicas);
}

function memberOrdinals(input: TransitionInput, ring: RingDocument): Set<number> {
  return new Set(ring.members.map((m) => ordinalOf(input.owner, m.name) ?? -1));
}

function name(input: TransitionInput, ordinal: number): string {
  return memberName(input.owner, ordinal);
}
