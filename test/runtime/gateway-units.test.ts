import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUpgradeRequest } from '../../runtime/gateway/auth.js';
import { verifyClientToken } from '../../runtime/client-token.js';
import { ConnectionTable, type ClientConnection } from '../../runtime/gateway/connections.js';
import { deliverBatch, encodeMessageFrame } from '../../runtime/gateway/deliver.js';
import { moveWindow, pace, PacedCloser, usersToMigrate } from '../../runtime/gateway/migration.js';
import { resolveGatewayOptions } from '../../runtime/gateway/options.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { FakeClock, fakeConnection, newRing, SECRET, sign, usersWhere } from './gateway-fixture.js';

const key = new TextEncoder().encode(SECRET);

test('upgrade targets parse into user, platform and token, or a status to refuse with', () => {
  const cases: [string, Record<string, string>, unknown][] = [
    [
      '/ws?userID=u1&platform=web&token=t',
      {},
      { ok: true, userID: 'u1', platform: 'web', token: 't', graceful: false, clientID: undefined },
    ],
    [
      '/ws?userID=u1&platform=ios',
      { authorization: 'Bearer abc' },
      { ok: true, userID: 'u1', platform: 'ios', token: 'abc', graceful: false, clientID: undefined },
    ],
    [
      '/ws?userID=%20U1&platform=ios',
      {},
      { ok: true, userID: ' U1', platform: 'ios', token: undefined, graceful: false, clientID: undefined },
    ],
    [
      '/ws?userID=u1&platform=web&migrate=graceful&token=t',
      {},
      { ok: true, userID: 'u1', platform: 'web', token: 't', graceful: true, clientID: undefined },
    ],
    [
      '/ws?userID=u1&platform=web&clientID=c-1_x',
      {},
      { ok: true, userID: 'u1', platform: 'web', token: undefined, graceful: false, clientID: 'c-1_x' },
    ],
    [
      `/ws?userID=u1&platform=web&clientID=${'c'.repeat(65)}`,
      {},
      { ok: true, userID: 'u1', platform: 'web', token: undefined, graceful: false, clientID: undefined },
    ],
    [
      '/ws?userID=u1&platform=web&migrate=hard',
      {},
      { ok: true, userID: 'u1', platform: 'web', token: undefined, graceful: false, clientID: undefined },
    ],
    ['/ws?platform=web', {}, { ok: false, status: 400, reason: 'missing or too long userID' }],
    ['/ws?userID=u1', {}, { ok: false, status: 400, reason: 'missing or too long platform' }],
    [
      `/ws?userID=${'x'.repeat(257)}&platform=web`,
      {},
      { ok: false, status: 400, reason: 'missing or too long userID' },
    ],
    ['/other?userID=u1&platform=web', {}, { ok: false, status: 404, reason: 'not found' }],
    // `new URL` throws on these; the throw once escaped the upgrade handler and ended the gateway.
    ['//', {}, { ok: false, status: 400, reason: 'malformed request target' }],
    ['http://[::1/ws?userID=u1&platform=web', {}, { ok: false, status: 400, reason: 'malformed request target' }],
    ['*', {}, { ok: false, status: 400, reason: 'malformed request target' }],
  ];
  for (const [target, headers, expected] of cases)
    assert.deepEqual(parseUpgradeRequest(target, headers), expected, target);
});

test('tokens are accepted only when signed with the key, unexpired and for the same user', async () => {
  assert.equal(await verifyClientToken(await sign('u1'), 'u1', key), undefined);
  assert.equal(await verifyClientToken(await sign('u1', { expiresInSeconds: -60 }), 'u1', key), 'expired');
  assert.equal(await verifyClientToken(await sign('u1', { secret: 'another-secret' }), 'u1', key), 'invalid');
  assert.equal(await verifyClientToken(await sign('u2'), 'u1', key), 'other_user');
  assert.equal(await verifyClientToken(undefined, 'u1', key), 'missing');
  assert.equal(await verifyClientToken('not.a.jwt', 'u1', key), 'invalid');
});

