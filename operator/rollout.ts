/**
 * Ring-aware rollouts (DESIGN.md section 5): under `updateStrategy: OnDelete` the operator replaces
 * outdated gateway pods itself, in batches of `spec.rollout.maxUnavailable` members, highest ordinal
 * first. A batch leaves the ring in one ring change through the normal protocol, its pods are deleted
 * once out of the ring and drained, and the pods the StatefulSet recreates join in one ring change
 * when Ready. A rollout of N gateways takes 2 * ceil(N / k) ring changes. Pure: every choice
 * follows from the pods' revisions, the ring and the converged version, so a restarted operator
 * resumes where the last one stopped, a half-replaced batch included.
 */
import type { RingDocument } from '../ring/index.js';
import { memberName, ordinalOf } from './names.js';
import { maxUnavailableMembers } from './spec-rollout.js';
import type { PodReplacement, PodView, TransitionEvent, TransitionInput } from './transition-types.js';

/**
 * Who rolls gateway pods out: `ring`, the operator (OnDelete: a batch of members leaves the ring, their pods are
 * replaced, they join again; a stopping pod leaves the ring at once), or `statefulset`, the StatefulSet controller
 * (RollingUpdate, membership following readiness): kept for comparison (bench:lifecycle), not for production.
 */
export type RolloutMode = 'ring' | 'statefulset';

/** What the rollout does on a converged ring whose members are the desired ones. */
export type RolloutStep =
  | { readonly kind: 'replace'; readonly pods: readonly PodReplacement[]; readonly message: string }
  | { readonly kind: 'leave'; readonly ordinals: readonly number[]; readonly message: string }
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
 * Members one batch takes out of the ring: `spec.rollout.maxUnavailable` at the current `replicas`
 * ({@link maxUnavailableMembers}).
 */
export function batchSize(input: TransitionInput): number {
  return maxUnavailableMembers(input.spec.rollout, input.spec.replicas);
}

/**
 * The rollout's next step on a converged ring with nobody waiting, or undefined when no pod below `replicas` is
 * outdated (or the update revision is unknown). With k = {@link batchSize}: (a) outdated pods out of the ring are
 * replaced, at most k, highest ordinal first; (b) with every ordinal a Ready member, the k highest outdated members
 * leave in one ring change, so the ring keeps at least `replicas - k` members; (c) otherwise it waits.
 */
export function rolloutStep(input: TransitionInput, ring: RingDocument): RolloutStep | undefined {
  if (input.updateRevision === undefined) return undefined;
  const pods = podsBelowReplicas(input);
  const members = memberOrdinals(input, ring);
  const outdated = pods.filter((p) => isOutdated(input, p)).sort((a, b) => b.ordinal - a.ordinal);
  if (outdated.length === 0) return undefined;
  const k = batchSize(input);
  const replace = replacements(input, outdated, members, k);
  if (replace.length > 0) {
    const message = `Rolling update: replacing pod ${list(replace.map((p) => name(input, p.ordinal)))}`;
    return { kind: 'replace', pods: replace, message };
  }
  const complete = ordinals(input).every((ordinal) => {
    const pod = pods.find((p) => p.ordinal === ordinal);
    return members.has(ordinal) && pod?.ready === true && !pod.terminating;
  });
  const leaving = outdated.filter((p) => members.has(p.ordinal)).slice(0, k);
  if (complete && leaving.length > 0) {
    const names = leaving.map((p) => name(input, p.ordinal));
    const message = `Rolling update: ${list(names)} ${names.length === 1 ? 'leaves' : 'leave'} the ring to be replaced`;
    return { kind: 'leave', ordinals: leaving.map((p) => p.ordinal), message };
  }
  const missing = ordinals(input).filter((o) => !members.has(o));
  const waitingFor = missing.length > 0 ? list(missing.map((o) => name(input, o))) : 'every pod to be Ready';
  return {
    kind: 'wait',
    message: `Rolling update: ${outdated.length} pod(s) outdated; waiting for ${waitingFor} to be Ready in the ring`,
  };
}

