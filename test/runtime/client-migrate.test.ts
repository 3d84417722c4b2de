import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { ClientCloseEvent, ClientMoveEvent, ClientOptions, ImringClient } from '../../client/index.js';
import { startFakeWsGateway, type FakeConnection, type FakeWsGateway } from './fake-ws-gateway.js';
import {
  assertDelivers,
  FakeTimers,
  newClient,
  nextClose,
  nextMove,
  queryOf,
  sendMigrate,
  startTcpGate,
  wsUrl,
  type TcpGate,
} from './client-support.js';

/** A client connected to a fake gateway through a TCP gate, its events written down as they come. */
interface Connected {
  readonly gateway: FakeWsGateway;
  readonly gate: TcpGate;
  readonly timers: FakeTimers;
  readonly client: ImringClient;
  /** The first connection, the one asked to move. */
  readonly first: FakeConnection;
  /** 'open', 'close <code>' and 'move <outcome>', in order. */
  readonly events: string[];
  /** How often the token function was asked (once per connection attempt). */
  tokens(): number;
  /** Asks the client to move (reason ring, deadline 10 s) and holds its new connection at the gate. */
  moveHeld(): Promise<Socket>;
  /** Resolves at the next 'error' event (a failed attempt: its 'close' has been handled by then). */
  nextError(): Promise<void>;
  close(): Promise<void>;
}

async function connected(overrides: Partial<ClientOptions> = {}): Promise<Connected> {
  const gateway = await startFakeWsGateway({ echo: false });
  const gate = await startTcpGate(gateway);
  const timers = new FakeTimers();
  let tokens = 0;
  const token = (): Promise<string> => Promise.resolve(`tok-${++tokens}`);
  const client = newClient(wsUrl(gate), timers, { token, now: timers.now, ...overrides });
  const events: string[] = [];
  client.on('open', () => events.push('open'));
  client.on('close', (event: ClientCloseEvent) => events.push(`close ${event.code}`));
  client.on('move', (event: ClientMoveEvent) => events.push(`move ${event.outcome}`));
  client.on('error', () => undefined);
  const opened = once(client, 'open');
  client.connect();
  const first = await gateway.nextConnection();
  await opened;
  return {
    gateway,
    gate,
    timers,
    client,
    first,
    events,
    tokens: () => tokens,
    moveHeld: () => {
      gate.mode = 'hold';
      sendMigrate(first, { reason: 'ring', deadlineMs: 10_000 });
      return gate.nextHeld();
    },
    nextError: () => new Promise((resolve) => client.once('error', () => resolve())),
    close: async () => {
      await client.close();
      await gate.close();
      await gateway.close();
    },
  };
}

/** Runs `body` with a client from {@link connected}, then closes everything. */
async function withClient(overrides: Partial<ClientOptions>, body: (c: Connected) => Promise<void>): Promise<void> {
  const c = await connected(overrides);
  try {
    await body(c);
  } finally {
    await c.close();
  }
}

test('a client opts in by default (migrate=graceful); with migrate: hard it does not and ignores a migrate frame', async () => {
  const graceful = await connected();
  const hard = await connected({ migrate: 'hard' });
  try {
    assert.equal(queryOf(graceful.first).migrate, 'graceful');
    assert.equal(queryOf(hard.first).migrate, undefined);
    for (const c of [graceful, hard]) {
      sendMigrate(c.first, { reason: 'ring', deadlineMs: 10_000 });
      await assertDelivers(c.client, c.gateway, c.first, 'm1');
    }
    assert.equal(graceful.tokens(), 2, 'the graceful client started its move (a token for the new connection)');
    assert.equal(hard.tokens(), 1, 'the hard one did not');
    const closed = nextClose(hard.client);
    hard.first.socket.close(4001, 'moved');
    assert.deepEqual(await closed, { code: 4001, reason: 'moved', willReconnect: true, delayMs: 50 });
    assert.deepEqual(hard.events, ['open', 'close 4001'], 'a hard client keeps the 4001 path');
  } finally {
    await graceful.close();
    await hard.close();
  }
});

