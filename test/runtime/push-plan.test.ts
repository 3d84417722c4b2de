import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeliveryStatus } from '../../runtime/protos.js';
import {
  gatewayMessages,
  groupByOwner,
  matchResults,
  nextStep,
  orderedResults,
  outcomeKey,
  uniqueUnits,
  type AskStatus,
  type Stage,
} from '../../runtime/push/plan.js';
import { memberAt, ringOf, usersWhere } from './fake-gateway.js';

const messages = [
  { msgId: 'm1', toUserIds: ['a', 'b', 'a'], payload: 'one' },
  { msgId: 'm1', toUserIds: ['b'], payload: 'two' },
];

test('units are the distinct (message, user) pairs, in request order', () => {
  assert.deepEqual(uniqueUnits(messages), [
    { message: 0, userId: 'a' },
    { message: 0, userId: 'b' },
    { message: 1, userId: 'b' },
  ]);
});

test('units are grouped by their owner, and an empty ring owns nobody', () => {
  const ring = ringOf([memberAt('im-0', { port: 1 }), memberAt('im-1', { port: 2 })]);
  const users = usersWhere(6, () => true);
  const units = users.map((userId) => ({ message: 0, userId }));
  const { groups, unowned } = groupByOwner(units, (unit) => ring.owner(unit.userId));
  assert.deepEqual(unowned, []);
  for (const group of groups) {
    for (const unit of group.items) assert.equal(ring.owner(unit.userId)!.name, group.member.name);
  }
  assert.equal(groups.flatMap((g) => g.items).length, 6);
});

test('gateway results are matched per (msgId, user), even reordered and with a msgId used twice', () => {
  const units = uniqueUnits(messages);
  const sent = gatewayMessages(units, messages);
  assert.deepEqual(sent, [
    { msgId: 'm1', userIds: ['a', 'b'], payload: 'one' },
    { msgId: 'm1', userIds: ['b'], payload: 'two' },
  ]);
  const result = (userId: string, status: DeliveryStatus, connections = 0) => ({
    msgId: 'm1',
    userId,
    status,
    connections,
  });
  const answers = [result('b', 'DELIVERED', 1), result('a', 'NOT_HERE'), result('b', 'MIGRATED')];
  const [matched] = matchResults([sent], answers);
  assert.deepEqual(
    matched!.map((r) => r?.status),
    ['NOT_HERE', 'DELIVERED', 'MIGRATED'],
  );
  const [partial] = matchResults([sent], [result('a', 'NOT_HERE')]);
  assert.deepEqual(
    partial!.map((r) => r?.status),
    ['NOT_HERE', undefined, undefined],
  );
});

interface Flags {
  hasDistinctPrevious: boolean;
  handoffOpen: boolean;
  previousMayHoldPlatforms?: boolean;
  reached?: number;
  reachedVia?: 'current' | 'previous';
  currentFailed?: boolean;
}

