import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { readyByPod, recentEvents } from '../cli/web/feed-views.js';

function pod(name: string, ready: string | undefined, deleting = false): V1Pod {
  return {
    metadata: { name, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    status: ready === undefined ? {} : { conditions: [{ type: 'Ready', status: ready }] },
  };
}

/** An Event `reason` about `kind/name` at `at` (none without). */
function event(about: string, reason: string, at: string | undefined, extra: Partial<CoreV1Event> = {}): CoreV1Event {
  const [kind, name] = about.split('/') as [string, string];
  return {
    metadata: { name: `${name}.${reason}` },
    involvedObject: { kind, name },
    reason,
    message: `${reason} of ${name}`,
    type: 'Normal',
    ...(at ? { lastTimestamp: new Date(at) } : {}),
    ...extra,
  };
}

test('a pod is Ready when its Ready condition is True and it is not terminating', () => {
  assert.deepEqual(
    readyByPod([pod('im-0', 'True'), pod('im-1', 'False'), pod('im-2', undefined), pod('im-3', 'True', true)]),
    { 'im-0': true, 'im-1': false, 'im-2': false, 'im-3': false },
  );
});

test('events about the gateway, its ring, its StatefulSet and its pods are kept, newest first, up to the limit', () => {
  const events = [
    event('IMGateway/im', 'RingPrepared', '2026-12-01T00:00:02Z'),
    event('ConfigMap/im-ring', 'RingRestored', '2026-12-01T00:00:05Z', { type: 'Warning', count: 3 }),
    event('Pod/im-1', 'Started', '2026-12-01T00:00:03Z'),
    event('StatefulSet/im', 'SuccessfulCreate', '2026-12-01T00:00:01Z'),
    event('Pod/imx-0', 'Started', '2026-12-01T00:00:09Z'),
    event('Pod/im-proxy-abc', 'Started', '2026-12-01T00:00:09Z'),
    event('IMGateway/other', 'RingPrepared', '2026-12-01T00:00:09Z'),
    event('IMGateway/im', 'Undated', undefined),
  ];
  assert.deepEqual(
    recentEvents(events, 'im', 20).map((e) => [e.object, e.reason, e.type, e.count, e.lastTimestamp]),
    [
      ['ConfigMap/im-ring', 'RingRestored', 'Warning', 3, '2026-12-01T00:00:05.000Z'],
      ['Pod/im-1', 'Started', 'Normal', 1, '2026-12-01T00:00:03.000Z'],
      ['IMGateway/im', 'RingPrepared', 'Normal', 1, '2026-12-01T00:00:02.000Z'],
      ['StatefulSet/im', 'SuccessfulCreate', 'Normal', 1, '2026-12-01T00:00:01.000Z'],
      ['IMGateway/im', 'Undated', 'Normal', 1, null],
    ],
  );
  assert.deepEqual(
    recentEvents(events, 'im', 2).map((e) => e.reason),
    ['RingRestored', 'Started'],
  );
});

test('a gateway name with regular expression characters matches only itself', () => {
  const events = [event('Pod/a.b-0', 'Started', '2026-12-01T00:00:00Z'), event('Pod/axb-0', 'X', undefined)];
  assert.deepEqual(
    recentEvents(events, 'a.b', 20).map((e) => e.object),
    ['Pod/a.b-0'],
  );
});
