import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { CloseCodes } from '../../ring/index.js';
import type { DeliverResponse, KickResponse, OnlineResponse } from '../../runtime/protos.js';
import { connectClient, grpcClient, metricValue, sign, startTestGateway, upgradeStatus } from './gateway-fixture.js';

test('clients with a good token connect (query or Bearer); bad tokens are closed with 4401', async () => {
  const t = await startTestGateway();
  try {
    const good = await connectClient(t.gw, { userID: 'alice' });
    const bearer = await connectClient(t.gw, { userID: 'bob', bearer: true });
    const refused = await Promise.all([
      connectClient(t.gw, { userID: 'carol', token: await sign('carol', { expiresInSeconds: -60 }) }),
      connectClient(t.gw, { userID: 'carol', token: await sign('carol', { secret: 'forged' }) }),
      connectClient(t.gw, { userID: 'carol', token: await sign('alice') }),
      connectClient(t.gw, { userID: 'carol', token: null }),
    ]);
    for (const client of refused)
      assert.deepEqual(await client.closed, { code: CloseCodes.unauthorized, reason: 'unauthorized' });
    assert.equal(t.gw.stats().connections, 2);
    assert.equal(await metricValue(t.registry, 'imring_gateway_auth_failures_total', { reason: 'expired' }), 1);
    assert.equal(await metricValue(t.registry, 'imring_gateway_auth_failures_total', { reason: 'invalid' }), 1);
    assert.equal(await metricValue(t.registry, 'imring_gateway_auth_failures_total', { reason: 'other_user' }), 1);
    assert.equal(await metricValue(t.registry, 'imring_gateway_auth_failures_total', { reason: 'missing' }), 1);
    assert.equal(await metricValue(t.registry, 'imring_gateway_closes_total', { code: '4401' }), 4);
    assert.equal(await metricValue(t.registry, 'imring_gateway_connections'), 2);
    good.ws.close();
    bearer.ws.close();
    await Promise.all([good.closed, bearer.closed]);
  } finally {
    await t.close();
  }
});

test('upgrades without userID or platform get 400, other paths 404, before upgrading', async () => {
  const t = await startTestGateway();
  try {
    assert.equal(await upgradeStatus(t.gw.ports.ws, '/ws?platform=web'), 400);
    assert.equal(await upgradeStatus(t.gw.ports.ws, '/ws?userID=u1'), 400);
    assert.equal(await upgradeStatus(t.gw.ports.ws, '/chat?userID=u1&platform=web'), 404);
  } finally {
    await t.close();
  }
});

test('a connection replaced by one with its own clientID is told so (4003, replaced by this client); by another, replaced', async () => {
  const t = await startTestGateway();
  try {
    const first = await connectClient(t.gw, { userID: 'bob', clientID: 'c-1' });
    await connectClient(t.gw, { userID: 'bob', clientID: 'c-1' });
    assert.deepEqual(await first.closed, { code: CloseCodes.replaced, reason: 'replaced by this client' });
    const other = await connectClient(t.gw, { userID: 'carol', clientID: 'c-2' });
    await connectClient(t.gw, { userID: 'carol', clientID: 'c-3' });
    assert.deepEqual(await other.closed, { code: CloseCodes.replaced, reason: 'replaced' });
    const malformed = await connectClient(t.gw, { userID: 'dave', clientID: 'not valid!' });
    await connectClient(t.gw, { userID: 'dave', clientID: 'not valid!' });
    assert.deepEqual(
      await malformed.closed,
      { code: CloseCodes.replaced, reason: 'replaced' },
      'a malformed ID is none',
    );
  } finally {
    await t.close();
  }
});

