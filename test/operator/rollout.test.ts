import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideTransition } from '../../operator/transition.js';
import type { PodView, TransitionDecision, TransitionInput } from '../../operator/transition-types.js';
import { input, lease, NOW, ring, spec } from './transition-fixtures.js';

const OLD = 'im-old';
const NEW = 'im-new';

/** A pod of `revision`, Ready for a minute unless told otherwise. */
function pod(ordinal: number, revision: string, extra: Partial<PodView> = {}): PodView {
  return { ordinal, ready: true, sinceMs: NOW - 60_000, uid: `uid-${ordinal}-${revision}`, revision, ...extra };
}

/** A converged ring of `members` (version 4) with 3 replicas, rolling to {@link NEW}. */
function rolling(members: number[], pods: PodView[], overrides: Partial<TransitionInput> = {}): TransitionDecision {
  return decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: ring({ version: 4, state: 'Committed', members, previous: [0, 1, 2] }),
      convergedVersion: 4,
      pods,
      leases: members.map((o) => lease('gateway', `im-${o}`, 4)),
      updateRevision: NEW,
      ...overrides,
    }),
  );
}

const names = (d: TransitionDecision): string[] => d.ring.document.members.map((m) => m.name);
const reasons = (d: TransitionDecision): (string | undefined)[] => d.events.map((e) => e.reason);

test('with every member outdated, the highest ordinal leaves the ring first, through the normal protocol', () => {
  const d = rolling([0, 1, 2], [pod(0, OLD), pod(1, OLD), pod(2, OLD)]);
  assert.equal(d.step, 'Barrier');
  assert.equal(d.ring.document.state, 'Prepared');
  assert.deepEqual(names(d), ['im-0', 'im-1']);
  assert.deepEqual(d.removing, ['im-2']);
  assert.deepEqual(d.deletePods, []);
  assert.deepEqual(reasons(d), ['RolloutMemberLeaving', 'RingPrepared']);
  assert.equal(d.statefulSetReplicas, 3);
  assert.equal(d.rollingUpdate, true);
});

test('an outdated pod out of the ring does not join: it is deleted (one per reconcile, highest first)', () => {
  const d = rolling([0], [pod(0, NEW), pod(1, OLD), pod(2, OLD)]);
  assert.equal(d.changed, false);
  assert.deepEqual(d.deletePods, [{ ordinal: 2, uid: `uid-2-${OLD}`, revision: OLD, updateRevision: NEW }]);
  assert.equal(d.rollingUpdate, true);
});

test('the rollout never takes a second member out: it waits while one is out and not Ready', () => {
  const waiting = rolling([0, 1], [pod(0, OLD), pod(1, OLD), pod(2, NEW, { ready: false, sinceMs: NOW - 1000 })]);
  assert.equal(waiting.step, 'WaitingForPods');
  assert.deepEqual(waiting.adding, ['im-2']);
  assert.deepEqual(waiting.deletePods, []);
  // A bad image: past the grace period the pod is no longer waited for, and the rollout halts at that pod.
  const halted = rolling([0, 1], [pod(0, OLD), pod(1, OLD), pod(2, NEW, { ready: false, sinceMs: NOW - 60_000 })]);
  assert.equal(halted.step, 'Stable');
  assert.equal(halted.changed, false);
  assert.deepEqual(halted.deletePods, []);
  assert.match(halted.message, /waiting for im-2/);
  assert.equal(halted.rollingUpdate, true);
});

test('the fix (a new template) makes the halted pod outdated again: it is replaced and the rollout goes on', () => {
  const bad = pod(2, NEW, { ready: false, sinceMs: NOW - 60_000 });
  const d = rolling([0, 1], [pod(0, OLD), pod(1, OLD), bad], { updateRevision: 'im-fix' });
  assert.deepEqual(d.deletePods, [{ ordinal: 2, uid: `uid-2-${NEW}`, revision: NEW, updateRevision: 'im-fix' }]);
});

