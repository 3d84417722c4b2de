import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import { Ring } from '../../ring/index.js';
import { startProxy } from '../../runtime/proxy/index.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import {
  httpGet,
  localMember,
  nextFrame,
  openClient,
  refusedUpgrade,
  refusingPort,
  silentServer,
  startProxyFixture,
  userOwnedBy,
} from './proxy-support.js';

const SECRET = 'proxy-test-secret';

function token(sub: string, init: { secret?: string; expiresIn?: string } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(init.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(init.secret ?? SECRET));
}

test('each user is piped to its owner among three gateways, with the original request and X-Forwarded-For', async () => {
  const f = await startProxyFixture();
  try {
    for (const [i, member] of f.members.entries()) {
      const userID = userOwnedBy(f.ring, member.name);
      const arrived = f.gateways[i]!.nextConnection();
      const ws = await openClient(f.url({ userID, platform: 'ios', token: 'opaque' }), {
        'X-Trace': `t-${i}`,
        'X-Forwarded-For': '203.0.113.9',
      });
      const seen = await arrived;
      assert.equal(seen.url, `/ws?userID=${userID}&platform=ios&token=opaque`);
      assert.equal(seen.headers['x-trace'], `t-${i}`);
      assert.equal(
        seen.headers['x-forwarded-for'],
        '203.0.113.9, 127.0.0.1',
        'the client address is appended to earlier hops',
      );
      assert.equal(seen.headers.host, `127.0.0.1:${f.proxy.port}`, 'Host is forwarded as received');
      ws.close();
      await seen.closed;
    }
    assert.deepEqual(
      f.gateways.map((g) => g.connections.length),
      [1, 1, 1],
    );
  } finally {
    await f.close();
  }
});

test('frames flow both ways unchanged, and a gateway close code reaches the client', async () => {
  const f = await startProxyFixture();
  try {
    const userID = userOwnedBy(f.ring, 'im-1');
    const arrived = f.gateways[1]!.nextConnection();
    const ws = await openClient(f.url({ userID, platform: 'web' }));
    const gateway = await arrived;
    ws.send('héllo');
    assert.deepEqual(await nextFrame(ws), { data: Buffer.from('héllo'), isBinary: false });
    const binary = Buffer.from([0, 1, 2, 255, 254]);
    ws.send(binary);
    assert.deepEqual(await nextFrame(ws), { data: binary, isBinary: true });
    const big = 'x'.repeat(256 * 1024);
    ws.send(big);
    assert.equal((await nextFrame(ws)).data.toString(), big, 'a frame larger than a socket buffer arrives whole');
    f.gateways[1]!.sendMessage(gateway, { msgID: 'm1', payload: 'hi' });
    assert.deepEqual(JSON.parse((await nextFrame(ws)).data.toString()), {
      type: 'message',
      msgID: 'm1',
      payload: 'hi',
    });
    const closed = once(ws, 'close');
    gateway.socket.close(4001, 'moved');
    const [code, reason] = (await closed) as [number, Buffer];
    assert.equal(code, 4001);
    assert.equal(reason.toString(), 'moved');
    await f.proxy.idle();
  } finally {
    await f.close();
  }
});

test(
  'bytes sent right behind the request head (in the same packet) are forwarded too',
  { timeout: 10_000 },
  async () => {
    const f = await startProxyFixture({ gateways: 1 });
    const socket = connect({ host: '127.0.0.1', port: f.proxy.port });
    try {
      await once(socket, 'connect');
      const request =
        'GET /ws?userID=u1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
      // A masked text frame "hi" (RFC 6455 section 5.2) with an all-zero mask, written with the head.
      socket.write(Buffer.concat([Buffer.from(request), Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0x68, 0x69])]));
      let received = Buffer.alloc(0);
      const echo = Buffer.from([0x81, 0x02, 0x68, 0x69]);
      while (!received.includes(echo))
        received = Buffer.concat([received, ((await once(socket, 'data')) as [Buffer])[0]]);
      assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
    } finally {
      socket.destroy();
      await f.close();
    }
  },
);

test('while the ring is fenced (the Lease not renewed in time), upgrades get 503 with Retry-After and /readyz fails', async () => {
  const f = await startProxyFixture();
  try {
    f.source.fence('this runtime could not renew its Lease');
    const fenced = await refusedUpgrade(f.proxy.port, '/ws?userID=u1');
    assert.equal(fenced.status, 503);
    assert.equal(fenced.headers['retry-after'], '1');
    assert.match(fenced.body, /could not renew its Lease/);
    assert.equal((await httpGet(f.ops.port, '/readyz')).status, 503);
    assert.equal(f.proxy.ready(), false);
    f.source.fence(undefined);
    assert.equal((await httpGet(f.ops.port, '/readyz')).status, 200);
    const ws = await openClient(f.url({ userID: 'u1' }));
    ws.close();
  } finally {
    await f.close();
  }
});