test('asked to move, the client opens the new connection first, then closes the old one with 1000', () =>
  withClient({ now: () => performance.now() }, async (c) => {
    const moved = nextMove(c.client);
    await c.moveHeld();
    // A close frame sent before the new connection opened would reach the gateway before this pong.
    c.first.socket.ping();
    const answer = await Promise.race([once(c.first.socket, 'pong'), c.first.closed]);
    assert.deepEqual(answer, [Buffer.alloc(0)], 'the old connection answers while the new one opens');
    assert.equal(c.first.socket.readyState, WebSocket.OPEN);
    const order: string[] = [];
    void c.first.closed.then(() => order.push('old closed'));
    c.gate.release();
    const second = await c.gateway.nextConnection();
    const acceptedAt = performance.now();
    order.push('new accepted');
    assert.deepEqual(await c.first.closed, { code: 1000, reason: 'moved' });
    const move = await moved;
    const elapsed = performance.now() - acceptedAt;
    assert.deepEqual(order, ['new accepted', 'old closed']);
    assert.deepEqual({ ...move, overlapMs: 0 }, { reason: 'ring', outcome: 'graceful', overlapMs: 0, attempts: 1 });
    assert.ok(move.overlapMs > 0 && move.overlapMs <= elapsed, `overlapMs ${move.overlapMs} within (0, ${elapsed}]`);
    const clientID = queryOf(c.first).clientID;
    assert.match(clientID ?? '', /^[\w-]{1,64}$/, 'the client names itself');
    assert.deepEqual(queryOf(second), { userID: 'u1', platform: 'ios', token: 'tok-2', migrate: 'graceful', clientID });
    assert.deepEqual(c.events, ['open', 'move graceful'], "no 'close' or 'open' for the swap");
    assert.equal(c.client.state, 'open');
    await assertDelivers(c.client, c.gateway, second, 'm2');
  }));

test('messages of both connections reach the same handler and iterator during a move', () =>
  withClient({}, async (c) => {
    const iterator = c.client.messages();
    const moved = nextMove(c.client);
    sendMigrate(c.first, { reason: 'ring', deadlineMs: 10_000 });
    const second = await c.gateway.nextConnection();
    // In the turn the new connection is accepted, the client cannot have closed the old one yet.
    c.gateway.sendMessage(c.first, { msgID: 'm-old', payload: 'old' });
    c.gateway.sendMessage(second, { msgID: 'm-new', payload: 'new' });
    const received = [(await iterator.next()).value?.msgID, (await iterator.next()).value?.msgID];
    assert.deepEqual(received.sort(), ['m-new', 'm-old']);
    assert.equal((await moved).outcome, 'graceful');
  }));

test('a 4003 on the old connection during the move is expected: no close, the move ends on the new one', () =>
  withClient({}, async (c) => {
    const moved = nextMove(c.client);
    await c.moveHeld();
    c.first.socket.close(4003, 'replaced');
    await c.first.closed;
    c.gate.release();
    const second = await c.gateway.nextConnection();
    assert.deepEqual(await moved, { reason: 'ring', outcome: 'graceful', overlapMs: 0, attempts: 1 });
    assert.deepEqual(c.events, ['open', 'move graceful']);
    assert.equal(c.client.state, 'open');
    await assertDelivers(c.client, c.gateway, second, 'm1');
  }));

test('when the new connection fails, the client keeps the old one and retries with backoff until the deadline', () =>
  withClient({}, async (c) => {
    c.gate.mode = 'refuse';
    sendMigrate(c.first, { reason: 'shutdown', deadlineMs: 3_000 });
    const delays: number[] = [];
    for (let attempt = 1; attempt < 3; attempt++) {
      await c.nextError();
      const timer = await c.timers.next();
      delays.push(timer.ms);
      c.timers.fire(timer);
    }
    await c.nextError();
    assert.deepEqual(delays, [500, 1_000]);
    assert.deepEqual(c.timers.pending(), [], 'at 1 500 ms, a retry 2 000 ms later would come after the deadline');
    await assertDelivers(c.client, c.gateway, c.first, 'm1');
    assert.deepEqual(c.events, ['open']);
    const moved = nextMove(c.client);
    const closed = nextClose(c.client);
    c.first.socket.close(4002, 'deadline');
    assert.deepEqual(await moved, { reason: 'shutdown', outcome: 'forced', overlapMs: 0, attempts: 3 });
    assert.deepEqual(await closed, { code: 4002, reason: 'deadline', willReconnect: true, delayMs: 50 });
    c.gate.mode = 'forward';
    c.timers.fire(await c.timers.next());
    await c.gateway.nextConnection();
    if (c.client.state !== 'open') await once(c.client, 'open');
    assert.deepEqual(c.events, ['open', 'move forced', 'close 4002', 'open']);
  }));