test('a second connection on the same platform replaces the first; misplaced follows the ring', () => {
  const ring2 = newRing({ version: 1, members: 2 });
  const ring3 = newRing({ version: 2, members: 3, previousMembers: 2 });
  const [moving] = usersWhere(1, (u) => ring2.owner(u)?.name === 'im-0' && ring3.owner(u)?.name === 'im-2');
  const table = new ConnectionTable('im-0', ring2);
  const web = fakeConnection(table, { userID: moving!, platform: 'web' });
  const ios = fakeConnection(table, { userID: moving!, platform: 'ios' });
  const web2 = fakeConnection(table, { userID: moving!, platform: 'web' });
  assert.equal(table.add(web), undefined);
  assert.equal(table.add(ios), undefined);
  assert.equal(table.add(web2), web);
  assert.equal(table.size, 2);
  assert.equal(table.remove(web), false, 'a replaced connection is no longer registered');
  assert.equal(table.misplaced, 0);
  table.setRing(ring3);
  assert.equal(table.misplaced, 2);
  assert.equal(table.closeUser(moving!, 4001, 'moved'), 2);
  assert.deepEqual([web2.closes, ios.closes], [[4001], [4001]]);
  assert.deepEqual([table.size, table.misplaced, [...table.userIDs()]], [0, 0, []]);
});

test('migrated users are remembered for the handoff window, then pruned', () => {
  const table = new ConnectionTable('im-0');
  table.markMigrated('a', 1000);
  table.markMigrated('b', 1500);
  assert.equal(table.wasMigrated('a', 2999, 2000), true);
  assert.equal(table.wasMigrated('a', 3000, 2000), false);
  assert.equal(table.wasMigrated('c', 1000, 2000), false);
  assert.equal(table.pruneMigrated(3200, 2000), 1, 'a is forgotten, b kept');
  assert.equal(table.wasMigrated('b', 3200, 2000), true);
});

test('a batch answers per (message, user) in request order, encoding each frame once', () => {
  const table = new ConnectionTable('im-0');
  const a1 = fakeConnection(table, { userID: 'a', platform: 'web' });
  const a2 = fakeConnection(table, { userID: 'a', platform: 'ios' });
  const slow = fakeConnection(table, { userID: 's', platform: 'web', accepts: false });
  for (const c of [a1, a2, slow]) table.add(c);
  table.markMigrated('m', 100);
  const tally = { delivered: 0, notHere: 0, migrated: 0 };
  const response = deliverBatch(
    {
      batchId: 7,
      ringVersion: 3,
      messages: [
        { msgId: 'm1', userIds: ['a', 'x', 'm', 's'], payload: 'hi "there"' },
        { msgId: 'm2', userIds: ['x'], payload: '' },
      ],
    },
    { connections: table, nowMs: 200, handoffWindowMs: 2000, isMoving: () => false, ringVersion: 4, tally },
  );
  assert.deepEqual(response, {
    batchId: 7,
    ringVersion: 4,
    misplaced: 0,
    results: [
      { msgId: 'm1', userId: 'a', status: 'DELIVERED', connections: 2, platforms: ['ios', 'web'] },
      { msgId: 'm1', userId: 'x', status: 'NOT_HERE', connections: 0 },
      { msgId: 'm1', userId: 'm', status: 'MIGRATED', connections: 0 },
      { msgId: 'm1', userId: 's', status: 'NOT_HERE', connections: 0 },
      { msgId: 'm2', userId: 'x', status: 'NOT_HERE', connections: 0 },
    ],
  });
  assert.deepEqual(tally, { delivered: 1, notHere: 3, migrated: 1 });
  assert.equal(a1.frames[0], a2.frames[0], 'the same Buffer went to both connections');
  assert.deepEqual(JSON.parse(a1.frames[0]!.toString()), { type: 'message', msgID: 'm1', payload: 'hi "there"' });
  assert.deepEqual(slow.closes, [4008]);
  assert.equal(table.size, 2);
  assert.deepEqual(encodeMessageFrame('x', 'y').toString(), '{"type":"message","msgID":"x","payload":"y"}');
});

