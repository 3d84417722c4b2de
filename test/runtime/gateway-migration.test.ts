import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCodes, DEFAULT_POLICY } from '../../ring/index.js';
import {
  connectClient,
  grpcClient,
  metricValue,
  newRing,
  settled,
  SELF,
  startTestGateway,
  usersWhere,
  type TestClient,
} from './gateway-fixture.js';

const policy = { ...DEFAULT_POLICY, migrateRatePerSecond: 20, handoffWindowMs: 2000 }; // 2 closes per 100 ms
const v1 = newRing({ version: 1, members: 2, policy });
const v2Prepared = newRing({ version: 2, members: 3, previousMembers: 2, state: 'Prepared', policy });
const v2 = newRing({ version: 2, members: 3, previousMembers: 2, policy });
/** Owned here at v1, by im-2 at v2. */
const moving = usersWhere(6, (u) => v1.owner(u)?.name === SELF && v2.owner(u)?.name === 'im-2');
/** Owned here at both. */
const [staying] = usersWhere(1, (u) => v1.owner(u)?.name === SELF && v2.owner(u)?.name === SELF);

function isOpen(client: TestClient): boolean {
  return client.ws.readyState === client.ws.OPEN;
}

test('misplaced counts follow ring changes; a Prepared ring moves nobody', async () => {
  const t = await startTestGateway({ ring: v1 });
  try {
    const clients = await Promise.all([...moving, staying!].map((userID) => connectClient(t.gw, { userID })));
    assert.deepEqual(t.gw.stats(), { connections: 7, misplaced: 0 });
    t.source.set(v2Prepared);
    assert.deepEqual(t.gw.stats(), { connections: 7, misplaced: 6 });
    assert.equal(await metricValue(t.registry, 'imring_gateway_misplaced_connections'), 6);
    assert.deepEqual(t.clock.pending(), [], 'nothing is scheduled while the ring is only Prepared');
    t.clock.advance(10_000);
    assert.ok(clients.every(isOpen));
    // A user not owned here is accepted all the same (the proxy may route one ring apart).
    const [elsewhere] = usersWhere(1, (u) => v2.owner(u)?.name === 'im-1');
    await connectClient(t.gw, { userID: elsewhere! });
    assert.deepEqual(t.gw.stats(), { connections: 8, misplaced: 7 });
    t.source.set(newRing({ version: 3, members: 2, previousMembers: 3, state: 'Prepared', policy }));
    assert.deepEqual(t.gw.stats(), { connections: 8, misplaced: 1 });
  } finally {
    await t.close();
  }
});

test('a Committed ring migrates lost users with 4001 at the paced rate; MIGRATED answers last the handoff window', async () => {
  const t = await startTestGateway({ ring: v1 });
  const rpc = grpcClient(t.gw);
  try {
    // One after another: migration goes in connection order, and the test names who is first.
    const clients = [];
    for (const userID of moving) clients.push(await connectClient(t.gw, { userID }));
    const stay = await connectClient(t.gw, { userID: staying! });
    t.source.set(v2Prepared);
    t.source.set(v2);
    assert.deepEqual(t.clock.pending(), [0], 'random() = 0: the first batch starts at once');
    const openAfter = (ms: number): number => {
      t.clock.advance(ms);
      return t.gw.stats().misplaced;
    };
    assert.deepEqual([openAfter(0), openAfter(99), openAfter(1), openAfter(100)], [4, 4, 2, 0], '2 closes per 100 ms');
    for (const client of clients) assert.deepEqual(await client.closed, { code: CloseCodes.moved, reason: 'moved' });
    assert.ok(isOpen(stay));
    assert.equal(t.gw.stats().connections, 1);
    assert.equal(await metricValue(t.registry, 'imring_gateway_migrations_total', { outcome: 'closed' }), 6);

    // The last batch closed at t0+200; the first at t0.
    const results = async (): Promise<string[]> =>
      (
        await rpc.deliver({ messages: [{ msgId: 'm', userIds: [moving[0]!, moving[5]!, staying!], payload: 'p' }] })
      ).results.map((r) => r.status);
    assert.deepEqual(await results(), ['MIGRATED', 'MIGRATED', 'DELIVERED']);
    t.clock.advance(1800);
    assert.deepEqual(await results(), ['NOT_HERE', 'MIGRATED', 'DELIVERED'], 'the first batch is past its window');
    t.clock.advance(200);
    assert.deepEqual(await results(), ['NOT_HERE', 'NOT_HERE', 'DELIVERED']);
    assert.equal(await metricValue(t.registry, 'imring_gateway_deliveries_total', { result: 'migrated' }), 3);
  } finally {
    rpc.close();
    await t.close();
  }
});

