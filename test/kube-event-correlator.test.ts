import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event } from '@kubernetes/client-node';
import { COMBINED_PREFIX, EventCorrelator, type Correlation } from '../kube/event-correlator.js';

const SECOND_NS = 1_000_000_000n;

/** A correlator on a clock the test moves, and a maker of fresh events as a recorder makes them. */
function correlatorAt(options: { spamBurst?: number } = {}): {
  correlator: EventCorrelator;
  advance: (seconds: number) => void;
  event: (init: { reason?: string; message?: string; object?: string; component?: string }) => CoreV1Event;
} {
  let now = 1_700_000_000n * SECOND_NS;
  let serial = 0;
  const correlator = new EventCorrelator({ now: () => now, ...options });
  return {
    correlator,
    advance: (seconds) => (now += BigInt(seconds) * SECOND_NS),
    event: ({ reason = 'Unhealthy', message = 'Readiness probe failed', object = 'web-0', component = 'kubelet' }) => ({
      metadata: { name: `${object}.${++serial}`, namespace: 'default' },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name: object, namespace: 'default', uid: `uid-${object}` },
      reason,
      message,
      type: 'Warning',
      count: 1,
      firstTimestamp: new Date(Number(now / 1_000_000n)),
      lastTimestamp: new Date(Number(now / 1_000_000n)),
      source: { component },
    }),
  };
}

/** The event a correlation writes; fails on a skip. */
function written(c: Correlation): CoreV1Event {
  assert.notEqual(c.action, 'skip');
  return (c as { event: CoreV1Event }).event;
}

function summary(c: Correlation): [string, string?, number?, string?] {
  return c.action === 'skip' ? ['skip'] : [c.action, c.event.metadata.name, c.event.count, c.event.message];
}

test('a repeated event updates the Event first written for it: count + 1, first timestamp kept', () => {
  const { correlator, advance, event } = correlatorAt();
  const first = correlator.correlate(event({}));
  advance(600 * 3);
  const later = correlator.correlate(event({}));
  assert.deepEqual(summary(first), ['create', 'web-0.1', 1, 'Readiness probe failed']);
  assert.deepEqual(summary(later), ['update', 'web-0.1', 2, 'Readiness probe failed']);
  assert.equal(written(later).firstTimestamp?.getTime(), written(first).firstTimestamp?.getTime());
});

test('events that differ in object, reason, message or source are separate Events', () => {
  const { correlator, event } = correlatorAt();
  const results = [
    event({}),
    event({ object: 'web-1' }),
    event({ reason: 'BackOff' }),
    event({ message: 'Liveness probe failed' }),
    event({ component: 'scheduler' }),
  ].map((e) => correlator.correlate(e).action);
  assert.deepEqual(results, ['create', 'create', 'create', 'create', 'create']);
});

test('the tenth distinct message of similar events within the window is combined, and so is each one after', () => {
  const { correlator, advance, event } = correlatorAt();
  const actions = [];
  for (let i = 1; i <= 9; i++) {
    actions.push(correlator.correlate(event({ message: `failed ${i}` })).action);
    advance(60);
  }
  assert.deepEqual(actions, Array(9).fill('create'));
  const tenth = correlator.correlate(event({ message: 'failed 10' }));
  const eleventh = correlator.correlate(event({ message: 'failed 11' }));
  assert.equal(tenth.action, 'create');
  assert.equal(written(tenth).message, `${COMBINED_PREFIX}failed 10`);
  assert.equal(eleventh.action, 'update');
  assert.equal(written(eleventh).message, `${COMBINED_PREFIX}failed 11`);
  assert.equal(written(eleventh).count, 2);
  assert.equal(written(eleventh).metadata.name, written(tenth).metadata.name);
});

test('similar events further apart than ten minutes are not combined', () => {
  const { correlator, advance, event } = correlatorAt();
  for (let i = 1; i <= 12; i++) {
    const result = correlator.correlate(event({ message: `failed ${i}` }));
    assert.equal(written(result).message, `failed ${i}`);
    advance(601);
  }
});

test('a source writes a burst about one object, then one a refill; the skipped ones are still counted', () => {
  const { correlator, advance, event } = correlatorAt({ spamBurst: 3 });
  const actions = [1, 2, 3, 4, 5].map(() => correlator.correlate(event({})).action);
  assert.deepEqual(actions, ['create', 'update', 'update', 'skip', 'skip']);
  assert.equal(correlator.correlate(event({ object: 'web-1' })).action, 'create', 'another object has its own budget');
  const normal = { ...event({ reason: 'Pulled', message: 'pulled' }), type: 'Normal' };
  assert.equal(correlator.correlate(normal).action, 'create', 'another type has its own budget');
  advance(300);
  const next = correlator.correlate(event({}));
  assert.deepEqual(summary(next), ['update', 'web-0.1', 6, 'Readiness probe failed']);
});

test('options are checked and name the option', () => {
  assert.throws(() => new EventCorrelator({ now: () => 0n, maxSimilarEvents: 0 }), /maxSimilarEvents/);
  assert.throws(() => new EventCorrelator({ now: () => 0n, spamRefillMs: -1 }), /spamRefillMs/);
});
