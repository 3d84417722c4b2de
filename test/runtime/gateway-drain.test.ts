import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRingDocument, CloseCodes, DEFAULT_POLICY, Ring, type RingState } from '../../ring/index.js';
import { resolveGatewayOptions } from '../../runtime/gateway/options.js';
import type { GatewayOptions } from '../../runtime/gateway/gateway.js';
import { newMembers, sampleGateway } from '../support/fixtures.js';
import {
  connectClient,
  grpcClient,
  metricValue,
  migrationOutcomes,
  newRing,
  SECRET,
  SELF,
  settled,
  startTestGateway,
  upgradeStatus,
  usersWhere,
  type TestGateway,
} from './gateway-fixture.js';
import { StaticRingSource } from '../../runtime/ring-source.js';

// 2 moves per 100 ms; a client that opted in has 1 s (of the fake clock) to move.
const policy = { ...DEFAULT_POLICY, migrateRatePerSecond: 20, handoffWindowMs: 2000, moveDeadlineMs: 1000 };
const v1 = newRing({ version: 1, members: 2, policy });
/** Owned here at v1. */
const [first, second, third] = usersWhere(3, (u) => v1.owner(u)?.name === SELF);
/** A grace period of 10 s: the default margin is 2 s, so the forced close comes 8 s after drain(). */
const GRACE = { terminationGraceMs: 10_000 };

/** Ring `version` of im-1 and im-2: the operator took this gateway (im-0) out. */
function ringWithout(version: number, state: RingState): Ring {
  return Ring.fromDocument(
    buildRingDocument({
      gateway: sampleGateway,
      version,
      state,
      members: newMembers(3).slice(1),
      previous: { version: version - 1, members: newMembers(2) },
      policy,
    }),
  );
}

async function onGateway(body: (t: TestGateway) => Promise<void>, options: Partial<GatewayOptions> = {}) {
  const t = await startTestGateway({ ring: v1, ...GRACE, ...options });
  try {
    await body(t);
  } finally {
    await t.close();
  }
}

function outcomes(t: TestGateway): Promise<Record<string, number>> {
  return migrationOutcomes(t.registry);
}

test('draining, a gateway still in the committed ring fails readiness, refuses upgrades and keeps delivering', () =>
  onGateway(async (t) => {
    const graceful = await connectClient(t.gw, { userID: first!, graceful: true });
    const plain = await connectClient(t.gw, { userID: second! });
    assert.equal(t.gw.ready(), true);
    const drained = t.gw.drain();
    assert.equal(t.gw.drain(), drained, 'drain() is idempotent');
    assert.equal(t.gw.ready(), false);
    assert.equal(await upgradeStatus(t.gw.ports.ws, `/ws?userID=${third!}&platform=web`), 503);
    // A Prepared ring without it moves nobody either: clients may still be routed by the old one.
    t.source.set(ringWithout(2, 'Prepared'));
    t.clock.advance(7999);
    const rpc = grpcClient(t.gw);
    try {
      const response = await rpc.deliver({ messages: [{ msgId: 'm', userIds: [first!, second!], payload: 'p' }] });
      assert.deepEqual(
        response.results.map((r) => r.status),
        ['DELIVERED', 'DELIVERED'],
      );
    } finally {
      rpc.close();
    }
    await Promise.all([graceful.received(1), plain.received(1)]);
    for (const client of [graceful, plain])
      assert.deepEqual(client.messages, [{ type: 'message', msgID: 'm', payload: 'p' }], 'no migrate frame');
    assert.deepEqual(t.gw.stats(), { connections: 2, misplaced: 2 });
    assert.deepEqual(await outcomes(t), { graceful: 0, deadline: 0, closed: 0 });
  }));

test('once a committed ring drops it, a draining gateway moves its users for shutdown and drain() resolves', () =>
  onGateway(async (t) => {
    const graceful = await connectClient(t.gw, { userID: first!, graceful: true });
    const plain = await connectClient(t.gw, { userID: second! });
    let resolved = false;
    const drained = t.gw.drain().then(() => (resolved = true));
    t.source.set(ringWithout(2, 'Prepared'));
    t.source.set(ringWithout(2, 'Committed'));
    assert.deepEqual(t.clock.pending(), [0, 8000], 'the first paced batch at once, the forced close at 8 s');
    t.clock.advance(0);
    assert.deepEqual(await plain.closed, { code: CloseCodes.shuttingDown, reason: 'shutting down' });
    await graceful.received(1);
    assert.deepEqual(graceful.messages, [{ type: 'migrate', reason: 'shutdown', deadlineMs: 1000 }]);
    assert.equal(resolved, false, 'a socket is still open');
    graceful.ws.close(1000);
    await drained;
    assert.deepEqual(await outcomes(t), { graceful: 1, deadline: 0, closed: 1 });
    assert.deepEqual(t.clock.pending(), [], 'drained: the forced close is cancelled');
  }));