test('a second connection on the same platform closes the first with 4003; other platforms stay', async () => {
  const t = await startTestGateway();
  const rpc = grpcClient(t.gw);
  try {
    const first = await connectClient(t.gw, { userID: 'alice', platform: 'web' });
    const ios = await connectClient(t.gw, { userID: 'alice', platform: 'ios' });
    const second = await connectClient(t.gw, { userID: 'alice', platform: 'web' });
    assert.deepEqual(await first.closed, { code: CloseCodes.replaced, reason: 'replaced' });
    assert.equal(t.gw.stats().connections, 2);
    const online = await rpc.call<OnlineResponse>('Online', { userIds: ['alice', 'nobody'] });
    assert.deepEqual(
      online.users.map((u) => ({ ...u, platforms: [...u.platforms].sort() })),
      [
        { userId: 'alice', connections: 2, platforms: ['ios', 'web'] },
        { userId: 'nobody', connections: 0, platforms: [] },
      ],
    );
    const kicked = await rpc.call<KickResponse>('Kick', { userId: 'alice' });
    assert.equal(kicked.closed, 2);
    assert.deepEqual(await second.closed, { code: 1000, reason: 'kicked' });
    assert.deepEqual(await ios.closed, { code: 1000, reason: 'kicked' });
    assert.equal(t.gw.stats().connections, 0);
  } finally {
    rpc.close();
    await t.close();
  }
});

test('Deliver writes one text frame per connection and answers DELIVERED with counts and platforms, or NOT_HERE', async () => {
  const t = await startTestGateway();
  const rpc = grpcClient(t.gw);
  try {
    const web = await connectClient(t.gw, { userID: 'alice', platform: 'web' });
    const ios = await connectClient(t.gw, { userID: 'alice', platform: 'ios' });
    const bob = await connectClient(t.gw, { userID: 'bob' });
    const response = await rpc.deliver({
      ringVersion: 1,
      messages: [
        { msgId: 'm1', userIds: ['alice', 'zed', 'bob'], payload: 'hello ✓' },
        { msgId: 'm2', userIds: ['bob'], payload: '{"x":1}' },
      ],
    });
    assert.deepEqual(response, {
      batchId: 0,
      ringVersion: 1,
      results: [
        { msgId: 'm1', userId: 'alice', status: 'DELIVERED', connections: 2, platforms: ['ios', 'web'] },
        { msgId: 'm1', userId: 'zed', status: 'NOT_HERE', connections: 0, platforms: [] },
        { msgId: 'm1', userId: 'bob', status: 'DELIVERED', connections: 1, platforms: ['web'] },
        { msgId: 'm2', userId: 'bob', status: 'DELIVERED', connections: 1, platforms: ['web'] },
      ],
      // alice is im-1's in the default ring (the fake clock stands still, so she is not moved yet).
      misplaced: 2,
    });
    await Promise.all([web.received(1), ios.received(1), bob.received(2)]);
    assert.deepEqual(web.messages, [{ type: 'message', msgID: 'm1', payload: 'hello ✓' }]);
    assert.deepEqual(ios.messages, web.messages);
    assert.deepEqual(bob.messages, [
      { type: 'message', msgID: 'm1', payload: 'hello ✓' },
      { type: 'message', msgID: 'm2', payload: '{"x":1}' },
    ]);
    assert.equal(await metricValue(t.registry, 'imring_gateway_deliveries_total', { result: 'delivered' }), 3);
    assert.equal(await metricValue(t.registry, 'imring_gateway_deliveries_total', { result: 'not_here' }), 1);
  } finally {
    rpc.close();
    await t.close();
  }
});

test('DeliverStream answers each batch with its batchId', async () => {
  const t = await startTestGateway();
  const rpc = grpcClient(t.gw);
  try {
    await connectClient(t.gw, { userID: 'alice' });
    const stream = rpc.stream();
    const responses: DeliverResponse[] = [];
    stream.on('data', (r: DeliverResponse) => responses.push(r));
    const ended = once(stream, 'end');
    for (const batchId of [11, 12, 13])
      stream.write({
        batchId,
        ringVersion: 1,
        messages: [{ msgId: `m${batchId}`, userIds: batchId === 12 ? ['bob'] : ['alice'], payload: 'p' }],
      });
    stream.end();
    await ended;
    assert.deepEqual(
      responses.map((r) => [r.batchId, r.results.map((x) => `${x.msgId}:${x.userId}:${x.status}:${x.connections}`)]),
      [
        [11, ['m11:alice:DELIVERED:1']],
        [12, ['m12:bob:NOT_HERE:0']],
        [13, ['m13:alice:DELIVERED:1']],
      ],
    );
  } finally {
    rpc.close();
    await t.close();
  }
});

