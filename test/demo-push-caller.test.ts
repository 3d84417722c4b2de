import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { PushCaller } from '../cli/demo/push-caller.js';

/** A JSON echo server; `drop(n)` decides whether the n-th request (from 1) is cut off unanswered. */
async function server(
  drop: (n: number, reused: boolean) => boolean,
): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let connections = 0;
  const perSocket = new WeakMap<object, number>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests += 1;
    const onSocket = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, onSocket);
    req.resume();
    req.once('end', () => {
      // Closed unanswered, as a server closing an idle connection the moment the request arrived.
      if (drop(requests, onSocket > 1)) req.socket.destroy();
      else res.setHeader('content-type', 'application/json').end(JSON.stringify({ n: requests }));
    });
  };
  const http: Server = createServer({ keepAlive: true }, handler);
  http.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/push`,
    connections: () => connections,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

test('a request cut off on a reused keep-alive connection is sent once more, on a new connection', async () => {
  const s = await server((n, reused) => n === 2 && reused);
  const caller = new PushCaller();
  try {
    assert.deepEqual(await caller.post(s.url, { m: 1 }), { status: 200, body: { n: 1 } });
    assert.deepEqual(await caller.post(s.url, { m: 2 }), { status: 200, body: { n: 3 } });
    assert.equal(caller.retried, 1);
    assert.equal(s.connections(), 2, 'the retry opened a new connection');
  } finally {
    caller.close();
    await s.close();
  }
});

test('a request cut off on a new connection is not sent again: the caller is told', async () => {
  const s = await server((n) => n === 1);
  const caller = new PushCaller();
  try {
    await assert.rejects(caller.post(s.url, { m: 1 }), { code: 'ECONNRESET' });
    assert.equal(caller.retried, 0);
    assert.deepEqual(await caller.post(s.url, { m: 2 }), { status: 200, body: { n: 2 } });
  } finally {
    caller.close();
    await s.close();
  }
});

test('a second cut-off of the same request is not retried again', async () => {
  const s = await server((n) => n >= 2);
  const caller = new PushCaller();
  try {
    await caller.post(s.url, {});
    await caller.post(s.url, {}).then(
      () => assert.fail('answered'),
      (error: NodeJS.ErrnoException) => assert.equal(error.code, 'ECONNRESET'),
    );
    assert.equal(caller.retried, 1);
  } finally {
    caller.close();
    await s.close();
  }
});
