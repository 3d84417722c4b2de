import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CloseCodes } from '../../ring/index.js';
import { ImringClient } from '../../client/index.js';
import { startFakeWsGateway } from './fake-ws-gateway.js';
import { FakeTimers, newClient, nextClose, wsUrl } from './client-support.js';
import { refusingPort } from './proxy-support.js';

test('messages arrive as events and through the async iterator; other frames are skipped', async () => {
  const gateway = await startFakeWsGateway({ echo: false });
  const client = newClient(`${wsUrl(gateway)}?extra=1`, new FakeTimers());
  const errors: Error[] = [];
  client.on('error', (error: Error) => errors.push(error));
  const events: unknown[] = [];
  client.on('message', (message) => events.push(message));
  try {
    const iterator = client.messages();
    const opened = once(client, 'open');
    client.connect();
    assert.equal(client.state, 'connecting');
    const connection = await gateway.nextConnection();
    await opened;
    assert.equal(client.state, 'open');
    assert.match(
      connection.url,
      /^\/ws\?extra=1&userID=u1&platform=ios&token=t0k&migrate=graceful&clientID=[\w-]{36}$/,
    );
    connection.socket.send(JSON.stringify({ type: 'presence', who: 'u2' }));
    connection.socket.send('not json');
    connection.socket.send(Buffer.from('binary is ignored'), { binary: true });
    gateway.sendMessage(connection, { msgID: 'm1', payload: 'hello' });
    gateway.sendMessage(connection, { msgID: 'm2', payload: '{"nested":true}' });
    const received = [];
    for await (const message of iterator) {
      received.push(message);
      if (received.length === 2) break;
    }
    assert.deepEqual(received, [
      { msgID: 'm1', payload: 'hello' },
      { msgID: 'm2', payload: '{"nested":true}' },
    ]);
    assert.deepEqual(events, received);
    assert.deepEqual(
      errors.map((e) => e.message),
      ['a frame is not JSON'],
    );
  } finally {
    await client.close();
    await gateway.close();
  }
});

test('close() three times closes the socket with 1000, stops, and ends the iterators', async () => {
  const gateway = await startFakeWsGateway();
  const client = newClient(wsUrl(gateway), new FakeTimers());
  try {
    const iterator = client.messages();
    const pending = iterator.next();
    client.connect();
    const connection = await gateway.nextConnection();
    await once(client, 'open');
    const closed = nextClose(client);
    await Promise.all([client.close(), client.close()]);
    await client.close();
    assert.deepEqual(await closed, { code: 1000, reason: 'client closed', willReconnect: false });
    assert.deepEqual(await connection.closed, { code: 1000, reason: 'client closed' });
    assert.equal(client.state, 'stopped');
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.deepEqual(
      await client.messages().next(),
      { value: undefined, done: true },
      'a stopped client yields nothing',
    );
  } finally {
    await gateway.close();
  }
});

for (const code of [CloseCodes.moved, CloseCodes.shuttingDown]) {
  test(`close code ${code} reconnects at once (within the small jitter), without backing off`, async () => {
    const gateway = await startFakeWsGateway();
    const timers = new FakeTimers();
    const client = newClient(wsUrl(gateway), timers);
    try {
      client.connect();
      for (let round = 0; round < 3; round++) {
        const connection = await gateway.nextConnection();
        if (client.state !== 'open') await once(client, 'open');
        const closed = nextClose(client);
        connection.socket.close(code, 'go');
        assert.deepEqual(await closed, { code, reason: 'go', willReconnect: true, delayMs: 50 });
        assert.equal(client.state, 'reconnecting');
        const timer = await timers.next();
        assert.equal(timer.ms, 50, 'immediateMaxMs 100 × random 0.5, every time');
        timers.fire(timer);
      }
      await gateway.nextConnection();
      assert.equal(gateway.connections.length, 4);
    } finally {
      await client.close();
      await gateway.close();
    }
  });
}

test('failed attempts back off exponentially with jitter, capped at maxMs', async () => {
  const port = await refusingPort();
  const sequence = async (random: () => number): Promise<number[]> => {
    const timers = new FakeTimers();
    const client = newClient(`ws://127.0.0.1:${port}/ws`, timers, { random });
    const delays: number[] = [];
    client.connect();
    for (let i = 0; i < 6; i++) {
      const timer = await timers.next();
      delays.push(timer.ms);
      timers.fire(timer);
    }
    await client.close();
    return delays;
  };
  assert.deepEqual(await sequence(() => 0.5), [500, 1_000, 2_000, 4_000, 4_000, 4_000]);
  assert.deepEqual(await sequence(() => 0), [400, 800, 1_600, 3_200, 3_200, 3_200], 'jitter 0.2: down to 0.8×');
  assert.deepEqual(await sequence(() => 0.999_999), [600, 1_200, 2_400, 4_800, 4_800, 4_800], 'and up to 1.2×');
});

