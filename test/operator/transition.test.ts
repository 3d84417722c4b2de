import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideTransition } from '../../operator/transition.js';
import { input, lease, NOW, ready, ring, spec, unready } from './transition-fixtures.js';

test('without a ring, version 1 is published Committed with the Ready pods below replicas', () => {
  const decision = decideTransition(input({ spec: spec({ replicas: 2 }), pods: [...ready(0, 2), unready(1, NOW)] }));
  assert.equal(decision.changed, true);
  assert.equal(decision.ring.document.version, 1);
  assert.equal(decision.ring.document.state, 'Committed');
  assert.deepEqual(
    decision.ring.document.members.map((m) => m.name),
    ['im-0'],
  );
  assert.equal(decision.ring.document.members[0]!.host, 'im-0.im-headless.chat.svc.cluster.local');
  assert.deepEqual(
    decision.events.map((e) => e.reason),
    ['RingCreated'],
  );
});

test('a lost ring is published above every version a runtime still serves', () => {
  const decision = decideTransition(input({ pods: ready(0), leases: [lease('proxy', 'p', 7)] }));
  assert.equal(decision.ring.document.version, 8);
  assert.equal(decision.convergedVersion, 8);
  assert.deepEqual(decision.ring.document.previous, { version: 7, members: [] });
});

test('new pods join only when Ready: the transition waits for them, and the StatefulSet grows first', () => {
  const current = ring({ version: 1, state: 'Committed', members: [0] });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: current,
      convergedVersion: 1,
      pods: [...ready(0, 1), unready(2, NOW - 1000)],
    }),
  );
  assert.equal(decision.changed, false);
  assert.equal(decision.step, 'WaitingForPods');
  assert.deepEqual(decision.adding, ['im-2']);
  assert.equal(decision.statefulSetReplicas, 3);
  assert.equal(decision.requeueAfterMs, 29_000);
});

test('once the new pods are Ready, version v+1 is Prepared with previous = v', () => {
  const current = ring({ version: 1, state: 'Committed', members: [0] });
  const decision = decideTransition(
    input({ spec: spec({ replicas: 3 }), ring: current, convergedVersion: 1, pods: ready(0, 1, 2) }),
  );
  assert.equal(decision.changed, true);
  const document = decision.ring.document;
  assert.deepEqual([document.version, document.state], [2, 'Prepared']);
  assert.deepEqual(
    document.members.map((m) => m.name),
    ['im-0', 'im-1', 'im-2'],
  );
  assert.deepEqual(
    document.previous?.members.map((m) => m.name),
    ['im-0'],
  );
  assert.deepEqual(
    decision.events.map((e) => e.reason),
    ['RingPrepared'],
  );
  assert.equal(decision.step, 'Barrier');
});

test('the barrier holds while a live runtime serves an older version, and ignores dead Leases', () => {
  const prepared = ring({ version: 2, state: 'Prepared', members: [0, 1], previous: [0], atMs: NOW - 5000 });
  const leases = [
    lease('proxy', 'proxy-a', 2),
    lease('push', 'push-a', 1, { expiresAtMs: NOW + 60_000 }),
    lease('gateway', 'im-0', 1, { live: false }),
  ];
  const decision = decideTransition(
    input({ spec: spec({ replicas: 2 }), ring: prepared, convergedVersion: 1, pods: ready(0, 1), leases }),
  );
  assert.equal(decision.changed, false);
  assert.equal(decision.step, 'Barrier');
  assert.match(decision.message, /push\/push-a/);
  assert.equal(decision.requeueAfterMs, 25_000);
  assert.deepEqual(decision.acknowledged.push, { live: 1, acked: 0, laggards: ['push-a'] });
});

test('when every live runtime serves v+1, it is Committed', () => {
  const prepared = ring({ version: 2, state: 'Prepared', members: [0, 1], previous: [0], atMs: NOW - 300 });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 2 }),
      ring: prepared,
      convergedVersion: 1,
      pods: ready(0, 1),
      leases: [lease('proxy', 'p', 2), lease('gateway', 'im-0', 2, { state: 'Prepared' })],
    }),
  );
  assert.deepEqual([decision.ring.document.version, decision.ring.document.state], [2, 'Committed']);
  assert.deepEqual(
    decision.events.map((e) => e.reason),
    ['AllRuntimesAcked', 'RingCommitted'],
  );
  assert.deepEqual(decision.completed, { step: 'Barrier', seconds: 0.3 });
  assert.equal(decision.ring.transitionAtMs, NOW);
});

test('after ackTimeoutSeconds it commits anyway and names the laggards in a Warning', () => {
  const prepared = ring({ version: 2, state: 'Prepared', members: [0, 1], previous: [0], atMs: NOW - 30_000 });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 2 }),
      ring: prepared,
      convergedVersion: 1,
      pods: ready(0, 1),
      leases: [lease('push', 'push-a', 1)],
    }),
  );
  assert.equal(decision.ring.document.state, 'Committed');
  assert.equal(decision.events[0]!.type, 'Warning');
  assert.equal(decision.events[0]!.reason, 'BarrierTimeout');
  assert.match(decision.events[0]!.message, /push\/push-a/);
});

