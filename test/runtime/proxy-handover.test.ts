/**
 * A proxy's planned stop (`handOver()`): behind a Service, its clients move to another replica
 * without noticing. The Service here is a TCP front that sends new connections to the first proxy,
 * then (as endpoints change when a pod terminates) to the second.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { ImringClient } from '../../client/index.js';
import { CloseCodes } from '../../ring/index.js';
import { startProxy } from '../../runtime/proxy/index.js';
import { nextMove } from './client-support.js';
import { startProxyFixture, userOwnedBy } from './proxy-support.js';

/** A TCP front forwarding each new connection to `target()`'s port. */
async function serviceFront(target: () => number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const upstream = createConnection(target(), '127.0.0.1');
    for (const [a, b] of [
      [socket, upstream],
      [upstream, socket],
    ] as const) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('a proxy handing over: a graceful client gets migrate between two frames, moves to the other replica make-before-break, and misses nothing', async () => {
  const f = await startProxyFixture({ gateways: 1 });
  const second = await startProxy({ host: '127.0.0.1', port: 0, ringSource: f.source, registry: new Registry() });
  let target = f.proxy.port;
  const front = await serviceFront(() => target);
  const userID = userOwnedBy(f.ring, 'im-0');
  const client = new ImringClient({ url: `ws://127.0.0.1:${front.port}/ws`, userID, platform: 'web', token: 't' });
  const received: string[] = [];
  client.on('message', (m: { msgID: string }) => received.push(m.msgID));
  const closes: number[] = [];
  client.on('close', (event: { code: number }) => closes.push(event.code));
  try {
    client.connect();
    const first = await f.gateways[0]!.nextConnection();
    if (client.state !== 'open') await once(client, 'open');
    // Frames big enough to arrive in pieces, so the migrate frame must wait for a frame's end.
    const big = 'x'.repeat(200_000);
    for (let i = 0; i < 20; i++) f.gateways[0]!.sendMessage(first, { msgID: `a${i}`, payload: big });
    target = second.port; // the terminating pod left the Service's endpoints
    const moved = nextMove(client);
    const handedOver = f.proxy.handOver();
    assert.equal(f.proxy.ready(), false, 'a proxy handing over is not ready');
    const next = await f.gateways[0]!.nextConnection();
    const move = await moved;
    assert.equal(move.outcome, 'graceful');
    assert.equal(move.reason, 'shutdown');
    assert.deepEqual(await first.closed, { code: 1000, reason: 'moved' });
    await handedOver;
    f.gateways[0]!.sendMessage(next, { msgID: 'b0', payload: 'after' });
    while (!received.includes('b0')) await once(client, 'message');
    assert.deepEqual(
      received,
      [...Array.from({ length: 20 }, (_, i) => `a${i}`), 'b0'],
      'every frame, intact, in order',
    );
    assert.deepEqual(closes, [], 'the client never saw its connection close');
  } finally {
    await client.close();
    await front.close();
    await second.close();
    await f.close();
  }
});

test('a proxy handing over closes a client that did not opt in with 4002, and it is refused new upgrades', async () => {
  const f = await startProxyFixture({ gateways: 1 });
  try {
    const userID = userOwnedBy(f.ring, 'im-0');
    const ws = new WebSocket(f.url({ userID, platform: 'web', token: 't' }));
    await once(ws, 'open');
    const connection = await f.gateways[0]!.nextConnection();
    f.gateways[0]!.sendMessage(connection, { msgID: 'm1', payload: 'y'.repeat(100_000) });
    const frames: string[] = [];
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()).msgID as string));
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    await f.proxy.handOver();
    const [code, reason] = await closed;
    assert.equal(code, CloseCodes.shuttingDown);
    assert.equal(reason.toString(), 'proxy shutting down');
    assert.deepEqual(frames, ['m1'], 'the frame in flight arrived whole before the close');
    const late = new WebSocket(f.url({ userID, platform: 'web', token: 't' }));
    const [error] = (await once(late, 'error')) as [Error];
    assert.match(error.message, /ECONNREFUSED|socket hang up/);
  } finally {
    await f.close();
  }
});