test('a client frame over maxPayloadBytes closes that connection with 1009', async () => {
  const t = await startTestGateway({ maxPayloadBytes: 1024 });
  try {
    const client = await connectClient(t.gw, { userID: 'alice' });
    client.ws.send('x'.repeat(1024));
    client.ws.send('x'.repeat(1025));
    assert.equal((await client.closed).code, CloseCodes.tooBig);
    assert.equal(await metricValue(t.registry, 'imring_gateway_closes_total', { code: '1009' }), 1);
    assert.equal(t.gw.stats().connections, 0);
  } finally {
    await t.close();
  }
});

test('a reader that stops reading is closed with 4008 while another keeps receiving', async () => {
  const t = await startTestGateway({ maxSendBufferBytes: 64 * 1024 });
  const rpc = grpcClient(t.gw);
  try {
    const slow = await connectClient(t.gw, { userID: 'slow' });
    const fast = await connectClient(t.gw, { userID: 'fast' });
    (slow.ws as any)._socket.pause();
    const payload = 'p'.repeat(256 * 1024);
    let sent = 0;
    let slowStatus = 'DELIVERED';
    // Kernel buffers take a few MB first; bounded so a broken build fails instead of hanging.
    while (slowStatus === 'DELIVERED' && sent < 400) {
      const response = await rpc.deliver({ messages: [{ msgId: `m${sent}`, userIds: ['slow', 'fast'], payload }] });
      assert.equal(response.results[1]!.status, 'DELIVERED');
      slowStatus = response.results[0]!.status;
      sent++;
      await fast.received(sent);
    }
    assert.equal(slowStatus, 'NOT_HERE');
    assert.equal(t.gw.stats().connections, 1);
    const after = await rpc.deliver({ messages: [{ msgId: 'after', userIds: ['slow', 'fast'], payload: 'small' }] });
    assert.deepEqual(
      after.results.map((r) => r.status),
      ['NOT_HERE', 'DELIVERED'],
    );
    await fast.received(sent + 1);
    (slow.ws as any)._socket.resume();
    assert.equal((await slow.closed).code, CloseCodes.tooSlow);
    assert.ok(slow.messages.length < sent, 'the message that overflowed was not delivered');
    assert.equal(await metricValue(t.registry, 'imring_gateway_closes_total', { code: '4008' }), 1);
  } finally {
    rpc.close();
    await t.close();
  }
});

test('upgrades beyond maxConnections are refused with 503', async () => {
  const t = await startTestGateway({ maxConnections: 2 });
  try {
    await connectClient(t.gw, { userID: 'a' });
    await connectClient(t.gw, { userID: 'b' });
    assert.equal(await upgradeStatus(t.gw.ports.ws, '/ws?userID=c&platform=web'), 503);
    assert.equal(t.gw.stats().connections, 2);
  } finally {
    await t.close();
  }
});

test('close() three times stops both servers and leaves no socket open', async () => {
  const t = await startTestGateway();
  const rpc = grpcClient(t.gw);
  const clients = await Promise.all(['a', 'b', 'c'].map((userID) => connectClient(t.gw, { userID })));
  await rpc.call('Online', { userIds: ['a'] });
  rpc.close();
  await Promise.all([t.close(), t.close()]);
  await t.close();
  for (const client of clients) assert.equal((await client.closed).code, 1006);
  assert.equal(t.gw.stats().connections, 0);
  assert.equal(t.gw.ready(), false);
  for (const port of [t.gw.ports.ws, t.gw.ports.grpc]) {
    const socket = tcpConnect(port, '127.0.0.1');
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');
  }
});

test('a connection that does not answer a ping by the next one is terminated; answering ones stay', async () => {
  const t = await startTestGateway({ pingIntervalMs: 30 });
  try {
    const answering = await connectClient(t.gw, { userID: 'alive' });
    // A hand-made client: upgrades and reads, but never answers a ping.
    const silent = tcpConnect(t.gw.ports.ws, '127.0.0.1');
    await once(silent, 'connect');
    const token = await sign('silent');
    silent.write(
      `GET /ws?userID=silent&platform=web&token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    const [head] = (await once(silent, 'data')) as [Buffer];
    assert.match(head.toString('latin1'), /^HTTP\/1\.1 101 /);
    silent.on('data', () => undefined);
    await once(silent, 'close');
    assert.equal(await metricValue(t.registry, 'imring_gateway_closes_total', { code: '1006' }), 1);
    assert.equal(t.gw.stats().connections, 1);
    assert.ok(answering.ws.readyState === answering.ws.OPEN);
  } finally {
    await t.close();
  }
});