test('a committed ring drains: it waits for misplaced connections and removed members, keeping the StatefulSet', () => {
  const committed = ring({
    version: 3,
    state: 'Committed',
    members: [0, 1],
    previous: [0, 1, 2, 3, 4],
    atMs: NOW - 2000,
  });
  const leases = [lease('gateway', 'im-0', 3, { misplaced: 4 }), lease('gateway', 'im-3', 3, { connections: 12 })];
  const decision = decideTransition(
    input({ spec: spec({ replicas: 2 }), ring: committed, convergedVersion: 2, pods: ready(0, 1, 2, 3, 4), leases }),
  );
  assert.equal(decision.step, 'Draining');
  assert.equal(decision.changed, false);
  assert.equal(decision.statefulSetReplicas, 5, 'removed members keep their pods until drained');
  assert.deepEqual(decision.removing, ['im-2', 'im-3', 'im-4']);
  assert.equal(decision.misplacedConnections, 4);
  assert.match(decision.message, /im-0 \(4 misplaced\).*im-3 \(12 connections\)/);
});

test('a gateway that has not loaded the committed ring yet keeps the drain open', () => {
  const committed = ring({ version: 3, state: 'Committed', members: [0, 1], previous: [0, 1, 2], atMs: NOW - 2000 });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 2 }),
      ring: committed,
      convergedVersion: 2,
      pods: ready(0, 1, 2),
      leases: [lease('gateway', 'im-1', 3, { state: 'Prepared' })],
    }),
  );
  assert.equal(decision.step, 'Draining');
});

test('drained: converged, and only now the StatefulSet shrinks', () => {
  const committed = ring({
    version: 3,
    state: 'Committed',
    members: [0, 1],
    previous: [0, 1, 2, 3, 4],
    atMs: NOW - 2000,
  });
  const leases = [lease('gateway', 'im-0', 3), lease('gateway', 'im-1', 3), lease('gateway', 'im-4', 3)];
  const decision = decideTransition(
    input({ spec: spec({ replicas: 2 }), ring: committed, convergedVersion: 2, pods: ready(0, 1, 2, 3, 4), leases }),
  );
  assert.equal(decision.step, 'Stable');
  assert.equal(decision.convergedVersion, 3);
  assert.equal(decision.statefulSetReplicas, 2);
  assert.deepEqual(
    decision.events.map((e) => e.reason),
    ['RingConverged'],
  );
  assert.deepEqual(decision.completed, { step: 'Draining', seconds: 2 });
});

test('after drain.timeoutSeconds it converges anyway, with a Warning naming who was not drained', () => {
  const committed = ring({ version: 3, state: 'Committed', members: [0], previous: [0, 1], atMs: NOW - 120_000 });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 1 }),
      ring: committed,
      convergedVersion: 2,
      pods: ready(0, 1),
      leases: [lease('gateway', 'im-1', 3, { connections: 3 })],
    }),
  );
  assert.equal(decision.convergedVersion, 3);
  assert.deepEqual(
    decision.events.map((e) => [e.type, e.reason]),
    [
      ['Warning', 'DrainTimeout'],
      ['Normal', 'RingConverged'],
    ],
  );
});

test('one step per reconcile: the reconcile that converges does not start the next transition', () => {
  const committed = ring({ version: 3, state: 'Committed', members: [0, 1], previous: [0], atMs: NOW - 2000 });
  const decision = decideTransition(
    input({ spec: spec({ replicas: 4 }), ring: committed, convergedVersion: 2, pods: ready(0, 1, 2, 3), leases: [] }),
  );
  assert.equal(decision.ring.document.version, 3);
  assert.equal(decision.convergedVersion, 3);
});

test('a member unready for less than unreadyGraceSeconds stays; after it, it leaves through a transition', () => {
  const current = ring({ version: 4, state: 'Committed', members: [0, 1, 2], previous: [0, 1], atMs: NOW - 600_000 });
  const within = decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: current,
      convergedVersion: 4,
      pods: [...ready(0, 1), unready(2, NOW - 10_000)],
    }),
  );
  assert.equal(within.changed, false);
  assert.equal(within.requeueAfterMs, 20_000);
  const past = decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: current,
      convergedVersion: 4,
      pods: [...ready(0, 1), unready(2, NOW - 30_000)],
    }),
  );
  assert.deepEqual(
    past.ring.document.members.map((m) => m.name),
    ['im-0', 'im-1'],
  );
  assert.deepEqual(past.removing, ['im-2']);
  assert.equal(past.statefulSetReplicas, 3, 'an unready member keeps its pod: it may come back');
});

