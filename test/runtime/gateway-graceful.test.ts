import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCodes, DEFAULT_POLICY } from '../../ring/index.js';
import {
  connectClient,
  grpcClient,
  migrationOutcomes,
  newRing,
  SELF,
  settled,
  startTestGateway,
  usersWhere,
  type TestClient,
  type TestGateway,
} from './gateway-fixture.js';
import type { GatewayOptions } from '../../runtime/gateway/gateway.js';

// 2 moves per 100 ms; a client that opted in has 1 s (of the fake clock) to move.
const policy = { ...DEFAULT_POLICY, migrateRatePerSecond: 20, handoffWindowMs: 2000, moveDeadlineMs: 1000 };
const v1 = newRing({ version: 1, members: 2, policy });
const v2 = newRing({ version: 2, members: 3, previousMembers: 2, policy });
/** v3 gives v2's moves back: im-0 owns again what it owned at v1. */
const v3 = newRing({ version: 3, members: 2, previousMembers: 3, policy });
/** Owned here at v1 (and v3), by im-2 at v2. */
const moving = usersWhere(2, (u) => v1.owner(u)?.name === SELF && v2.owner(u)?.name === 'im-2');

type Rpc = ReturnType<typeof grpcClient>;

/** Runs `body` on a gateway serving v1 and a gRPC client of it; closes both after. */
async function onGateway(
  body: (t: TestGateway, rpc: Rpc) => Promise<void>,
  options: Partial<GatewayOptions> = {},
): Promise<void> {
  const t = await startTestGateway({ ring: v1, ...options });
  const rpc = grpcClient(t.gw);
  try {
    await body(t, rpc);
  } finally {
    rpc.close();
    await t.close();
  }
}

/** Delivers one message `m` to `userIDs` and answers each user's status, with the platforms written to. */
async function deliverTo(rpc: Rpc, userIDs: string[]): Promise<[string, string[]][]> {
  const response = await rpc.deliver({ messages: [{ msgId: 'm', userIds: userIDs, payload: 'p' }] });
  return response.results.map((r) => [r.status, r.platforms ?? []]);
}

/** A graceful client of the first moving user, asked to move by v2 (its migrate frame received). */
async function askedToMove(t: TestGateway): Promise<{ userID: string; client: TestClient }> {
  const userID = moving[0]!;
  const client = await connectClient(t.gw, { userID, graceful: true });
  t.source.set(v2);
  t.clock.advance(0);
  await client.received(1);
  return { userID, client };
}

function outcomes(t: TestGateway): Promise<Record<string, number>> {
  return migrationOutcomes(t.registry);
}

test('a graceful client is sent a migrate frame, is delivered to until it closes with 1000, then answers MIGRATED', () =>
  onGateway(async (t, rpc) => {
    const { userID, client } = await askedToMove(t);
    assert.deepEqual(client.messages, [{ type: 'migrate', reason: 'ring', deadlineMs: 1000 }]);
    t.clock.advance(999);
    const during = await rpc.deliver({ messages: [{ msgId: 'm1', userIds: [userID], payload: 'p' }] });
    assert.deepEqual(
      during.results.map((r) => [r.status, r.platforms]),
      [['DELIVERED', ['web']]],
    );
    assert.equal(during.misplaced, 1, 'a moving connection is misplaced until it closes');
    await client.received(2);
    assert.deepEqual(client.messages[1], { type: 'message', msgID: 'm1', payload: 'p' });
    client.ws.close(1000);
    await settled(() => t.gw.stats().connections === 0, 'the gateway saw the client close');
    assert.deepEqual(t.gw.stats(), { connections: 0, misplaced: 0 });
    assert.deepEqual(t.clock.pending(), [], 'its deadline is cancelled');
    assert.deepEqual(await outcomes(t), { graceful: 1, deadline: 0, closed: 0 });
    assert.deepEqual(await deliverTo(rpc, [userID]), [['MIGRATED', []]]);
  }));

test('a moving connection whose client started closing it answers MIGRATED before its closing handshake ends', () =>
  onGateway(async (t, rpc) => {
    const { userID, client } = await askedToMove(t);
    // The client closes its old connection (its new one is open) and stops reading: the gateway
    // answers the close frame and waits for the socket to end, the connection still in its table.
    client.ws.pause();
    client.ws.close(1000);
    let answer = await deliverTo(rpc, [userID]);
    while (answer[0]![0] === 'DELIVERED') answer = await deliverTo(rpc, [userID]);
    assert.equal(t.gw.stats().connections, 1, 'the closing handshake is still under way');
    assert.deepEqual(answer, [['MIGRATED', []]], 'push asks the new owner again, where the client already is');
    client.ws.resume();
    await settled(() => t.gw.stats().connections === 0, 'the gateway saw the socket end');
    assert.deepEqual(await outcomes(t), { graceful: 1, deadline: 0, closed: 0 });
    assert.deepEqual(await deliverTo(rpc, [userID]), [['MIGRATED', []]]);
  }));