test('an abnormal drop backs off, and a connection that stays open resets the backoff', async () => {
  const gateway = await startFakeWsGateway();
  const timers = new FakeTimers();
  const client = newClient(wsUrl(gateway), timers);
  const drop = async (): Promise<number> => {
    const connection = await gateway.nextConnection();
    if (client.state !== 'open') await once(client, 'open');
    const closed = nextClose(client);
    connection.socket.terminate();
    const event = await closed;
    assert.equal(event.code, 1006);
    assert.equal(event.willReconnect, true);
    const timer = await timers.next();
    timers.fire(timer);
    return timer.ms;
  };
  try {
    client.connect();
    assert.deepEqual(
      [await drop(), await drop(), await drop()],
      [500, 1_000, 2_000],
      'short-lived connections keep backing off',
    );
    const connection = await gateway.nextConnection();
    if (client.state !== 'open') await once(client, 'open');
    timers.fireStable();
    const closed = nextClose(client);
    connection.socket.terminate();
    await closed;
    assert.equal((await timers.next()).ms, 500, 'after staying open, the next delay starts from baseMs');
  } finally {
    await client.close();
    await gateway.close();
  }
});

for (const [name, code] of [
  ['4401 unauthorized', CloseCodes.unauthorized],
  ['4003 replaced', CloseCodes.replaced],
] as const) {
  test(`close code ${name} stops the client for good`, async () => {
    const gateway = await startFakeWsGateway();
    const timers = new FakeTimers();
    const client = newClient(wsUrl(gateway), timers);
    try {
      const iterator = client.messages();
      client.connect();
      const connection = await gateway.nextConnection();
      await once(client, 'open');
      const closed = nextClose(client);
      connection.socket.close(code, 'no');
      assert.deepEqual(await closed, { code, reason: 'no', willReconnect: false });
      assert.equal(client.state, 'stopped');
      assert.deepEqual(timers.pending(), [], 'no reconnect is scheduled');
      assert.deepEqual(await iterator.next(), { value: undefined, done: true });
      await client.close();
    } finally {
      await gateway.close();
    }
  });
}

test("an HTTP 401 to the upgrade (the proxy's early token check) stops the client too", async () => {
  const gateway = await startFakeWsGateway({ refuseStatus: 401 });
  const timers = new FakeTimers();
  const client = newClient(wsUrl(gateway), timers);
  const errors: Error[] = [];
  client.on('error', (error: Error) => errors.push(error));
  try {
    const closed = nextClose(client);
    client.connect();
    assert.deepEqual(await closed, { code: 1006, reason: 'HTTP 401', willReconnect: false });
    assert.equal(client.state, 'stopped');
    assert.deepEqual(timers.pending(), []);
    assert.match(errors[0]?.message ?? '', /HTTP 401/);
  } finally {
    await client.close();
    await gateway.close();
  }
});

test('a token function is asked before every attempt', async () => {
  const gateway = await startFakeWsGateway();
  const timers = new FakeTimers();
  let n = 0;
  const client = newClient(wsUrl(gateway), timers, { token: () => Promise.resolve(`tok-${++n}`) });
  try {
    client.connect();
    const first = await gateway.nextConnection();
    first.socket.close(CloseCodes.moved, 'moved');
    timers.fire(await timers.next());
    const second = await gateway.nextConnection();
    assert.deepEqual(
      [first.url, second.url].map((u) => new URL(u, 'http://x').searchParams.get('token')),
      ['tok-1', 'tok-2'],
    );
  } finally {
    await client.close();
    await gateway.close();
  }
});

test('close() while reconnecting cancels the pending attempt', async () => {
  const port = await refusingPort();
  const timers = new FakeTimers();
  const client = newClient(`ws://127.0.0.1:${port}/ws`, timers);
  client.connect();
  const timer = await timers.next();
  assert.equal(client.state, 'reconnecting');
  await client.close();
  await client.close();
  await client.close();
  assert.equal(timer.cleared, true);
  assert.equal(client.state, 'stopped');
});

test('bad options throw naming the option', () => {
  const base = { url: 'ws://127.0.0.1:1/ws', userID: 'u', platform: 'p', token: 't' };
  assert.throws(() => new ImringClient({ ...base, url: 'http://x/ws' }), /url/);
  assert.throws(() => new ImringClient({ ...base, userID: '' }), /userID/);
  assert.throws(() => new ImringClient({ ...base, token: '' }), /token/);
  assert.throws(() => new ImringClient({ ...base, reconnect: { baseMs: -1 } }), /reconnect.baseMs/);
  assert.throws(() => new ImringClient({ ...base, reconnect: { baseMs: 10, maxMs: 5 } }), /reconnect.maxMs/);
  assert.throws(() => new ImringClient({ ...base, reconnect: { jitter: 2 } }), /reconnect.jitter/);
  assert.throws(() => new ImringClient({ ...base, maxQueuedMessages: 0 }), /maxQueuedMessages/);
  assert.throws(() => new ImringClient({ ...base, migrate: 'soft' as 'hard' }), /migrate/);
});
