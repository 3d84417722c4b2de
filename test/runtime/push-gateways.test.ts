/**
 * Push in front of two real gateways while users on two platforms are split between them:
 * each platform's connection gets each message once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startPush } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { connectClient, startTestGateway, type TestClient, type TestGateway } from './gateway-fixture.js';
import { memberAt, ringOf, usersWhere } from './fake-gateway.js';

/** The msgIDs a client received, in order. */
function msgIds(client: TestClient): string[] {
  return client.messages.map((m) => (m as { msgID: string }).msgID);
}

test(
  'two real gateways, users on two platforms split between them: each platform gets each message once',
  { timeout: 30_000 },
  async (t) => {
    // Their clocks never move: nothing is migrated while the test runs.
    const old = await startTestGateway({ self: 'im-0', ring: null });
    t.after(() => old.close());
    const next = await startTestGateway({ self: 'im-1', ring: null });
    t.after(() => next.close());
    const [im0, im1] = [memberAt('im-0', { port: old.gw.ports.grpc }), memberAt('im-1', { port: next.gw.ports.grpc })];
    const ring = ringOf([im0, im1], { previous: [im0] });
    for (const g of [old, next] as TestGateway[]) g.source.set(ring);
    const push = await startPush({
      host: '127.0.0.1',
      ports: { grpc: 0, http: 0 },
      ringSource: new StaticRingSource(ring),
      registry: new Registry(),
    });
    t.after(() => push.close());
    const [split, midMove] = usersWhere(2, (u) => ring.owner(u)!.name === 'im-1', 'moving');
    const connect = (g: TestGateway, userID: string, platform: string): Promise<TestClient> =>
      connectClient(g.gw, { userID, platform });
    // split: web moved, ios not yet. midMove: web moved, ios in the middle of its move (open on both).
    const splitWeb = await connect(next, split!, 'web');
    const splitIos = await connect(old, split!, 'ios');
    const midWeb = await connect(next, midMove!, 'web');
    const midIosNew = await connect(next, midMove!, 'ios');
    const midIosOld = await connect(old, midMove!, 'ios');

    const results = await push.push([{ msgId: 'm1', toUserIds: [split!, midMove!], payload: 'hello' }]);

    assert.deepEqual(
      results.map((r) => [r.status, r.via, r.connections]),
      [
        ['realtime', 'current', 2],
        ['realtime', 'current', 2],
      ],
    );
    // Frames written before push answered arrive before the gateway's reply to a close: once
    // closed, a client has seen every frame meant for it.
    const clients = { splitWeb, splitIos, midWeb, midIosNew, midIosOld };
    for (const client of Object.values(clients)) client.ws.close(1000);
    await Promise.all(Object.values(clients).map((c) => c.closed));
    assert.deepEqual(Object.fromEntries(Object.entries(clients).map(([name, c]) => [name, msgIds(c)])), {
      splitWeb: ['m1'],
      splitIos: ['m1'],
      midWeb: ['m1'],
      midIosNew: ['m1'],
      midIosOld: [],
    });
  },
);