/**
 * Outdated pods out of the converged ring to replace while the ring waits for (or adds) other pods: a batch whose
 * replacement was cut short (a failed deletion, an operator restart) is completed, so it joins in one ring change.
 * Only while the ordinals out of the ring are at most one batch (k), so nothing changes for k = 1.
 */
export function batchReplacements(input: TransitionInput, ring: RingDocument): PodReplacement[] {
  if (input.updateRevision === undefined) return [];
  const members = memberOrdinals(input, ring);
  const k = batchSize(input);
  const out = ordinals(input).filter((o) => !members.has(o));
  if (out.length > k) return [];
  const outdated = podsBelowReplicas(input)
    .filter((p) => isOutdated(input, p))
    .sort((a, b) => b.ordinal - a.ordinal);
  return replacements(input, outdated, members, k);
}

/**
 * Where the rollout stands, for the status: `batch b/B, u of N pods updated`. B = ceil(N / k); b counts the
 * batches whose members are back in the ring at the update revision, plus the one under way.
 */
export function rolloutProgress(input: TransitionInput, ring: RingDocument): string | undefined {
  if (input.updateRevision === undefined) return undefined;
  const replicas = input.spec.replicas;
  const k = batchSize(input);
  const pods = podsBelowReplicas(input);
  const updated = pods.filter((p) => p.revision === input.updateRevision && !p.terminating);
  const members = memberOrdinals(input, ring);
  const rejoined = updated.filter((p) => members.has(p.ordinal)).length;
  const batches = Math.max(1, Math.ceil(replicas / k));
  const batch = Math.min(batches, Math.floor(rejoined / k) + 1);
  return `batch ${batch}/${batches}, ${updated.length} of ${replicas} pods updated`;
}

/** The `RolloutPodReplaced` message of pods deleted together: one Event per batch, at most 5 names. */
export function replacedMessage(owner: TransitionInput['owner'], pods: readonly PodReplacement[]): string {
  const names = pods.map((p) => memberName(owner, p.ordinal));
  const revisions = [...new Set(pods.map((p) => p.revision))];
  const from = revisions.length === 1 ? revisions[0] : list(revisions);
  return `${pods.length === 1 ? 'pod' : 'pods'} ${list(names)} (revision ${from} → ${pods[0]?.updateRevision})`;
}

/** At most 5 names, then "and N more": event messages stay readable at 1000 replicas. */
export function list(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}

/** Up to `k` of `outdated` (highest ordinal first) out of the ring, with the uid their deletion needs. */
function replacements(
  input: TransitionInput,
  outdated: readonly PodView[],
  members: ReadonlySet<number>,
  k: number,
): PodReplacement[] {
  const updateRevision = input.updateRevision!;
  return outdated
    .filter((p) => !members.has(p.ordinal) && p.uid !== undefined)
    .slice(0, k)
    .map((p) => ({ ordinal: p.ordinal, uid: p.uid!, revision: p.revision!, updateRevision }));
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
  const all = ordinals(input).every((o) => members.has(o));
  return !(all && convergedVersion === ring.version);
}

/**
 * Events of a converged transition during a rollout: the members it added joined again (one
 * `RolloutMemberJoined` per batch), and `RolloutComplete` once the rollout is over. Each converged version is
 * reached once, so these are never repeated.
 */
export function rolloutConvergedEvents(input: TransitionInput, ring: RingDocument): TransitionEvent[] {
  if (input.wasRollingOut !== true || input.updateRevision === undefined) return [];
  const before = new Set((ring.previous?.members ?? []).map((m) => m.name));
  const joined = ring.members.map((m) => m.name).filter((n) => !before.has(n));
  const events: TransitionEvent[] = [];
  if (joined.length > 0) {
    events.push({
      type: 'Normal',
      reason: 'RolloutMemberJoined',
      message: `${list(joined)} joined the ring again at revision ${input.updateRevision}`,
    });
  }
  if (!isRollingOut(input, ring, ring.version)) {
    events.push({
      type: 'Normal',
      reason: 'RolloutComplete',
      message: `Every gateway pod runs revision ${input.updateRevision}`,
    });
  }
  return events;
}

/** 0 … replicas − 1: the ordinals the ring should hold. */
function ordinals(input: TransitionInput): number[] {
  return Array.from({ length: input.spec.replicas }, (_, i) => i);
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