test('the replaced pod joins when Ready; the rollout resumes from any observed state', () => {
  const cases: [string, number[], PodView[], string][] = [
    ['replaced pod Ready', [0, 1], [pod(0, OLD), pod(1, OLD), pod(2, NEW)], 'join im-2'],
    ['it joined', [0, 1, 2], [pod(0, OLD), pod(1, OLD), pod(2, NEW)], 'leave im-1'],
    ['im-1 out', [0, 2], [pod(0, OLD), pod(1, OLD), pod(2, NEW)], 'delete im-1'],
    ['im-1 gone', [0, 2], [pod(0, OLD), pod(2, NEW)], 'wait'],
    ['last one left', [1, 2], [pod(0, OLD), pod(1, NEW), pod(2, NEW)], 'delete im-0'],
    ['all updated', [0, 1, 2], [pod(0, NEW), pod(1, NEW), pod(2, NEW)], 'nothing'],
  ];
  for (const [state, members, pods, expected] of cases) {
    const d = rolling(members, pods);
    const did =
      d.deletePods.length > 0
        ? `delete im-${d.deletePods.map((p) => p.ordinal).join()}`
        : d.adding.length > 0 && d.step === 'Barrier'
          ? `join ${d.adding.join()}`
          : d.removing.length > 0
            ? `leave ${d.removing.join()}`
            : (d.step === 'Stable' || d.step === 'WaitingForPods') && d.rollingUpdate
              ? 'wait'
              : 'nothing';
    assert.equal(did, expected, `${state}: ${d.step} ${d.message}`);
  }
});

test('a terminating pod or a draining gateway leaves the ring at once, without the unready grace period', () => {
  const terminating = pod(1, NEW, { ready: false, sinceMs: NOW - 100, terminating: true });
  const byDeletion = rolling([0, 1, 2], [pod(0, NEW), terminating, pod(2, NEW)]);
  assert.deepEqual(names(byDeletion), ['im-0', 'im-2']);
  assert.equal(byDeletion.step, 'Barrier');
  assert.deepEqual(byDeletion.deletePods, []);
  const leases = [0, 2].map((o) => lease('gateway', `im-${o}`, 4));
  leases.push(lease('gateway', 'im-1', 4, { draining: true }));
  const byLease = rolling([0, 1, 2], [pod(0, NEW), pod(1, NEW), pod(2, NEW)], { leases });
  assert.deepEqual(names(byLease), ['im-0', 'im-2']);
  const withoutRevision = rolling([0, 1, 2], [pod(0, NEW), terminating, pod(2, NEW)], { updateRevision: undefined });
  assert.deepEqual(names(withoutRevision), ['im-0', 'im-2'], 'no rollout needed to take a stopping pod out');
});

test('without a known update revision, or before the ring converged, the rollout decides nothing', () => {
  const outdated = [pod(0, OLD), pod(1, OLD), pod(2, OLD)];
  const unknown = rolling([0, 1, 2], outdated, { updateRevision: undefined });
  assert.equal(unknown.changed, false);
  assert.deepEqual(unknown.deletePods, []);
  const leases = [
    lease('gateway', 'im-0', 4),
    lease('gateway', 'im-1', 4),
    lease('gateway', 'im-2', 4, { connections: 5 }),
  ];
  const draining = rolling([0, 1], outdated, { convergedVersion: 3, leases });
  assert.equal(draining.step, 'Draining');
  assert.deepEqual(draining.deletePods, [], 'the member that left is still draining its users');
});

test('convergence of a rollout join records RolloutMemberJoined, and RolloutComplete once every pod is updated', () => {
  const joined = (pods: PodView[]): TransitionDecision =>
    rolling([0, 1, 2], pods, {
      ring: ring({ version: 5, state: 'Committed', members: [0, 1, 2], previous: [1, 2], atMs: NOW - 1000 }),
      convergedVersion: 4,
      leases: [0, 1, 2].map((o) => lease('gateway', `im-${o}`, 5)),
      wasRollingOut: true,
    });
  const last = joined([pod(0, NEW), pod(1, NEW), pod(2, NEW)]);
  assert.deepEqual(reasons(last), ['RingConverged', 'RolloutMemberJoined', 'RolloutComplete']);
  assert.equal(last.rollingUpdate, false);
  const middle = joined([pod(0, NEW), pod(1, OLD), pod(2, NEW)]);
  assert.deepEqual(reasons(middle), ['RingConverged', 'RolloutMemberJoined']);
  assert.equal(middle.rollingUpdate, true);
  const again = decideTransition({ ...input({}), ...inputOf(last) });
  assert.deepEqual(reasons(again), [], 'a reconcile that changes nothing records nothing');
});

/** The input of the reconcile after `d`: its ring converged, the status no longer rolling. */
function inputOf(d: TransitionDecision): Partial<TransitionInput> {
  return {
    spec: spec({ replicas: 3 }),
    ring: d.ring,
    convergedVersion: d.convergedVersion,
    pods: [pod(0, NEW), pod(1, NEW), pod(2, NEW)],
    leases: [0, 1, 2].map((o) => lease('gateway', `im-${o}`, 5)),
    updateRevision: NEW,
    wasRollingOut: d.rollingUpdate,
  };
}
