import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advanceTimeline, ringFact, type FactInput, type RingFact } from '../cli/web/timeline.js';
import type { Timeline } from '../cli/web/snapshot.js';
import type { LeaseReport } from '../cli/status-view.js';
import { sampleRingDocument } from './support/fixtures.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');

function fact(seconds: number, init: Partial<RingFact>): RingFact {
  return {
    at: T0 + seconds * 1000,
    version: 5,
    state: 'Prepared',
    previousVersion: 4,
    acknowledged: false,
    misplaced: 0,
    converged: false,
    ...init,
  };
}

function run(facts: readonly RingFact[], start: Timeline | null = null): Timeline | null {
  return facts.reduce<Timeline | null>(advanceTimeline, start);
}

/** `name@seconds+durationSeconds` per step; `name` alone when not reached. */
function steps(timeline: Timeline | null): string[] {
  return (timeline?.steps ?? []).map((s) => {
    if (s.at === null) return s.name;
    const at = (Date.parse(s.at) - T0) / 1000;
    return s.durationMs === null ? `${s.name}@${at}` : `${s.name}@${at}+${s.durationMs / 1000}`;
  });
}

const converged4 = fact(0, {
  version: 4,
  state: 'Committed',
  previousVersion: null,
  acknowledged: true,
  converged: true,
});

test('a transition seen from the start is stamped step by step with the durations between them', () => {
  const timeline = run([
    converged4,
    fact(1, {}),
    fact(2, { acknowledged: true }),
    fact(3, { acknowledged: true }),
    fact(4, { state: 'Committed', acknowledged: true, misplaced: 7 }),
    fact(6, { state: 'Committed', acknowledged: true, misplaced: 0 }),
    fact(9, { state: 'Committed', acknowledged: true, converged: true }),
  ]);
  assert.equal(timeline?.version, 5);
  assert.equal(timeline?.fromVersion, 4);
  assert.deepEqual(steps(timeline), ['Prepared@1', 'Acknowledged@2+1', 'Committed@4+2', 'Moved@6+2', 'Converged@9+3']);
});

test('steps not yet reached stay without a time', () => {
  assert.deepEqual(steps(run([converged4, fact(1, {}), fact(2, { acknowledged: true })])), [
    'Prepared@1',
    'Acknowledged@2+1',
    'Committed',
    'Moved',
    'Converged',
  ]);
});

test('a first observation of a converged ring starts no timeline', () => {
  assert.equal(run([converged4, { ...converged4, at: T0 + 5000 }]), null);
});

test('steps already reached when the transition is first seen get its time and no duration', () => {
  const timeline = run([
    fact(10, { state: 'Committed', acknowledged: true, misplaced: 3 }),
    fact(12, { state: 'Committed', acknowledged: true, misplaced: 0 }),
  ]);
  assert.deepEqual(steps(timeline), ['Prepared@10', 'Acknowledged@10', 'Committed@10', 'Moved@12+2', 'Converged']);
});

test('skipping a step (a barrier timeout) stamps the skipped one with the later time', () => {
  const timeline = run([converged4, fact(1, {}), fact(31, { state: 'Committed', misplaced: 2 })]);
  assert.deepEqual(steps(timeline), ['Prepared@1', 'Acknowledged@31+30', 'Committed@31+0', 'Moved', 'Converged']);
});

test('a newer version starts a new timeline from the one before', () => {
  const v5 = run([converged4, fact(1, {}), fact(9, { state: 'Committed', converged: true })]);
  const v6 = run([fact(20, { version: 6, previousVersion: 5 })], v5);
  assert.deepEqual({ version: v6?.version, from: v6?.fromVersion }, { version: 6, from: 5 });
  assert.deepEqual(steps(v6), ['Prepared@20', 'Acknowledged', 'Committed', 'Moved', 'Converged']);
});

test('an unchanged observation returns the same timeline object', () => {
  const timeline = run([converged4, fact(1, {})]);
  assert.equal(advanceTimeline(timeline, fact(2, {})), timeline);
});

function lease(component: string, pod: string, init: Partial<LeaseReport> = {}): LeaseReport {
  return {
    lease: `im-${component}-${pod}`,
    component,
    pod,
    live: true,
    ringVersion: 5,
    ringState: 'Prepared',
    connections: 0,
    misplaced: 0,
    ringError: null,
    ...init,
  };
}

function factOf(input: Partial<FactInput> & { state?: 'Prepared' | 'Committed' }): RingFact | null {
  const document = sampleRingDocument(5, input.state ?? 'Prepared', 3);
  return ringFact({
    ring: { kind: 'ok', configMap: 'im-ring', document },
    leases: [],
    conditions: [],
    convergedVersion: null,
    at: T0,
    ...input,
  });
}

test('a fact reads version, state and previous version from the ring document', () => {
  assert.deepEqual(factOf({}), {
    at: T0,
    version: 5,
    state: 'Prepared',
    previousVersion: 4,
    acknowledged: true,
    misplaced: 0,
    converged: false,
  });
  assert.equal(factOf({ ring: { kind: 'missing', configMap: 'im-ring' } }), null);
});

test('a fact is acknowledged when every live runtime of every component serves the version or a newer one', () => {
  const acked = (leases: LeaseReport[]) => factOf({ leases })?.acknowledged;
  assert.equal(acked([lease('gateway', 'im-0'), lease('proxy', 'p', { ringVersion: 6 })]), true);
  assert.equal(acked([lease('gateway', 'im-0'), lease('push', 'q', { ringVersion: 4 })]), false);
  assert.equal(acked([lease('gateway', 'im-0'), lease('push', 'q', { ringVersion: null })]), false);
  assert.equal(acked([lease('gateway', 'im-0'), lease('push', 'q', { ringVersion: 4, live: false })]), true);
});

test('a fact sums the misplaced connections of live gateway Leases only', () => {
  const leases = [
    lease('gateway', 'im-0', { misplaced: 2 }),
    lease('gateway', 'im-1', { misplaced: 3 }),
    lease('gateway', 'im-2', { misplaced: 7, live: false }),
    lease('proxy', 'p', { misplaced: 11 }),
  ];
  assert.equal(factOf({ leases })?.misplaced, 5);
});

test('convergence comes from status.ring.convergedVersion, else from RingConverged on a settled Committed ring', () => {
  const convergedTrue = [{ type: 'RingConverged', status: 'True' }];
  const cases: [Partial<FactInput> & { state?: 'Prepared' | 'Committed' }, boolean][] = [
    [{ state: 'Committed', convergedVersion: 5 }, true],
    [{ state: 'Committed', convergedVersion: 4, conditions: convergedTrue }, false],
    [{ state: 'Committed', conditions: convergedTrue }, true],
    [{ state: 'Prepared', conditions: convergedTrue }, false],
    [{ state: 'Committed', conditions: convergedTrue, leases: [lease('gateway', 'im-0', { misplaced: 1 })] }, false],
  ];
  for (const [input, converged] of cases) assert.equal(factOf(input)?.converged, converged, JSON.stringify(input));
});
