/**
 * The transition protocol of DESIGN.md section 5 as one pure function: given the published
 * ring, the gateway pods and the runtimes' Leases, the next step. Every reconcile takes at
 * most one step; all protocol state is in the ring document (version, state, previous), the
 * ConfigMap's transition time and `status.ring.convergedVersion`, so a restarted or newly
 * elected operator resumes where the last one stopped.
 */
import type { RingMember } from '../ring/index.js';
import type { LeaseView, RingView, TransitionDecision, TransitionInput } from './transition-types.js';
import { draft, finish, type Draft } from './transition-draft.js';
import { rebuilt, ringDocument } from './transition-documents.js';
import { memberName } from './names.js';
import { addressesChanged, desiredMembers, membershipDiff, readyMembers } from './transition-members.js';
import { batchReplacements, list, rolloutConvergedEvents, rolloutStep } from './rollout.js';

/** The next protocol step. Pure: same input, same decision. */
export function decideTransition(input: TransitionInput): TransitionDecision {
  if (input.ring === undefined) return bootstrap(input);
  const { document } = input.ring;
  if (document.state === 'Prepared') return barrier(input, input.ring);
  const drained = document.previous === null || input.convergedVersion === document.version;
  return drained ? nextTransition(input, input.ring) : drain(input, input.ring);
}

function bootstrap(input: TransitionInput): TransitionDecision {
  const members = readyMembers(input);
  // Above any version a runtime still serves (a ring lost with its status): readers refuse older versions.
  const version = Math.max(0, ...input.leases.map((l) => l.version ?? 0)) + 1;
  // RING-SPEC: every version after 1 names the one it replaces; a lost one is replaced by nobody.
  const document = ringDocument(input, {
    version,
    state: 'Committed',
    members,
    previous: version === 1 ? null : { version: version - 1, members: [] },
  });
  const d = draft(input, { document, transitionAtMs: input.nowMs }, 'Bootstrap');
  d.changed = true;
  d.convergedVersion = version;
  d.events.push({
    type: 'Normal',
    reason: 'RingCreated',
    message: `Ring version ${version} published with ${members.length} member(s)`,
  });
  d.message = `Ring version ${version} published`;
  return finish(d);
}

/** Step 3: every live runtime serves v+1, or the ack timeout passed; then step 4, Committed. */
function barrier(input: TransitionInput, ring: RingView): TransitionDecision {
  const { document } = ring;
  const d = draft(input, ring, 'Barrier');
  const lagging = input.leases.filter((l) => l.live && (l.version ?? 0) < document.version);
  const laggards = lagging.map((l) => `${l.component}/${l.pod}`).sort();
  const waitedMs = input.nowMs - ring.transitionAtMs;
  const timeoutMs = input.spec.ring.ackTimeoutSeconds * 1000;
  if (laggards.length > 0 && waitedMs < timeoutMs) {
    d.requeueAfterMs = untilFirst(input, timeoutMs - waitedMs, lagging);
    d.message = `Waiting for ${laggards.length} runtime(s) to serve ring version ${document.version}: ${list(laggards)}`;
    return finish(d);
  }
  if (laggards.length > 0) {
    d.events.push({
      type: 'Warning',
      reason: 'BarrierTimeout',
      message: `Ring version ${document.version}: no acknowledgement within ${input.spec.ring.ackTimeoutSeconds}s from ${list(laggards)}; committing anyway`,
    });
  } else {
    d.events.push({
      type: 'Normal',
      reason: 'AllRuntimesAcked',
      message: `Every live runtime serves ring version ${document.version} (${(waitedMs / 1000).toFixed(1)}s)`,
    });
  }
  d.ring = { document: rebuilt(document, 'Committed'), transitionAtMs: input.nowMs };
  d.completed = { step: 'Barrier', seconds: waitedMs / 1000 };
  d.changed = true;
  d.step = 'Draining';
  d.events.push({
    type: 'Normal',
    reason: 'RingCommitted',
    message: `Ring version ${document.version} committed: gateways migrate the users they no longer own`,
  });
  d.message = `Ring version ${document.version} committed`;
  return finish(d);
}

/** Step 5: gateways report 0 misplaced, removed members 0 connections, or the drain timeout passed. */
function drain(input: TransitionInput, ring: RingView): TransitionDecision {
  const { document } = ring;
  const d = draft(input, ring, 'Draining');
  const members = new Set(document.members.map((m) => m.name));
  const pending: string[] = [];
  const waitingOn: LeaseView[] = [];
  for (const lease of input.leases) {
    const why =
      lease.live && lease.component === 'gateway'
        ? undrained(lease, members.has(lease.pod), document.version)
        : undefined;
    if (why === undefined) continue;
    pending.push(`${lease.pod} (${why})`);
    waitingOn.push(lease);
  }
  pending.sort();
  const waitedMs = input.nowMs - ring.transitionAtMs;
  const timeoutMs = input.spec.drain.timeoutSeconds * 1000;
  if (pending.length > 0 && waitedMs < timeoutMs) {
    d.requeueAfterMs = untilFirst(input, timeoutMs - waitedMs, waitingOn);
    d.message = `Draining ring version ${document.version}: ${list(pending)}`;
    return finish(d);
  }
  if (pending.length > 0) {
    d.events.push({
      type: 'Warning',
      reason: 'DrainTimeout',
      message: `Ring version ${document.version}: not drained within ${input.spec.drain.timeoutSeconds}s: ${list(pending)}`,
    });
  }
  d.convergedVersion = document.version;
  d.completed = { step: 'Draining', seconds: waitedMs / 1000 };
  d.events.push({
    type: 'Normal',
    reason: 'RingConverged',
    message: `Ring version ${document.version} converged in ${(waitedMs / 1000).toFixed(1)}s after commit`,
  });
  d.events.push(...rolloutConvergedEvents(input, document));
  // Step 6 (shrinking the StatefulSet) follows from statefulSetReplicas() now that it is drained.
  return nextTransition(input, ring, d);
}