test('a token the new connection cannot get is retried with backoff, like a failed connection', () => {
  let calls = 0;
  const token = (): Promise<string> =>
    ++calls === 2 ? Promise.reject(new Error('no token now')) : Promise.resolve(`tok-${calls}`);
  return withClient({ token }, async (c) => {
    const moved = nextMove(c.client);
    const failed = c.nextError();
    sendMigrate(c.first, { reason: 'ring', deadlineMs: 10_000 });
    await failed;
    const timer = await c.timers.next();
    assert.equal(timer.ms, 500);
    c.timers.fire(timer);
    const second = await c.gateway.nextConnection();
    assert.equal(queryOf(second).token, 'tok-3');
    assert.deepEqual(await moved, { reason: 'ring', outcome: 'graceful', overlapMs: 0, attempts: 2 });
    assert.deepEqual(c.events, ['open', 'move graceful']);
  });
});

test('closed by the gateway before the new connection opens, the move is forced and that connection reconnects', () =>
  withClient({}, async (c) => {
    await c.moveHeld();
    const moved = nextMove(c.client);
    const closed = nextClose(c.client);
    c.first.socket.close(4001, 'deadline');
    assert.deepEqual(await moved, { reason: 'ring', outcome: 'forced', overlapMs: 0, attempts: 1 });
    assert.deepEqual(await closed, { code: 4001, reason: 'deadline', willReconnect: true, delayMs: 0 });
    assert.equal(c.client.state, 'connecting');
    assert.deepEqual(c.timers.pending(), [], 'the connection already opening is the reconnect');
    const opened = once(c.client, 'open');
    c.gate.release();
    const second = await c.gateway.nextConnection();
    await opened;
    assert.equal(queryOf(second).token, 'tok-2');
    assert.deepEqual(c.events, ['open', 'move forced', 'close 4001', 'open']);
  }));

test('a second migrate frame during a move starts no second move; the next connection can move again', () =>
  withClient({}, async (c) => {
    await c.moveHeld();
    sendMigrate(c.first, { reason: 'shutdown', deadlineMs: 10_000 });
    await assertDelivers(c.client, c.gateway, c.first, 'm1');
    assert.equal(c.tokens(), 2, 'one new connection only');
    const moved = nextMove(c.client);
    c.gate.release();
    const second = await c.gateway.nextConnection();
    assert.equal((await moved).reason, 'ring');
    const movedAgain = nextMove(c.client);
    sendMigrate(second, { reason: 'shutdown', deadlineMs: 10_000 });
    await c.gateway.nextConnection();
    assert.deepEqual(await movedAgain, { reason: 'shutdown', outcome: 'graceful', overlapMs: 0, attempts: 1 });
    assert.deepEqual(c.events, ['open', 'move graceful', 'move graceful']);
  }));

// The held connection's close is the only sign that close() ended it: the timeout bounds a client that would not.
test('close() three times during a move closes both connections and reports no move', { timeout: 10_000 }, () =>
  withClient({}, async (c) => {
    const held = await c.moveHeld();
    const heldClosed = held.destroyed ? Promise.resolve() : once(held, 'close');
    const closed = nextClose(c.client);
    await Promise.all([c.client.close(), c.client.close()]);
    await c.client.close();
    assert.deepEqual(await c.first.closed, { code: 1000, reason: 'client closed' });
    assert.deepEqual(await closed, { code: 1000, reason: 'client closed', willReconnect: false });
    await heldClosed;
    assert.equal(c.client.state, 'stopped');
    assert.deepEqual(c.events, ['open', 'close 1000']);
  }),
);
