import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startHarness } from './fake-gateway.js';

/** A local webhook that answers each request with `respond(n)` (n = 1, 2, …), recording bodies. */
async function startWebhook(
  respond: (n: number, res: ServerResponse) => void,
): Promise<{ url: string; bodies: unknown[]; received(count: number): Promise<void>; close(): Promise<void> }> {
  const bodies: unknown[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      for (const waiter of waiters.filter((w) => bodies.length >= w.count)) waiter.resolve();
      respond(bodies.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/offline`,
    bodies,
    received: (count) =>
      bodies.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

test('offline results are POSTed to the webhook, retried with backoff until it accepts', async (t) => {
  const webhook = await startWebhook((n, res) => res.writeHead(n <= 2 ? 503 : 204).end());
  const h = await startHarness(1, { offlineWebhookUrl: webhook.url });
  t.after(async () => {
    await h.close();
    await webhook.close();
  });
  const results = await h.push.push([{ msgId: 'm1', toUserIds: ['away', 'gone'], payload: 'x' }]);
  assert.deepEqual(
    results.map((r) => r.reason),
    ['not_connected', 'not_connected'],
  );
  await webhook.received(3);
  const expected = {
    results: [
      { msgID: 'm1', userID: 'away', status: 'offline', reason: 'not_connected' },
      { msgID: 'm1', userID: 'gone', status: 'offline', reason: 'not_connected' },
    ],
  };
  assert.deepEqual(webhook.bodies, [expected, expected, expected]);
  assert.deepEqual(h.clock.sleeps, [200, 400]);
  while ((await h.metric('imring_push_offline_results_total', { outcome: 'delivered' })) < 2)
    await new Promise((resolve) => setImmediate(resolve));
});

test('the offline queue is bounded: results beyond offlineQueueLimit are dropped and counted, and close drops the rest', async (t) => {
  // A webhook that never answers: every result stays queued (or in the one request in flight).
  const webhook = await startWebhook(() => undefined);
  const h = await startHarness(1, { offlineWebhookUrl: webhook.url, offlineQueueLimit: 3 });
  t.after(() => webhook.close());
  const users = (prefix: string): string[] => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
  await h.push.push([{ msgId: 'm1', toUserIds: users('a'), payload: '' }]);
  await webhook.received(1);
  await h.push.push([{ msgId: 'm2', toUserIds: users('b'), payload: '' }]);
  await h.push.push([{ msgId: 'm3', toUserIds: users('c'), payload: '' }]);
  assert.equal(
    (webhook.bodies[0] as { results: unknown[] }).results.length,
    3,
    'the first request carries what fit in the queue',
  );
  assert.equal(await h.metric('imring_push_offline_results_total', { outcome: 'queue_full' }), 7 + 7 + 10);
  await h.push.close();
  await h.push.close();
  await h.push.close();
  await Promise.all(h.gateways.map((g) => g.close()));
  // 30 results: 24 refused by the full queue, 3 in the request in flight, 3 queued.
  assert.equal(await h.metric('imring_push_offline_results_total', { outcome: 'shutdown' }), 6);
  assert.equal(await h.metric('imring_push_offline_results_total', { outcome: 'delivered' }), 0);
});

test('without a webhook, each push logs its offline results in one line', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  const h = await startHarness(1, { logger: pino({ level: 'info' }, sink) });
  t.after(() => h.close());
  await h.push.push([{ msgId: 'm1', toUserIds: ['u1', 'u2', 'u1'], payload: 'x' }]);
  const offline = lines.filter((line) => line.msg === 'offline results');
  assert.equal(offline.length, 1);
  assert.deepEqual(offline[0]!.results, [
    { msgID: 'm1', userID: 'u1', reason: 'not_connected' },
    { msgID: 'm1', userID: 'u2', reason: 'not_connected' },
  ]);
});
