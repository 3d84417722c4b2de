import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideTransition } from '../../operator/transition.js';
import type { PodView, TransitionDecision } from '../../operator/transition-types.js';
import type { MaxUnavailable } from '../../operator/spec-rollout.js';
import { input, lease, ring, spec } from './transition-fixtures.js';
import { NEW, OLD, outdatedWorld, pod, simulate, type Simulation, type World } from './rollout-sim.js';

/** Rollouts in batches of spec.rollout.maxUnavailable members: the pure steps, and whole simulated rollouts. */

/** One reconcile on a converged ring of `members` (version 4) with `replicas`, rolling to {@link NEW}. */
function step(
  maxUnavailable: MaxUnavailable | undefined,
  members: number[],
  pods: PodView[],
  replicas = 6,
): TransitionDecision {
  return decideTransition(
    input({
      spec: spec({ replicas, ...(maxUnavailable === undefined ? {} : { rollout: { maxUnavailable } }) }),
      ring: ring({ version: 4, state: 'Committed', members, previous: members }),
      convergedVersion: 4,
      pods,
      leases: pods.map((p) => lease('gateway', `im-${p.ordinal}`, 4)),
      updateRevision: NEW,
    }),
  );
}

const all = (n: number, revision: string): PodView[] => Array.from({ length: n }, (_, i) => pod(i, revision));
const names = (d: TransitionDecision): string[] => d.ring.document.members.map((m) => m.name);
const deleted = (d: TransitionDecision): number[] => d.deletePods.map((p) => p.ordinal);

test('maxUnavailable 1 decides exactly as the default: one member leaves, one pod is replaced, one joins', () => {
  const states: [number[], PodView[]][] = [
    [[0, 1, 2, 3, 4, 5], all(6, OLD)],
    [[0, 1, 2, 3, 4], all(6, OLD)],
    [
      [0, 1, 2, 3],
      [...all(4, OLD), pod(4, OLD), pod(5, NEW, { ready: false, sinceMs: 999_000 })],
    ],
    [
      [0, 1, 2, 3],
      [...all(4, OLD), pod(4, OLD), pod(5, OLD)],
    ],
  ];
  for (const [members, pods] of states) {
    assert.deepEqual(step(1, members, pods), step(undefined, members, pods));
  }
  const first = step(1, [0, 1, 2, 3, 4, 5], all(6, OLD));
  assert.deepEqual(first.removing, ['im-5']);
  assert.deepEqual(first.events[0], {
    type: 'Normal',
    reason: 'RolloutMemberLeaving',
    message: 'im-5 leaves the ring to be replaced at revision im-new',
  });
  assert.deepEqual(deleted(step(1, [0, 1, 2, 3], [...all(4, OLD), pod(4, OLD), pod(5, OLD)])), [5]);
});

test('maxUnavailable 2: the two highest outdated members leave in one ring change, with one Event naming both', () => {
  const d = step(2, [0, 1, 2, 3, 4, 5], all(6, OLD));
  assert.equal(d.step, 'Barrier');
  assert.deepEqual(names(d), ['im-0', 'im-1', 'im-2', 'im-3']);
  assert.deepEqual(d.removing, ['im-4', 'im-5']);
  assert.deepEqual(
    d.events.filter((e) => e.reason === 'RolloutMemberLeaving').map((e) => e.message),
    ['im-5, im-4 leave the ring to be replaced at revision im-new'],
  );
});

test('a batch out of the ring and drained has its pods deleted together, in one reconcile', () => {
  const d = step(3, [0, 1, 2], all(6, OLD));
  assert.deepEqual(deleted(d), [5, 4, 3]);
  assert.equal(d.changed, false);
  assert.match(d.message, /^Rolling update: replacing pod im-5, im-4, im-3$/);
  assert.equal(d.rolloutProgress, 'batch 1/2, 0 of 6 pods updated');
});

test('the batch joins in one ring change once all of it is Ready; not while one is still starting', () => {
  const starting = pod(4, NEW, { ready: false, sinceMs: 999_000 });
  const waiting = step(2, [0, 1, 2, 3], [...all(4, OLD), starting, pod(5, NEW)]);
  assert.equal(waiting.step, 'WaitingForPods');
  assert.equal(waiting.changed, false);
  const joins = step(2, [0, 1, 2, 3], [...all(4, OLD), pod(4, NEW), pod(5, NEW)]);
  assert.deepEqual(joins.adding, ['im-4', 'im-5']);
  assert.deepEqual(names(joins), ['im-0', 'im-1', 'im-2', 'im-3', 'im-4', 'im-5']);
});

test('a replaced pod that never becomes Ready does not hold the others past the unready grace period', () => {
  const broken = pod(4, NEW, { ready: false, sinceMs: 1_000_000 - 31_000 });
  const d = step(2, [0, 1, 2, 3], [...all(4, OLD), broken, pod(5, NEW)]);
  assert.deepEqual(d.adding, ['im-5']);
});

test('a half-done batch after a restart: the pod not yet replaced is deleted while the other one starts', () => {
  const starting = pod(5, NEW, { ready: false, sinceMs: 999_000 });
  const d = step(2, [0, 1, 2, 3], [...all(4, OLD), pod(4, OLD), starting]);
  assert.equal(d.step, 'WaitingForPods');
  assert.deepEqual(deleted(d), [4]);
  // Already Ready: it joins, and the other one is replaced in the same reconcile.
  const joining = step(2, [0, 1, 2, 3], [...all(4, OLD), pod(4, OLD), pod(5, NEW)]);
  assert.deepEqual(joining.adding, ['im-5']);
  assert.deepEqual(deleted(joining), [4]);
  // More ordinals out of the ring than one batch: nothing is replaced beside the wait.
  const more = step(2, [0, 1, 2], [...all(3, OLD), pod(3, OLD), pod(4, OLD), starting]);
  assert.deepEqual(deleted(more), []);
});