test('a member that is Ready again returns through a transition', () => {
  const current = ring({ version: 5, state: 'Committed', members: [0, 1], previous: [0, 1, 2] });
  const decision = decideTransition(
    input({ spec: spec({ replicas: 3 }), ring: current, convergedVersion: 5, pods: ready(0, 1, 2) }),
  );
  assert.deepEqual([decision.ring.document.version, decision.ring.document.state], [6, 'Prepared']);
  assert.deepEqual(decision.adding, ['im-2']);
});

test('the table size of a published ring never changes', () => {
  const current = ring({ version: 1, state: 'Committed', members: [0] });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 2, ring: { tableSize: 101 } }),
      ring: current,
      convergedVersion: 1,
      pods: ready(0, 1),
    }),
  );
  assert.equal(decision.ring.document.algorithm.tableSize, 65537);
});

test('the same input gives the same decision (pure)', () => {
  const current = ring({ version: 3, state: 'Committed', members: [0, 1], previous: [0, 1, 2], atMs: NOW - 2000 });
  const make = () =>
    input({
      spec: spec({ replicas: 2 }),
      ring: current,
      convergedVersion: 2,
      pods: ready(0, 1, 2),
      leases: [lease('gateway', 'im-2', 3, { connections: 1 })],
    });
  assert.deepEqual(decideTransition(make()), decideTransition(make()));
});

// An unready member (a frozen process) left the ring at version 3: its Lease stays live until it expires, at version 2.
test('a removed member with no connections counts as drained whatever ring version it still serves', () => {
  const committed = ring({ version: 3, state: 'Committed', members: [0, 2], previous: [0, 1, 2], atMs: NOW - 1000 });
  const leases = [lease('gateway', 'im-0', 3), lease('gateway', 'im-1', 2), lease('gateway', 'im-2', 3)];
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: committed,
      convergedVersion: 2,
      pods: [...ready(0, 2), unready(1, NOW - 40_000)],
      leases,
    }),
  );
  assert.equal(decision.convergedVersion, 3, decision.message);
  assert.deepEqual(
    decision.events.map((e) => e.reason),
    ['RingConverged'],
  );
});

test('a removed member that still has connections holds the drain whatever version it serves', () => {
  const committed = ring({ version: 3, state: 'Committed', members: [0, 2], previous: [0, 1, 2], atMs: NOW - 1000 });
  const leases = [
    lease('gateway', 'im-0', 3),
    lease('gateway', 'im-1', 2, { connections: 3 }),
    lease('gateway', 'im-2', 3),
  ];
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: committed,
      convergedVersion: 2,
      pods: [...ready(0, 2), unready(1, NOW - 40_000)],
      leases,
    }),
  );
  assert.equal(decision.step, 'Draining');
  assert.match(decision.message, /im-1 \(3 connections\)/);
});

test('the barrier wakes when a laggard Lease expires, before the ack timeout', () => {
  const prepared = ring({ version: 3, state: 'Prepared', members: [0, 2], previous: [0, 1, 2], atMs: NOW - 1000 });
  const leases = [lease('gateway', 'im-0', 3), lease('gateway', 'im-1', 2, { expiresAtMs: NOW + 4000 })];
  const decision = decideTransition(
    input({ spec: spec({ replicas: 3 }), ring: prepared, convergedVersion: 2, pods: ready(0, 2), leases }),
  );
  assert.equal(decision.step, 'Barrier');
  assert.equal(decision.changed, false);
  assert.equal(decision.requeueAfterMs, 4000);
});

test('the barrier wakes at the ack timeout when that comes before any laggard Lease expires', () => {
  const prepared = ring({ version: 3, state: 'Prepared', members: [0, 2], previous: [0, 1, 2], atMs: NOW - 1000 });
  const decision = decideTransition(
    input({
      spec: spec({ replicas: 3 }),
      ring: prepared,
      convergedVersion: 2,
      pods: ready(0, 2),
      leases: [lease('proxy', 'proxy-a', 2, { expiresAtMs: NOW + 60_000 })],
    }),
  );
  assert.equal(decision.requeueAfterMs, 29_000);
});

test('the drain wakes when a Lease it waits for expires, before the drain timeout', () => {
  const committed = ring({ version: 3, state: 'Committed', members: [0, 2], previous: [0, 1, 2], atMs: NOW - 1000 });
  const leases = [lease('gateway', 'im-0', 3, { misplaced: 2, expiresAtMs: NOW + 7000 }), lease('gateway', 'im-2', 3)];
  const decision = decideTransition(
    input({ spec: spec({ replicas: 3 }), ring: committed, convergedVersion: 2, pods: ready(0, 2), leases }),
  );
  assert.equal(decision.step, 'Draining');
  assert.equal(decision.requeueAfterMs, 7000);
});