test('the moves are paced at the ring migrateRatePerSecond', () =>
  onGateway(async (t) => {
    const clients = await Promise.all([first!, second!, third!].map((userID) => connectClient(t.gw, { userID })));
    const drained = t.gw.drain();
    t.source.set(ringWithout(2, 'Committed'));
    const openAfter = (ms: number): number => {
      t.clock.advance(ms);
      return t.gw.stats().connections;
    };
    assert.deepEqual([openAfter(0), openAfter(99), openAfter(1)], [1, 1, 0], '2 moves per 100 ms');
    for (const client of clients) assert.equal((await client.closed).code, CloseCodes.shuttingDown);
    await drained;
  }));

test('shortly before the grace period ends, drain closes every connection left with 4002, without a migrate frame', () =>
  onGateway(async (t) => {
    const graceful = await connectClient(t.gw, { userID: first!, graceful: true });
    const plain = await connectClient(t.gw, { userID: second! });
    const drained = t.gw.drain();
    t.clock.advance(7999);
    assert.equal(t.gw.stats().connections, 2);
    t.clock.advance(1);
    for (const client of [graceful, plain])
      assert.deepEqual(await client.closed, { code: CloseCodes.shuttingDown, reason: 'shutting down' });
    assert.deepEqual(graceful.messages, []);
    await drained;
    assert.equal(await metricValue(t.registry, 'imring_gateway_closes_total', { code: '4002' }), 2);
  }));

test('a gateway that left the ring before drain() moves its users at once, for shutdown', async () => {
  const t = await startTestGateway({ ring: ringWithout(2, 'Committed'), ...GRACE });
  try {
    // Routed here by a proxy a ring behind; the paced move waits for the fake clock.
    const graceful = await connectClient(t.gw, { userID: first!, graceful: true });
    const drained = t.gw.drain();
    t.clock.advance(0);
    await graceful.received(1);
    assert.deepEqual(graceful.messages, [{ type: 'migrate', reason: 'shutdown', deadlineMs: 1000 }]);
    t.clock.advance(1000);
    assert.deepEqual(await graceful.closed, { code: CloseCodes.shuttingDown, reason: 'shutting down' });
    await drained;
  } finally {
    await t.close();
  }
});

test('a gateway without a ring closes every connection with 4002 at drain()', async () => {
  const t = await startTestGateway({ ring: null, ...GRACE });
  try {
    const graceful = await connectClient(t.gw, { userID: first!, graceful: true });
    const drained = t.gw.drain();
    assert.deepEqual(await graceful.closed, { code: CloseCodes.shuttingDown, reason: 'shutting down' });
    assert.deepEqual(graceful.messages, []);
    await drained;
    await settled(() => t.clock.pending().length === 0, 'the forced close is cancelled');
  } finally {
    await t.close();
  }
});

test('shutdown close: drain() closes every connection with 4002 at once, still in the ring', async () => {
  await onGateway(
    async (t) => {
      const graceful = await connectClient(t.gw, { userID: first!, graceful: true });
      const plain = await connectClient(t.gw, { userID: second! });
      const drained = t.gw.drain();
      for (const client of [graceful, plain])
        assert.deepEqual(await client.closed, { code: CloseCodes.shuttingDown, reason: 'shutting down' });
      assert.deepEqual(graceful.messages, [], 'no migrate frame');
      await drained;
    },
    { shutdown: 'close' },
  );
  await assert.rejects(
    startTestGateway({ shutdown: 'later' as never }),
    /options\.shutdown must be leave-ring or close/,
  );
});

test('drain() without a connection resolves at once, and close() after it is idempotent', async () => {
  const t = await startTestGateway({ ring: v1, ...GRACE });
  await t.gw.drain();
  assert.deepEqual(t.clock.pending(), []);
  await Promise.all([t.close(), t.close(), t.close()]);
});

const base = { host: '127.0.0.1', ports: { ws: 0, grpc: 0 }, self: SELF, tokenSecret: SECRET };

const margins: [number, number][] = [
  [30_000, 3000],
  [60_000, 6000],
  [10_000, 2000],
  [2000, 1000],
];
for (const [terminationGraceMs, margin] of margins) {
  test(`the default forced-close margin of a ${terminationGraceMs} ms grace period is ${margin} ms`, () => {
    const o = resolveGatewayOptions({ ...base, ringSource: new StaticRingSource(), terminationGraceMs });
    assert.equal(o.forceCloseMarginMs, margin);
  });
}

test('a forced-close margin not below the grace period, or a bad grace period, throws naming the option', () => {
  const ringSource = new StaticRingSource();
  assert.throws(
    () => resolveGatewayOptions({ ...base, ringSource, terminationGraceMs: 1000, forceCloseMarginMs: 1000 }),
    /options\.forceCloseMarginMs/,
  );
  assert.throws(() => resolveGatewayOptions({ ...base, ringSource, forceCloseMarginMs: -1 }), /forceCloseMarginMs/);
  assert.throws(() => resolveGatewayOptions({ ...base, ringSource, terminationGraceMs: 0 }), /terminationGraceMs/);
});