test('a message skips the platforms listed for a user; a user skipped everywhere is NOT_HERE or MIGRATED', () => {
  const ring = newRing({ version: 1, members: 2 });
  const [away] = usersWhere(1, (u) => ring.owner(u)?.name === 'im-1');
  const table = new ConnectionTable('im-0', ring);
  const web = fakeConnection(table, { userID: 'a', platform: 'web' });
  const ios = fakeConnection(table, { userID: 'a', platform: 'ios' });
  const m = fakeConnection(table, { userID: 'm', platform: 'web' });
  const elsewhere = fakeConnection(table, { userID: away!, platform: 'web' });
  for (const c of [web, ios, m, elsewhere]) table.add(c);
  table.markMigrated('m', 100);
  const tally = { delivered: 0, notHere: 0, migrated: 0 };
  const skip = [
    { userId: 'a', platforms: ['web'] },
    { userId: 'm', platforms: ['web', 'ios'] },
    { userId: 'b', platforms: ['web'] },
  ];
  const response = deliverBatch(
    {
      batchId: 0,
      ringVersion: 1,
      messages: [
        { msgId: 'm1', userIds: ['a', 'm', 'b'], payload: 'p', skip },
        { msgId: 'm2', userIds: ['a', 'm'], payload: 'q', skip: [] },
      ],
    },
    { connections: table, nowMs: 200, handoffWindowMs: 2000, isMoving: () => false, ringVersion: 1, tally },
  );
  assert.deepEqual(response.results, [
    { msgId: 'm1', userId: 'a', status: 'DELIVERED', connections: 1, platforms: ['ios'] },
    { msgId: 'm1', userId: 'm', status: 'MIGRATED', connections: 0 },
    { msgId: 'm1', userId: 'b', status: 'NOT_HERE', connections: 0 },
    { msgId: 'm2', userId: 'a', status: 'DELIVERED', connections: 2, platforms: ['ios', 'web'] },
    { msgId: 'm2', userId: 'm', status: 'DELIVERED', connections: 1, platforms: ['web'] },
  ]);
  assert.equal(response.misplaced, 1, 'the connection table misplaced count at answer time');
  assert.deepEqual(
    [web, ios, m].map((c) => c.frames.map((f) => (JSON.parse(f.toString()) as { msgID: string }).msgID)),
    [['m2'], ['m1', 'm2'], ['m2']],
  );
  assert.deepEqual(tally, { delivered: 3, notHere: 1, migrated: 1 });
});

test('a user whose moving connection refuses the frame while it stays here (its client closing it) is MIGRATED', () => {
  const table = new ConnectionTable('im-0');
  const leaving = fakeConnection(table, { userID: 'l', platform: 'web', closing: true });
  const closing = fakeConnection(table, { userID: 'c', platform: 'web', closing: true });
  const slow = fakeConnection(table, { userID: 's', platform: 'web', accepts: false });
  const stays = fakeConnection(table, { userID: 'p', platform: 'ios' });
  const split = fakeConnection(table, { userID: 'p', platform: 'web', closing: true });
  for (const c of [leaving, closing, slow, stays, split]) table.add(c);
  const moving = new Set<ClientConnection>([leaving, slow, split]);
  const tally = { delivered: 0, notHere: 0, migrated: 0 };
  const response = deliverBatch(
    { batchId: 0, ringVersion: 1, messages: [{ msgId: 'm1', userIds: ['l', 'c', 's', 'p'], payload: 'x' }] },
    { connections: table, nowMs: 200, handoffWindowMs: 2000, isMoving: (c) => moving.has(c), ringVersion: 1, tally },
  );
  assert.deepEqual(response.results, [
    { msgId: 'm1', userId: 'l', status: 'MIGRATED', connections: 0 },
    { msgId: 'm1', userId: 'c', status: 'NOT_HERE', connections: 0 },
    { msgId: 'm1', userId: 's', status: 'NOT_HERE', connections: 0 },
    { msgId: 'm1', userId: 'p', status: 'DELIVERED', connections: 1, platforms: ['ios'] },
  ]);
  assert.deepEqual(tally, { delivered: 1, notHere: 2, migrated: 1 });
  assert.equal(table.wasMigrated('l', 200, 2000), false, 'answered, not remembered: the socket has not closed yet');
});