/**
 * Why a live gateway is not drained yet, or undefined. A removed member only has to have no
 * connections: the ring version it serves does not matter once nobody is connected to it (an
 * unready member that left the ring may not load new versions at all).
 */
function undrained(lease: LeaseView, isMember: boolean, version: number): string | undefined {
  if (!isMember) return lease.connections > 0 ? `${lease.connections} connections` : undefined;
  if (lease.version !== version || lease.state !== 'Committed')
    return `serves ${lease.version ?? 'no'} ${lease.state ?? 'ring'}`;
  return lease.misplaced > 0 ? `${lease.misplaced} misplaced` : undefined;
}

/**
 * Ms until the timeout, or until the first of `waitingOn` expires if sooner: a Lease that
 * stops being renewed changes nothing in the API, so nothing else would wake the reconcile
 * that no longer has to wait for it.
 */
function untilFirst(input: TransitionInput, timeoutMs: number, waitingOn: readonly LeaseView[]): number {
  return Math.max(1, Math.min(timeoutMs, ...waitingOn.map((l) => l.expiresAtMs - input.nowMs)));
}

/** From a converged ring: start the next transition (step 2) once additions are Ready, or stay. */
function nextTransition(input: TransitionInput, ring: RingView, converged?: Draft): TransitionDecision {
  const { document } = ring;
  const d = converged ?? draft(input, ring, 'Stable');
  d.step = 'Stable';
  if (converged) return finish(d); // one step per reconcile: the next transition starts on the next one
  const target = desiredMembers(input, ring);
  let members = target.members;
  d.requeueAfterMs = target.requeueAfterMs;
  if (target.waitingFor.length > 0) {
    d.step = 'WaitingForPods';
    d.adding = target.waitingFor;
    d.deletePods.push(...batchReplacements(input, document));
    d.message = `Waiting for ${list(target.waitingFor)} to become Ready before they join the ring`;
    return finish(d);
  }
  if (isSameMembership(document.members, members)) {
    const rest = rolloutMembers(d, document, members);
    if (rest === undefined) return finish(d);
    members = rest;
  }
  const diff = membershipDiff(document.members, members);
  // Pods of a batch that joins: replace any of it still outdated now, so it joins in the same ring change.
  if (diff.adding.length > 0) d.deletePods.push(...batchReplacements(input, document));
  const version = document.version + 1;
  d.ring = {
    document: ringDocument(input, {
      version,
      state: 'Prepared',
      members,
      previous: { version: document.version, members: document.members },
    }),
    transitionAtMs: input.nowMs,
  };
  d.changed = true;
  d.step = 'Barrier';
  d.adding = diff.adding;
  d.removing = diff.removing;
  d.requeueAfterMs = input.spec.ring.ackTimeoutSeconds * 1000;
  const change = [
    diff.adding.length > 0 ? `adding ${list(diff.adding)}` : '',
    diff.removing.length > 0 ? `removing ${list(diff.removing)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  d.events.push({
    type: 'Normal',
    reason: 'RingPrepared',
    message: `Ring version ${version} prepared (${change || 'new addresses'}); waiting for every runtime to load it`,
  });
  d.message = `Ring version ${version} prepared`;
  return finish(d);
}

/**
 * On a ring whose members are the desired ones: the rollout's step. Returns the members without the batch that
 * leaves, or undefined when no ring change starts (pods to replace are added to `d.deletePods`).
 */
function rolloutMembers(d: Draft, document: RingView['document'], members: RingMember[]): RingMember[] | undefined {
  const { input } = d;
  const rollout = rolloutStep(input, document);
  d.message = rollout?.message ?? `Ring version ${document.version} is converged`;
  if (rollout?.kind === 'replace') d.deletePods.push(...rollout.pods);
  if (rollout?.kind !== 'leave') return undefined;
  const leaving = rollout.ordinals.map((o) => memberName(input.owner, o));
  d.events.push({
    type: 'Normal',
    reason: 'RolloutMemberLeaving',
    message: `${list(leaving)} ${leaving.length === 1 ? 'leaves' : 'leave'} the ring to be replaced at revision ${input.updateRevision}`,
  });
  return members.filter((m) => !leaving.includes(m.name));
}

/** Whether `to` lists the same members as `from`, at the same addresses. */
function isSameMembership(from: RingView['document']['members'], to: RingView['document']['members']): boolean {
  const diff = membershipDiff(from, to);
  return diff.adding.length === 0 && diff.removing.length === 0 && !addressesChanged(from, to);
}