test('without a ring, or with an empty one, upgrades get 503 with Retry-After and /readyz fails', async () => {
  const f = await startProxyFixture({ ring: 'none' });
  try {
    const none = await refusedUpgrade(f.proxy.port, '/ws?userID=u1');
    assert.equal(none.status, 503);
    assert.equal(none.headers['retry-after'], '1');
    assert.match(none.body, /no ring/);
    assert.equal((await httpGet(f.ops.port, '/readyz')).status, 503);
    assert.equal(f.proxy.ready(), false);

    f.source.set(new Ring({ members: [], version: 2 }));
    const empty = await refusedUpgrade(f.proxy.port, '/ws?userID=u1');
    assert.equal(empty.status, 503);
    assert.equal(empty.headers['retry-after'], '1');
    assert.equal((await httpGet(f.ops.port, '/readyz')).status, 503);

    f.source.set(f.ring);
    assert.equal((await httpGet(f.ops.port, '/readyz')).status, 200);
    assert.equal(f.proxy.ready(), true);
  } finally {
    await f.close();
  }
});

test('an owner whose port refuses, or that never answers, gets the client a 502', async () => {
  const hung = await silentServer();
  const refused = await refusingPort();
  const source = new StaticRingSource(new Ring({ members: [localMember('im-0', refused)], version: 1 }));
  const proxy = await startProxy({ host: '127.0.0.1', port: 0, ringSource: source, connectTimeoutMs: 200 });
  try {
    const refusal = await refusedUpgrade(proxy.port, '/ws?userID=u1');
    assert.equal(refusal.status, 502);
    assert.match(refusal.body, /did not answer/);

    source.set(new Ring({ members: [localMember('im-0', hung.port)], version: 2 }));
    const silent = await refusedUpgrade(proxy.port, '/ws?userID=u1');
    assert.equal(silent.status, 502, 'no first byte within connectTimeoutMs');
    await proxy.idle();
  } finally {
    await proxy.close();
    await hung.close();
  }
});

test('a request without userID gets 400, another path 404; the ops server alone serves health', async () => {
  const f = await startProxyFixture();
  try {
    assert.equal((await refusedUpgrade(f.proxy.port, '/ws?platform=ios')).status, 400);
    assert.equal((await refusedUpgrade(f.proxy.port, '/ws?userID=')).status, 400);
    assert.equal(
      (await refusedUpgrade(f.proxy.port, '/ws?userID=a&userID=b')).status,
      400,
      'a repeated userID is ambiguous',
    );
    assert.equal((await refusedUpgrade(f.proxy.port, '/other?userID=u1')).status, 404);
    assert.deepEqual(await httpGet(f.ops.port, '/healthz'), { status: 200, body: 'ok' });
    assert.equal((await httpGet(f.proxy.port, '/healthz')).status, 404, 'the client port serves /ws only');
    assert.equal((await httpGet(f.proxy.port, '/nothing')).status, 404);
    assert.equal(f.proxy.connections(), 0);
    const metrics = (await httpGet(f.ops.port, '/metrics')).body;
    assert.match(metrics, /imring_proxy_routes_total\{result="bad_request",owner=""\} 4/);
  } finally {
    await f.close();
  }
});

test('with tokenSecret, bad tokens get 401 before any gateway is dialled; a good one is piped', async () => {
  const f = await startProxyFixture({ options: { tokenSecret: SECRET } });
  try {
    const userID = userOwnedBy(f.ring, 'im-0');
    const cases: Array<{ name: string; query: Record<string, string>; body: RegExp }> = [
      { name: 'missing', query: { userID }, body: /token is required/ },
      { name: 'garbage', query: { userID, token: 'not-a-jwt' }, body: /invalid/ },
      { name: 'other key', query: { userID, token: await token(userID, { secret: 'wrong' }) }, body: /invalid/ },
      { name: 'other user', query: { userID, token: await token('someone-else') }, body: /another user/ },
      { name: 'expired', query: { userID, token: await token(userID, { expiresIn: '-1m' }) }, body: /expired/ },
    ];
    for (const c of cases) {
      const refusal = await refusedUpgrade(f.proxy.port, `/ws?${new URLSearchParams(c.query).toString()}`);
      assert.equal(refusal.status, 401, c.name);
      assert.match(refusal.body, c.body, c.name);
    }
    assert.equal(f.gateways[0]!.connections.length, 0);
    const good = await token(userID);
    const viaQuery = await openClient(f.url({ userID, token: good }));
    const viaHeader = await openClient(f.url({ userID }), { Authorization: `Bearer ${good}` });
    assert.equal(f.gateways[0]!.connections.length, 2);
    viaQuery.close();
    viaHeader.close();
    await Promise.all(f.gateways[0]!.connections.map((c) => c.closed));
  } finally {
    await f.close();
  }
});