test('maxUnavailable "50%" of 6 takes 3 members; "10%" of 6 takes 1', () => {
  assert.deepEqual(step('50%', [0, 1, 2, 3, 4, 5], all(6, OLD)).removing, ['im-3', 'im-4', 'im-5']);
  assert.deepEqual(step('10%', [0, 1, 2, 3, 4, 5], all(6, OLD)).removing, ['im-5']);
});

const rollouts: { replicas: number; maxUnavailable: MaxUnavailable; batch: number }[] = [
  { replicas: 6, maxUnavailable: 1, batch: 1 },
  { replicas: 6, maxUnavailable: 2, batch: 2 },
  { replicas: 7, maxUnavailable: 3, batch: 3 },
  { replicas: 20, maxUnavailable: '10%', batch: 2 },
  { replicas: 100, maxUnavailable: '10%', batch: 10 },
  { replicas: 5, maxUnavailable: '100%', batch: 4 },
];

for (const r of rollouts) {
  const changes = 2 * Math.ceil(r.replicas / r.batch);
  test(`a rollout of ${r.replicas} at maxUnavailable ${JSON.stringify(r.maxUnavailable)} takes ${changes} ring changes, never below ${r.replicas - r.batch} members`, () => {
    const sim = simulate(outdatedWorld(r.replicas, r.maxUnavailable));
    assert.ok(
      [...sim.world.pods.values()].every((p) => p.revision === NEW && p.ready),
      'every pod updated',
    );
    assert.equal(sim.world.ring.document.members.length, r.replicas);
    assert.equal(sim.changes.length, changes, JSON.stringify(sim.changes));
    for (const [i, c] of sim.changes.entries()) {
      const size = Math.min(r.batch, r.replicas - Math.floor(i / 2) * r.batch);
      if (i % 2 === 0) assert.deepEqual([c.removing.length, c.adding.length], [size, 0], `change ${i} removes`);
      else assert.deepEqual([c.removing.length, c.adding.length], [0, size], `change ${i} adds`);
    }
    assert.equal(sim.fewestMembers, r.replicas - r.batch);
    assert.ok(sim.deletions.every((d) => d.length <= r.batch));
    const leaving = sim.decisions.flatMap((d) => d.events).filter((e) => e.reason === 'RolloutMemberLeaving');
    assert.equal(leaving.length, changes / 2, 'one RolloutMemberLeaving per batch');
  });
}

test('an operator restarted at any point of a rollout, its last status write lost, finishes it within the bounds', () => {
  const seen: World[] = [];
  simulate(outdatedWorld(6, 2), { between: (w) => void seen.push(structuredClone(w)) });
  assert.ok(seen.length > 10);
  for (const [i, w] of seen.entries()) {
    // All protocol state is in the ring, the pods and the converged version; `wasRollingOut` may be stale.
    const sim = simulate({ ...structuredClone(w), wasRollingOut: false });
    assert.ok(
      [...sim.world.pods.values()].every((p) => p.revision === NEW && p.ready),
      `from reconcile ${i}`,
    );
    assert.equal(sim.world.ring.document.members.length, 6, `from reconcile ${i}`);
    assert.ok(sim.fewestMembers >= 4, `from reconcile ${i}`);
  }
});

test('a deletion that failed for one pod of a batch: it is replaced while the other starts, and they join together', () => {
  let failed = false;
  const sim = simulate(outdatedWorld(6, 2), {
    between: (w, d) => {
      // The first batch deletion reached only im-5: im-4 is still the old pod.
      if (!failed && d.deletePods.length === 2) {
        failed = true;
        w.pods.set(4, pod(4, OLD));
      }
    },
  });
  assert.ok(failed);
  assert.equal(sim.changes.length, 6, JSON.stringify(sim.changes));
  assert.deepEqual(sim.changes[1]?.adding, ['im-4', 'im-5']);
  assert.equal(sim.fewestMembers, 4);
});

/** A rollout of 6 at maxUnavailable 2 whose replicas become `replicas` once the first batch's pods are deleted. */
function scaledDuringRollout(replicas: number): Simulation {
  let scaled = false;
  const sim = simulate(outdatedWorld(6, 2), {
    between: (w, d) => {
      if (!scaled && d.deletePods.length > 0) {
        scaled = true;
        w.replicas = replicas;
      }
    },
  });
  assert.ok(scaled);
  assert.equal(sim.world.ring.document.members.length, replicas);
  assert.ok([...sim.world.pods.values()].every((p) => p.revision === NEW));
  return sim;
}

test('replicas scaled down during a rollout: the batch above the new size is gone, the rest rolls on, never below replicas - k', () => {
  assert.equal(scaledDuringRollout(4).fewestMembers, 2, 'replicas 4 - k 2');
});

test('replicas scaled up during a rollout: the new pods join, and every batch still leaves from a full ring', () => {
  const sim = scaledDuringRollout(8);
  const removals = sim.changes.filter((c) => c.removing.length > 0).map((c) => c.members);
  assert.deepEqual(removals, [4, 6, 6], 'the first batch left a ring of 6, the two later ones a ring of 8');
  assert.ok(
    sim.changes.some((c) => c.adding.length === 4),
    'the batch and the two new pods join together',
  );
});