const STEPS: [Stage, AskStatus, Flags, string][] = [
  ['current', 'DELIVERED', { hasDistinctPrevious: true, handoffOpen: true }, 'realtime current'],
  ['current', 'NOT_HERE', { hasDistinctPrevious: true, handoffOpen: true }, 'retry previous'],
  ['current', 'NOT_HERE', { hasDistinctPrevious: false, handoffOpen: true }, 'offline not_connected'],
  // Left the current owner under an earlier ring (one that went back and forth): it is at the previous owner.
  ['current', 'MIGRATED', { hasDistinctPrevious: true, handoffOpen: true }, 'retry previous'],
  ['current', 'MIGRATED', { hasDistinctPrevious: true, handoffOpen: false }, 'retry previous'],
  ['current', 'MIGRATED', { hasDistinctPrevious: false, handoffOpen: true }, 'retry handoff'],
  ['current', 'MIGRATED', { hasDistinctPrevious: false, handoffOpen: false }, 'offline not_connected'],
  // Found only at the previous owner: the current owner once more, for platforms that moved there meanwhile.
  ['previous', 'DELIVERED', { hasDistinctPrevious: false, handoffOpen: true }, 'retry recheck'],
  ['previous', 'NOT_HERE', { hasDistinctPrevious: false, handoffOpen: true }, 'offline not_connected'],
  ['previous', 'MIGRATED', { hasDistinctPrevious: false, handoffOpen: true }, 'retry handoff'],
  ['handoff', 'DELIVERED', { hasDistinctPrevious: false, handoffOpen: false }, 'realtime handoff'],
  ['handoff', 'NOT_HERE', { hasDistinctPrevious: false, handoffOpen: true }, 'retry handoff'],
  ['handoff', 'NOT_HERE', { hasDistinctPrevious: false, handoffOpen: false }, 'offline not_connected'],
  [
    'handoff',
    'DELIVERY_STATUS_UNSPECIFIED',
    { hasDistinctPrevious: false, handoffOpen: true },
    'offline not_connected',
  ],
  // A user split while moving: the previous owner is asked for the platforms the current one did not reach.
  [
    'current',
    'DELIVERED',
    { hasDistinctPrevious: true, previousMayHoldPlatforms: true, handoffOpen: true },
    'retry platforms',
  ],
  ['platforms', 'DELIVERED', { hasDistinctPrevious: false, handoffOpen: true, reached: 1 }, 'realtime current'],
  ['platforms', 'NOT_HERE', { hasDistinctPrevious: false, handoffOpen: true, reached: 1 }, 'realtime current'],
  ['platforms', 'MIGRATED', { hasDistinctPrevious: false, handoffOpen: true, reached: 1 }, 'retry handoff'],
  ['platforms', 'MIGRATED', { hasDistinctPrevious: false, handoffOpen: false, reached: 1 }, 'realtime current'],
  ['handoff', 'DELIVERED', { hasDistinctPrevious: false, handoffOpen: false, reached: 1 }, 'realtime current'],
  ['handoff', 'NOT_HERE', { hasDistinctPrevious: false, handoffOpen: false, reached: 1 }, 'realtime current'],
  [
    'recheck',
    'NOT_HERE',
    { hasDistinctPrevious: true, handoffOpen: true, reached: 1, reachedVia: 'previous' },
    'realtime previous',
  ],
  [
    'recheck',
    'MIGRATED',
    { hasDistinctPrevious: true, handoffOpen: true, reached: 1, reachedVia: 'previous' },
    'realtime previous',
  ],
  [
    'recheck',
    'DELIVERED',
    { hasDistinctPrevious: true, handoffOpen: true, reached: 1, reachedVia: 'previous' },
    'realtime previous',
  ],
  // A failed ask: the previous owner, where a user is until it can move, is asked after one at the current owner.
  ['current', 'FAILED', { hasDistinctPrevious: true, handoffOpen: true }, 'retry previous'],
  ['current', 'FAILED', { hasDistinctPrevious: false, handoffOpen: true }, 'offline gateway_error'],
  ['previous', 'DELIVERED', { hasDistinctPrevious: false, handoffOpen: true, currentFailed: true }, 'retry recheck'],
  [
    'previous',
    'NOT_HERE',
    { hasDistinctPrevious: false, handoffOpen: true, currentFailed: true },
    'offline gateway_error',
  ],
  ['previous', 'MIGRATED', { hasDistinctPrevious: false, handoffOpen: true, currentFailed: true }, 'retry handoff'],
  [
    'previous',
    'MIGRATED',
    { hasDistinctPrevious: false, handoffOpen: false, currentFailed: true },
    'offline gateway_error',
  ],
  ['previous', 'FAILED', { hasDistinctPrevious: false, handoffOpen: true }, 'offline gateway_error'],
  ['handoff', 'FAILED', { hasDistinctPrevious: false, handoffOpen: true }, 'offline gateway_error'],
  ['platforms', 'FAILED', { hasDistinctPrevious: false, handoffOpen: true, reached: 1 }, 'realtime current'],
  [
    'recheck',
    'FAILED',
    { hasDistinctPrevious: true, handoffOpen: true, reached: 1, reachedVia: 'previous' },
    'realtime previous',
  ],
];

