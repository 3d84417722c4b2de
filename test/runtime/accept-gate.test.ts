import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { checkAcceptLimit, limitAccepts } from '../../runtime/accept-gate.js';
import { openClient, refusedUpgrade, startProxyFixture } from './proxy-support.js';

/** An HTTP server answering 200 `ok`, limited to `burst` connections then `ratePerSecond` on a hand-driven clock. */
async function limitedServer(limit: {
  ratePerSecond: number;
  burst: number;
}): Promise<{ server: Server; port: number; shed: () => number; advance(ms: number): void; parsed: () => number }> {
  let clock = 0;
  let shed = 0;
  let parsed = 0;
  const server = createServer((_req, res) => {
    parsed++;
    res.end('ok');
  });
  limitAccepts(
    server,
    limit,
    () => shed++,
    () => clock,
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    shed: () => shed,
    advance: (ms) => (clock += ms),
    parsed: () => parsed,
  };
}

/** Sends one GET on `socket`: the status of its response, or `closed` when the socket closes without one. */
function get(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? NaN);
      if (head >= 0 && text.length >= head + 4 + length) {
        socket.off('data', onData);
        socket.off('close', onClose);
        resolve(text.split(' ')[1]!);
      }
    };
    const onClose = (): void => resolve('closed');
    if (socket.closed) return onClose();
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

test('connections beyond the burst are closed before a byte is read; the bucket refills at the rate; open connections are never limited', async () => {
  const s = await limitedServer({ ratePerSecond: 2, burst: 3 });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 5; i++) sockets.push(await open(s.port));
    assert.deepEqual(await Promise.all(sockets.map(get)), ['200', '200', '200', 'closed', 'closed']);
    assert.equal(s.shed(), 2);
    assert.equal(s.parsed(), 3, 'shed connections never reached the HTTP parser');
    // An admitted (keep-alive) connection keeps being served with the bucket empty.
    assert.equal(await get(sockets[0]!), '200');
    // Half a second at 2/s: one more connection.
    s.advance(500);
    const [next, after] = [await open(s.port), await open(s.port)];
    sockets.push(next, after);
    assert.deepEqual([await get(next), await get(after)], ['200', 'closed']);
    // A long quiet spell refills no more than the burst.
    s.advance(60_000);
    const burst = await Promise.all(Array.from({ length: 4 }, () => open(s.port)));
    sockets.push(...burst);
    assert.deepEqual(await Promise.all(burst.map(get)), ['200', '200', '200', 'closed']);
  } finally {
    for (const socket of sockets) socket.destroy();
    s.server.closeAllConnections();
    s.server.close();
  }
});

test('a proxy with an accept limit closes the upgrades beyond it unanswered, and counts them', async () => {
  const registry = new Registry();
  const f = await startProxyFixture({ options: { acceptLimit: { ratePerSecond: 0.001, burst: 1 }, registry } });
  try {
    const first = await openClient(f.url({ userID: 'u1' }));
    first.close();
    await assert.rejects(refusedUpgrade(f.proxy.port, '/ws?userID=u2'), /socket hang up|ECONNRESET|EPIPE/);
    const routes = await registry.getSingleMetric('imring_proxy_routes_total')?.get();
    assert.equal(routes?.values.find((v) => v.labels.result === 'shed')?.value, 1);
  } finally {
    await f.close();
  }
});

test('bad limits throw naming the field', () => {
  assert.throws(() => checkAcceptLimit({ ratePerSecond: 0, burst: 1 }, 'acceptLimit'), /acceptLimit.ratePerSecond/);
  assert.throws(
    () => checkAcceptLimit({ ratePerSecond: Infinity, burst: 1 }, 'acceptLimit'),
    /acceptLimit.ratePerSecond/,
  );
  assert.throws(() => checkAcceptLimit({ ratePerSecond: 1, burst: 0.5 }, 'acceptLimit'), /acceptLimit.burst/);
});