test('after a ring change new connections follow the new ring while piped ones stay', async () => {
  const f = await startProxyFixture({ gateways: 2 });
  try {
    const first = new Ring({ members: [f.members[0]!], version: 1 });
    const second = new Ring({ members: [f.members[1]!], version: 2 });
    f.source.set(first);
    const old = await openClient(f.url({ userID: 'u1' }));
    assert.equal(f.gateways[0]!.connections.length, 1);

    f.source.set(second);
    const fresh = await openClient(f.url({ userID: 'u1' }));
    assert.equal(f.gateways[1]!.connections.length, 1, 'the new owner got the new connection');
    old.send('still here');
    assert.equal((await nextFrame(old)).data.toString(), 'still here', 'the old pipe still works');
    assert.equal(f.proxy.connections(), 2);
    old.close();
    fresh.close();
    await f.proxy.idle();
  } finally {
    await f.close();
  }
});

test('connections are counted while piped and released once both sides close', async () => {
  const f = await startProxyFixture();
  try {
    const users = f.members.map((m) => userOwnedBy(f.ring, m.name));
    const clients = await Promise.all(users.map((userID) => openClient(f.url({ userID }))));
    assert.equal(f.proxy.connections(), 3);
    assert.match((await httpGet(f.ops.port, '/metrics')).body, /imring_proxy_connections 3/);
    // One closed by the client, one by the gateway, one by a dropped TCP connection.
    clients[0]!.close();
    const gatewayClosed = once(clients[1]!, 'close');
    f.gateways[1]!.connections[0]!.socket.close(4002, 'shutting down');
    clients[2]!.terminate();
    await Promise.all([...f.gateways.map((g) => g.connections[0]!.closed), gatewayClosed]);
    await f.proxy.idle();
    const metrics = (await httpGet(f.ops.port, '/metrics')).body;
    assert.match(metrics, /imring_proxy_connections 0/);
    for (const m of f.members)
      assert.match(metrics, new RegExp(`imring_proxy_routes_total\\{result="ok",owner="${m.name}"\\} 1`));
    const upstream = Number(/imring_proxy_bytes_total\{direction="upstream"\} (\d+)/.exec(metrics)?.[1]);
    const downstream = Number(/imring_proxy_bytes_total\{direction="downstream"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(upstream > 3 * 150, `upstream bytes include the request heads (${upstream})`);
    assert.ok(downstream > 3 * 100, `downstream bytes include the 101 answers (${downstream})`);
  } finally {
    await f.close();
  }
});

test('beyond maxConnections upgrades get 503 with Retry-After until a connection ends', async () => {
  const f = await startProxyFixture({ gateways: 1, options: { maxConnections: 1 } });
  try {
    const first = await openClient(f.url({ userID: 'u1' }));
    const refusal = await refusedUpgrade(f.proxy.port, '/ws?userID=u2');
    assert.equal(refusal.status, 503);
    assert.equal(refusal.headers['retry-after'], '1');
    first.close();
    await f.proxy.idle();
    const second = await openClient(f.url({ userID: 'u2' }));
    second.close();
    await once(second, 'close');
  } finally {
    await f.close();
  }
});

test('close() three times closes piped connections on both sides', async () => {
  const f = await startProxyFixture();
  try {
    const users = f.members.map((m) => userOwnedBy(f.ring, m.name));
    const clients = await Promise.all(users.map((userID) => openClient(f.url({ userID }))));
    const clientsClosed = clients.map((ws) => once(ws, 'close'));
    await Promise.all([f.proxy.close(), f.proxy.close()]);
    await f.proxy.close();
    await Promise.all(clientsClosed);
    await Promise.all(f.gateways.map((g) => g.connections[0]!.closed));
    assert.equal(f.proxy.connections(), 0);
    assert.equal(f.proxy.ready(), false);
    await assert.rejects(httpGet(f.proxy.port, '/ws'));
  } finally {
    await f.close();
  }
});