test('onSettled is told once the last misplaced connection is gone, and once the last connection is gone', async () => {
  let settledCalls = 0;
  const t = await startTestGateway({ ring: v1, onSettled: () => settledCalls++ });
  try {
    const clients = await Promise.all(moving.map((userID) => connectClient(t.gw, { userID })));
    const stay = await connectClient(t.gw, { userID: staying! });
    t.source.set(v2Prepared);
    t.source.set(v2);
    t.clock.advance(300);
    await Promise.all(clients.map((c) => c.closed));
    await settled(() => settledCalls === 1, 'onSettled after the last misplaced connection closed');
    assert.deepEqual(t.gw.stats(), { connections: 1, misplaced: 0 });
    stay.ws.close();
    await settled(() => settledCalls === 2, 'onSettled after the last connection closed');
  } finally {
    await t.close();
  }
});

test('a new ring mid-migration replans: users owned again are kept', async () => {
  const t = await startTestGateway({ ring: v1 });
  const rpc = grpcClient(t.gw);
  try {
    const clients = await Promise.all(moving.map((userID) => connectClient(t.gw, { userID })));
    t.source.set(v2);
    t.clock.advance(0);
    assert.equal(t.gw.stats().misplaced, 4);
    // v3 gives every user back to im-0's old share: nothing is misplaced any more.
    t.source.set(newRing({ version: 3, members: 2, previousMembers: 3, policy }));
    assert.equal(t.gw.stats().misplaced, 0);
    t.clock.advance(1000);
    assert.equal(t.gw.stats().connections, 4);
    const response = await rpc.deliver({ messages: [{ msgId: 'm', userIds: moving, payload: 'p' }] });
    assert.deepEqual(response.results.map((r) => r.status).sort(), [
      'DELIVERED',
      'DELIVERED',
      'DELIVERED',
      'DELIVERED',
      'MIGRATED',
      'MIGRATED',
    ]);
    const delivered = clients.filter((_, i) => response.results[i]!.status === 'DELIVERED');
    await Promise.all(delivered.map((c) => c.received(1)));
    assert.ok(delivered.every(isOpen));
  } finally {
    rpc.close();
    await t.close();
  }
});

test('a connection routed here for a user owned elsewhere under a Committed ring is migrated too', async () => {
  const t = await startTestGateway({ ring: v2 });
  try {
    const [elsewhere] = usersWhere(1, (u) => v2.owner(u)?.name === 'im-1');
    const client = await connectClient(t.gw, { userID: elsewhere! });
    assert.equal(t.gw.stats().misplaced, 1);
    t.clock.advance(100);
    assert.equal((await client.closed).code, CloseCodes.moved);
    assert.deepEqual(t.gw.stats(), { connections: 0, misplaced: 0 });
  } finally {
    await t.close();
  }
});

test('a gateway without a ring is not ready but still accepts and delivers', async () => {
  const t = await startTestGateway({ ring: null });
  const rpc = grpcClient(t.gw);
  try {
    assert.equal(t.gw.ready(), false);
    const client = await connectClient(t.gw, { userID: 'alice' });
    const response = await rpc.deliver({ messages: [{ msgId: 'm', userIds: ['alice'], payload: 'p' }] });
    assert.deepEqual(
      response.results.map((r) => r.status),
      ['DELIVERED'],
    );
    await client.received(1);
    t.source.set(v1);
    assert.equal(t.gw.ready(), true);
  } finally {
    rpc.close();
    await t.close();
  }
});