test('the pace turns a rate into batches about every 100 ms', () => {
  const cases: [number, { batch: number; intervalMs: number }][] = [
    [500, { batch: 50, intervalMs: 100 }],
    [1000, { batch: 100, intervalMs: 100 }],
    [25, { batch: 2, intervalMs: 80 }],
    [2, { batch: 1, intervalMs: 500 }],
    [0.5, { batch: 1, intervalMs: 2000 }],
  ];
  for (const [rate, expected] of cases) assert.deepEqual(pace(rate), expected, `rate ${rate}`);
  assert.deepEqual(
    usersToMigrate(['a', 'b', 'c'], (u) => u === 'b'),
    ['a', 'c'],
  );
});

test('the paced closer closes at the rate, with jitter only stretching gaps, and drops replaced users', () => {
  const clock = new FakeClock();
  const randoms = [0.5, 1, 0, 0];
  const closedAt: [string, number][] = [];
  const closer = new PacedCloser({
    timers: clock.timers,
    now: clock.now,
    random: () => randoms.shift() ?? 0,
    close: (u) => (closedAt.push([u, clock.nowMs]), 1),
  });
  const t0 = clock.nowMs;
  closer.replace(['a', 'b', 'c', 'd', 'e'], 20); // 2 per 100 ms
  assert.deepEqual(clock.pending(), [50], 'the first batch waits a random part of one interval');
  clock.advance(50);
  assert.deepEqual(clock.pending(), [110], 'then a full interval stretched by up to 10 %');
  clock.advance(110);
  closer.replace(['e', 'f'], 20);
  clock.advance(1000);
  assert.deepEqual(
    closedAt.map(([u, at]) => [u, at - t0]),
    [
      ['a', 50],
      ['b', 50],
      ['c', 160],
      ['d', 160],
      ['e', 260],
      ['f', 260],
    ],
  );
  closer.add('g');
  assert.deepEqual(clock.pending(), [0], 'after an idle gap the next batch may start at once');
  closer.clear();
  assert.deepEqual([clock.pending(), closer.pending], [[], 0]);
});

test('the paced closer never has more moves open than its room allows, and goes on when woken', () => {
  const clock = new FakeClock();
  const closed: string[] = [];
  let open = 0;
  const closer = new PacedCloser({
    timers: clock.timers,
    now: clock.now,
    random: () => 0,
    close: (u) => (closed.push(u), (open += 1), 1),
    room: () => 3 - open,
  });
  closer.replace(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 100); // 10 per 100 ms
  clock.advance(1000);
  assert.deepEqual(closed, ['a', 'b', 'c'], 'a batch takes only the room left');
  assert.deepEqual(clock.pending(), [], 'with no room it waits for a wake, without polling');
  closer.wake();
  clock.advance(1000);
  assert.deepEqual(closed, ['a', 'b', 'c'], 'woken without room: still waiting');
  open -= 2;
  closer.wake();
  clock.advance(1000);
  assert.deepEqual(closed, ['a', 'b', 'c', 'd', 'e']);
  open = 0;
  closer.wake();
  closer.wake();
  clock.advance(1000);
  assert.deepEqual(closed, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], 'one wake or two, each user once');
  assert.equal(open, 2);
  open = 3;
  closer.replace(['h'], 100);
  clock.advance(1000);
  assert.deepEqual(closed.at(-1), 'g', 'no room: a new queue waits as well');
  closer.clear();
  open = 0;
  closer.wake();
  clock.advance(1000);
  assert.deepEqual([closed.length, closer.pending], [7, 0], 'cleared: a wake starts nothing');
  assert.deepEqual([moveWindow(500), moveWindow(1), moveWindow(0.1)], [250, 1, 1]);
});

test('bad options are refused naming the option', () => {
  const base = {
    host: '127.0.0.1',
    ports: { ws: 0, grpc: 0 },
    self: 'im-0',
    ringSource: new StaticRingSource(),
    tokenSecret: 's',
  };
  assert.throws(() => resolveGatewayOptions({ ...base, tokenSecret: '' }), /options\.tokenSecret/);
  assert.throws(() => resolveGatewayOptions({ ...base, ports: { ws: 70000, grpc: 0 } }), RangeError);
  assert.throws(() => resolveGatewayOptions({ ...base, maxSendBufferBytes: 0 }), /options\.maxSendBufferBytes/);
  assert.throws(() => resolveGatewayOptions({ ...base, self: '' }), /options\.self/);
  assert.equal(resolveGatewayOptions(base).maxPayloadBytes, 64 * 1024);
});