test('each gateway answer leads to the next step of the push algorithm', () => {
  for (const [stage, status, flags, expected] of STEPS) {
    const step = nextStep({ stage, status, connections: 1, reached: 0, previousMayHoldPlatforms: false, ...flags });
    const got =
      'retry' in step
        ? `retry ${step.retry}`
        : step.done.status === 'realtime'
          ? `realtime ${step.done.via}`
          : `offline ${step.done.reason}`;
    assert.equal(got, expected, `${stage} ${status} ${JSON.stringify(flags)}`);
  }
});

test('a user reached on two gateways is one realtime result via current, with the connections of both', () => {
  const base = { hasDistinctPrevious: false, previousMayHoldPlatforms: false, handoffOpen: false };
  assert.deepEqual(nextStep({ ...base, stage: 'platforms', status: 'DELIVERED', connections: 1, reached: 2 }), {
    done: { status: 'realtime', via: 'current', connections: 3 },
  });
  assert.deepEqual(nextStep({ ...base, stage: 'handoff', status: 'NOT_HERE', connections: 0, reached: 2 }), {
    done: { status: 'realtime', via: 'current', connections: 2 },
  });
});

test('the platforms a gateway must not write to travel as Message.skip, per user, only where given', () => {
  const units = uniqueUnits([{ msgId: 'm1', toUserIds: ['a', 'b', 'c'], payload: 'p' }]);
  const skips = [undefined, ['web', 'ios'], []];
  assert.deepEqual(
    gatewayMessages(units, [{ msgId: 'm1', toUserIds: ['a', 'b', 'c'], payload: 'p' }], (i) => skips[i]),
    [
      {
        msgId: 'm1',
        userIds: ['a', 'b', 'c'],
        payload: 'p',
        skip: [
          { userId: 'b', platforms: ['web', 'ios'] },
          { userId: 'c', platforms: [] },
        ],
      },
    ],
  );
});

test('results answer every occurrence of a recipient, in request order', () => {
  const outcomes = new Map([
    [outcomeKey(0, 'a'), { status: 'realtime' as const, via: 'current' as const, connections: 2 }],
    [outcomeKey(0, 'b'), { status: 'offline' as const, reason: 'not_connected' as const }],
  ]);
  assert.deepEqual(
    orderedResults(messages, outcomes).map((r) => [r.userId, r.status, r.via || r.reason]),
    [
      ['a', 'realtime', 'current'],
      ['b', 'offline', 'not_connected'],
      ['a', 'realtime', 'current'],
      ['b', 'offline', 'gateway_error'], // no outcome: never silently "delivered"
    ],
  );
});

test('a batch shared by several requests is split among them by (msgId, user), even answered out of order', () => {
  const first = [{ msgId: 'm1', userIds: ['a', 'b'], payload: '' }];
  const second = [
    { msgId: 'm2', userIds: ['a'], payload: '' },
    { msgId: 'm1', userIds: ['b'], payload: '' },
  ];
  const result = (msgId: string, userId: string, status: DeliveryStatus) => ({ msgId, userId, status, connections: 0 });
  const answers = [
    result('m2', 'a', 'DELIVERED'),
    result('m1', 'b', 'NOT_HERE'),
    result('m1', 'a', 'MIGRATED'),
    result('m1', 'b', 'DELIVERED'),
  ];
  const split = matchResults([first, second], answers).map((list) => list.map((r) => `${r?.userId} ${r?.status}`));
  assert.deepEqual(split, [
    ['a MIGRATED', 'b NOT_HERE'],
    ['a DELIVERED', 'b DELIVERED'],
  ]);
});