test('a graceful client still here at the deadline is closed with 4001; one that did not opt in at once', () =>
  onGateway(async (t, rpc) => {
    const [stays, mixed] = moving;
    const late = await connectClient(t.gw, { userID: stays!, graceful: true });
    const web = await connectClient(t.gw, { userID: mixed!, platform: 'web' });
    const ios = await connectClient(t.gw, { userID: mixed!, platform: 'ios', graceful: true });
    t.source.set(v2);
    t.clock.advance(0);
    assert.deepEqual(await web.closed, { code: CloseCodes.moved, reason: 'moved' });
    await Promise.all([late.received(1), ios.received(1)]);
    assert.deepEqual(t.gw.stats(), { connections: 2, misplaced: 2 });
    assert.deepEqual(
      await deliverTo(rpc, [mixed!]),
      [['DELIVERED', ['ios']]],
      'the platform still here is delivered to',
    );
    t.clock.advance(999);
    assert.equal(t.gw.stats().connections, 2);
    t.clock.advance(1);
    assert.deepEqual(t.gw.stats(), { connections: 0, misplaced: 0 }, 'closed at the deadline');
    for (const client of [late, ios])
      assert.deepEqual(await client.closed, { code: CloseCodes.moved, reason: 'moved' });
    assert.deepEqual(await outcomes(t), { graceful: 0, deadline: 2, closed: 1 });
    assert.deepEqual(await deliverTo(rpc, [stays!, mixed!]), [
      ['MIGRATED', []],
      ['MIGRATED', []],
    ]);
  }));

test('a ring that gives the user back spares it at the deadline; a new connection replacing a moving one ends its move', () =>
  onGateway(async (t, rpc) => {
    const [back, replaced] = moving;
    const kept = await connectClient(t.gw, { userID: back!, graceful: true });
    const old = await connectClient(t.gw, { userID: replaced!, graceful: true });
    t.source.set(v2);
    t.clock.advance(0);
    await Promise.all([kept.received(1), old.received(1)]);
    // The client's new connection lands here (a proxy one ring behind): the old one is replaced.
    const renewed = await connectClient(t.gw, { userID: replaced!, graceful: true });
    assert.deepEqual(await old.closed, { code: CloseCodes.replaced, reason: 'replaced' });
    assert.deepEqual(await outcomes(t), { graceful: 1, deadline: 0, closed: 0 });
    t.source.set(v3);
    assert.equal(t.gw.stats().misplaced, 0);
    t.clock.advance(1000);
    assert.deepEqual(await outcomes(t), { graceful: 1, deadline: 0, closed: 0 });
    assert.deepEqual(t.gw.stats(), { connections: 2, misplaced: 0 });
    assert.deepEqual(await deliverTo(rpc, [back!, replaced!]), [
      ['DELIVERED', ['web']],
      ['DELIVERED', ['web']],
    ]);
    await Promise.all([kept.received(2), renewed.received(1)]);
    assert.ok(kept.ws.readyState === kept.ws.OPEN);
  }));

test('a moving connection the gateway closes for another reason (kicked) ends its move without an outcome', () =>
  onGateway(async (t, rpc) => {
    const { userID, client } = await askedToMove(t);
    await rpc.call('Kick', { userId: userID });
    assert.deepEqual(await client.closed, { code: 1000, reason: 'kicked' });
    await settled(() => t.clock.pending().length === 0, 'the socket closed and its deadline was cancelled');
    assert.deepEqual(await outcomes(t), { graceful: 0, deadline: 0, closed: 0 });
    assert.deepEqual(await deliverTo(rpc, [userID]), [['NOT_HERE', []]], 'kicked is not migrated');
  }));

test('a gateway has at most half a second of its migrate rate asked to move at once, and asks the next as moves end', async () => {
  // 4/s: a window of 2 connections; a deadline far beyond the test, so only a move that ends makes room.
  const slow = { ...DEFAULT_POLICY, migrateRatePerSecond: 4, moveDeadlineMs: 300_000 };
  const from = newRing({ version: 1, members: 2, policy: slow });
  const to = newRing({ version: 2, members: 3, previousMembers: 2, policy: slow });
  const users = usersWhere(5, (u) => from.owner(u)?.name === SELF && to.owner(u)?.name === 'im-2');
  const t = await startTestGateway({ ring: from });
  const rpc = grpcClient(t.gw);
  try {
    {
      const clients = await Promise.all(users.map((userID) => connectClient(t.gw, { userID, graceful: true })));
      t.source.set(to);
      let round = 0;
      /** Advances well past the pace, then delivers one message to all: what each socket got before it is in. */
      const asked = async (): Promise<TestClient[]> => {
        t.clock.advance(10_000);
        round += 1;
        const open = clients.filter((c) => c.ws.readyState === c.ws.OPEN);
        const statuses = (await deliverTo(rpc, users)).map(([status]) => status);
        assert.deepEqual(
          statuses,
          users.map((_, i) => (clients[i]!.ws.readyState === clients[i]!.ws.OPEN ? 'DELIVERED' : 'NOT_HERE')),
        );
        await Promise.all(open.map((c) => c.received(c.messages.filter(isMigrate).length + round)));
        return clients.filter((c) => c.messages.some(isMigrate));
      };
      assert.equal((await asked()).length, 2, 'two asked, three waiting');
      const [first] = await asked();
      first!.ws.close(1000);
      await settled(() => t.gw.stats().connections === 4, 'the moved client gone');
      assert.equal((await asked()).length, 3, 'one more asked once a move ended');
      assert.deepEqual(await outcomes(t), { graceful: 1, deadline: 0, closed: 0 });
    }
  } finally {
    rpc.close();
    await t.close();
  }
});

function isMigrate(message: unknown): boolean {
  return (message as { type?: string }).type === 'migrate';
}
