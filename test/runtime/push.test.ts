import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../ring/index.js';
import type { PushMessage } from '../../runtime/protos.js';
import { startPush } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { memberAt, ringOf, startFakeGateway, startHarness, usersWhere, type Harness } from './fake-gateway.js';

const DELIVERED = { status: 'DELIVERED' as const, connections: 1 };

function message(msgId: string, toUserIds: string[], payload = 'hello'): PushMessage {
  return { msgId, toUserIds, payload };
}

interface Handoff {
  readonly h: Harness;
  readonly user: string;
}

/**
 * Push over im-0 and im-1 serving ring v2 (previous: im-0 alone, handoff retries every 50 ms)
 * and a user `<prefix>-<n>` owned by im-1 whom im-0 answers MIGRATED.
 */
async function startHandoff(t: TestContext, init: { handoffWindowMs: number; prefix: string }): Promise<Handoff> {
  const h = await startHarness(2, { handoffRetryMs: 50 });
  t.after(() => h.close());
  const [im0, im1] = h.members as [(typeof h.members)[0], (typeof h.members)[0]];
  h.source.set(ringOf([im0, im1], { previous: [im0], handoffWindowMs: init.handoffWindowMs }));
  const [user] = usersWhere(1, (u) => h.source.current()!.owner(u)!.name === 'im-1', init.prefix);
  h.gateways[0]!.script(user!, { status: 'MIGRATED' });
  return { h, user: user! };
}

test('recipients are grouped by owner: one batched request per gateway, results in request order', async (t) => {
  const h = await startHarness(3);
  t.after(() => h.close());
  const ring = h.source.current()!;
  const users = usersWhere(12, () => true);
  for (const user of users.slice(0, 6))
    for (const g of h.gateways) g.script(user, { status: 'DELIVERED', connections: 2 });
  const results = await h.push.push([message('m1', [...users.slice(0, 8), users[0]!]), message('m2', users.slice(4))]);

  assert.deepEqual(
    results.map((r) => [r.msgId, r.userId, r.status]),
    [
      ...[...users.slice(0, 8), users[0]!].map((u) => ['m1', u, users.indexOf(u) < 6 ? 'realtime' : 'offline']),
      ...users.slice(4).map((u) => ['m2', u, users.indexOf(u) < 6 ? 'realtime' : 'offline']),
    ],
  );
  // The duplicate recipient is answered twice, delivered once.
  assert.deepEqual(results[8], {
    msgId: 'm1',
    userId: users[0],
    status: 'realtime',
    via: 'current',
    reason: '',
    connections: 2,
  });
  assert.equal(results.at(-1)!.reason, 'not_connected');
  h.gateways.forEach((gateway, i) => {
    assert.equal(gateway.requests.length, 1, `im-${i} got one batch`);
    const asked = gateway.requests[0]!.messages.flatMap((m) => m.userIds.map((u) => `${m.msgId}/${u}`));
    const owned = [...new Set([...users.slice(0, 8)].map((u) => `m1/${u}`))].concat(
      users.slice(4).map((u) => `m2/${u}`),
    );
    assert.deepEqual(
      asked,
      owned.filter((key) => ring.owner(key.slice(3))!.name === `im-${i}`),
    );
  });
  assert.equal(await h.metric('imring_push_deliveries_total', { result: 'realtime_current' }), 8); // 6 in m1, 2 in m2
  assert.equal(await h.metric('imring_push_deliveries_total', { result: 'offline' }), 2 + 6);
  assert.equal(await h.metric('imring_push_batch_size'), 3);
});

test('a user the current owner does not hold is found at the owner in the previous ring', async (t) => {
  const h = await startHarness(2);
  t.after(() => h.close());
  const [im0, im1] = h.members as [(typeof h.members)[0], (typeof h.members)[0]];
  h.source.set(ringOf([im0, im1], { previous: [im0] }));
  const ring = h.source.current()!;
  const [moved] = usersWhere(1, (u) => ring.owner(u)!.name === 'im-1', 'moved');
  const [stayed] = usersWhere(1, (u) => ring.owner(u)!.name === 'im-0', 'stayed');
  h.gateways[0]!.script(moved!, { status: 'DELIVERED', connections: 3 });

  const results = await h.push.push([message('m1', [moved!, stayed!])]);

  assert.deepEqual(
    results.map((r) => [r.userId, r.status, r.via || r.reason, r.connections]),
    [
      [moved, 'realtime', 'previous', 3],
      [stayed, 'offline', 'not_connected', 0],
    ],
  );
  // im-0 was asked about `stayed` once (it is its owner in both rings) and then about `moved`.
  assert.deepEqual(
    h.gateways[0]!.requests.map((r) => r.messages.flatMap((m) => m.userIds)),
    [[stayed], [moved]],
  );
  assert.equal(h.gateways[0]!.requests[0]!.ringVersion, 2);
  assert.equal(await h.metric('imring_push_deliveries_total', { result: 'realtime_previous' }), 1);
});

test('a migrated user is retried at its current owner until the handoff succeeds', async (t) => {
  const { h, user: moving } = await startHandoff(t, { handoffWindowMs: 1000, prefix: 'moving' });
  const [online] = usersWhere(1, (u) => h.source.current()!.owner(u)!.name === 'im-0', 'online');
  h.gateways[0]!.script(online!, DELIVERED);
  h.gateways[1]!.script(moving, (attempt) => (attempt < 3 ? { status: 'NOT_HERE' } : DELIVERED));
  const settledBeforeWaiting: number[] = [];
  h.clock.onSleep = () =>
    void h
      .metric('imring_push_deliveries_total', { result: 'realtime_current' })
      .then((n) => settledBeforeWaiting.push(n));

  const results = await h.push.push([message('m1', [moving, online!])]);

  assert.deepEqual(
    results.map((r) => [r.userId, r.status, r.via]),
    [
      [moving, 'realtime', 'handoff'],
      [online, 'realtime', 'current'],
    ],
  );
  assert.deepEqual(h.clock.sleeps, [50, 50]);
  // The user delivered at once was settled (counted) before the first handoff wait.
  assert.equal(settledBeforeWaiting[0], 1);
  assert.equal(h.gateways[1]!.requests.length, 3);
  assert.equal(await h.metric('imring_push_deliveries_total', { result: 'realtime_handoff' }), 1);
});

test('a migrated user who never arrives is offline when the handoff window ends, with waits bounded by it', async (t) => {
  const { h, user: lost } = await startHandoff(t, { handoffWindowMs: 120, prefix: 'lost' });

  const results = await h.push.push([message('m1', [lost])]);

  assert.deepEqual(
    results.map((r) => [r.status, r.reason]),
    [['offline', 'not_connected']],
  );
  assert.deepEqual(h.clock.sleeps, [50, 50, 20]);
  assert.equal(h.clock.now, 120);
  assert.equal(h.gateways[1]!.requests.length, 4); // first try, then one per wait
});

test('a fence that closes during a handoff wait ends the request: no gateway is asked with that ring', async (t) => {
  const { h, user: moving } = await startHandoff(t, { handoffWindowMs: 1000, prefix: 'moving' });
  h.gateways[1]!.script(moving, (attempt) => (attempt < 2 ? { status: 'NOT_HERE' } : DELIVERED));
  h.clock.onSleep = () => h.source.fence('this runtime could not renew its Lease');

  const results = await h.push.push([message('m1', [moving])]);

  assert.deepEqual(
    results.map((r) => [r.status, r.reason]),
    [['offline', 'not_connected']],
  );
  assert.deepEqual(h.clock.sleeps, [50]);
  assert.equal(h.gateways[1]!.requests.length, 1, 'asked once, before the fence closed');
});

test('push() takes the path of the APIs: beyond maxConcurrentRequests it is refused at once', async (t) => {
  const h = await startHarness(1, { maxConcurrentRequests: 1 });
  t.after(() => h.close());
  h.gateways[0]!.hold();
  const first = h.push.push([message('m1', ['u1'])]);
  await h.gateways[0]!.waitForRequests(1);
  await assert.rejects(h.push.push([message('m2', ['u2'])]), /push refused: more than 1 push requests at once/);
  h.gateways[0]!.release();
  assert.equal((await first)[0]!.reason, 'not_connected');
  const third = await h.push.push([message('m3', ['u3'])]);
  assert.equal(third[0]!.reason, 'not_connected', 'admitted again once the first ended');
});

test('an unreachable gateway makes its users gateway_error, counted, and push recovers when it returns', async (t) => {
  const h = await startHarness(2);
  t.after(() => h.close());
  const ring = h.source.current()!;
  const [a] = usersWhere(1, (u) => ring.owner(u)!.name === 'im-0', 'a');
  const [b] = usersWhere(1, (u) => ring.owner(u)!.name === 'im-1', 'b');
  h.gateways[0]!.script(a!, DELIVERED);
  const port = h.gateways[1]!.port;
  await h.gateways[1]!.close();

  const down = await h.push.push([message('m1', [a!, b!])]);
  assert.deepEqual(
    down.map((r) => r.via || r.reason),
    ['current', 'gateway_error'],
  );
  const again = await h.push.push([message('m2', [b!])]);
  assert.equal(again[0]!.reason, 'gateway_error');
  assert.equal(await h.metric('imring_push_gateway_errors_total', { gateway: 'im-1' }), 2);
  assert.equal(await h.metric('imring_push_deliveries_total', { result: 'error' }), 2);

  const back = await startFakeGateway(port);
  t.after(() => back.close());
  back.script(b!, DELIVERED);
  const recovered = await h.push.push([message('m3', [b!])]);
  assert.equal(recovered[0]!.via, 'current');
  assert.equal(back.requests.length, 1);
});

test('a gateway that does not answer in time makes its users gateway_error, and a fresh stream serves the next batch', async (t) => {
  const h = await startHarness(1, { gatewayTimeoutMs: 150 });
  t.after(() => h.close());
  const [a] = usersWhere(1, () => true);
  h.gateways[0]!.script(a!, DELIVERED);
  h.gateways[0]!.hold();
  const late = await h.push.push([message('m1', [a!])]);
  assert.equal(late[0]!.reason, 'gateway_error');
  h.gateways[0]!.release();
  const next = await h.push.push([message('m2', [a!])]);
  assert.equal(next[0]!.via, 'current');
  assert.equal(h.gateways[0]!.streams(), 2);
});

test('without a ring, or with an empty one, every recipient is offline with no_ring', async (t) => {
  const h = await startHarness(1, { ring: false });
  t.after(() => h.close());
  assert.equal(h.push.ready(), false);
  const results = await h.push.push([message('m1', ['u1', 'u2']), message('m2', ['u1'])]);
  assert.deepEqual(
    results.map((r) => [r.msgId, r.userId, r.status, r.reason]),
    [
      ['m1', 'u1', 'offline', 'no_ring'],
      ['m1', 'u2', 'offline', 'no_ring'],
      ['m2', 'u1', 'offline', 'no_ring'],
    ],
  );
  h.source.set(new Ring({ members: [] }));
  assert.equal((await h.push.push([message('m3', ['u1'])]))[0]!.reason, 'no_ring');
  assert.equal(h.gateways[0]!.requests.length, 0);
});

test('concurrent pushes to one gateway share one DeliverRequest', async (t) => {
  const h = await startHarness(1);
  t.after(() => h.close());
  const users = usersWhere(3, () => true);
  for (const user of users) h.gateways[0]!.script(user, DELIVERED);
  const results = await Promise.all(users.map((user, i) => h.push.push([message(`m${i}`, [user])])));
  assert.deepEqual(
    results.map((r) => r.map((x) => [x.msgId, x.userId, x.via])),
    users.map((user, i) => [[`m${i}`, user, 'current']]),
  );
  assert.equal(h.gateways[0]!.requests.length, 1);
  assert.deepEqual(
    h.gateways[0]!.requests[0]!.messages.map((m) => m.msgId),
    ['m0', 'm1', 'm2'],
  );
});

test('with coalesceMs, a push made later within the window joins the waiting batch', async (t) => {
  const h = await startHarness(1, { coalesceMs: 100 });
  t.after(() => h.close());
  const first = h.push.push([message('m1', ['u1'])]);
  await new Promise((resolve) => setTimeout(resolve, 10));
  const second = h.push.push([message('m2', ['u2'])]);
  await Promise.all([first, second]);
  assert.equal(h.gateways[0]!.requests.length, 1);
});

test('batches beyond the in-flight limit wait, at most as many again; beyond that they fail at once', async (t) => {
  // maxBatchBytes 1: every push is a batch of its own.
  const h = await startHarness(1, { maxInFlightBatchesPerGateway: 2, maxBatchBytes: 1 });
  t.after(() => h.close());
  const gateway = h.gateways[0]!;
  gateway.hold();
  const waiting = [];
  for (let i = 0; i < 4; i++) {
    waiting.push(h.push.push([message(`m${i}`, [`u${i}`])]));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await gateway.waitForRequests(2);
  const refused = await h.push.push([message('m4', ['u4'])]);
  assert.equal(refused[0]!.reason, 'gateway_error');
  assert.equal(gateway.requests.length, 2, 'only the in-flight limit was sent');
  assert.equal(await h.metric('imring_push_gateway_errors_total', { gateway: 'im-0' }), 1);
  gateway.release();
  const answered = await Promise.all(waiting);
  assert.deepEqual(
    answered.map((r) => r[0]!.reason),
    Array(4).fill('not_connected'),
  );
  assert.equal(gateway.requests.length, 4);
});

test('a member whose address changes is dialled at the new address', async (t) => {
  const h = await startHarness(1);
  t.after(() => h.close());
  const moved = await startFakeGateway();
  t.after(() => moved.close());
  await h.push.push([message('m1', ['u1'])]);
  h.source.set(ringOf([memberAt('im-0', moved)], { previous: [memberAt('im-0', h.gateways[0]!)] }));
  moved.script('u1', DELIVERED);
  assert.equal((await h.push.push([message('m2', ['u1'])]))[0]!.via, 'current');
  assert.equal(moved.requests.length, 1);
  assert.equal(h.gateways[0]!.requests.length, 1);
});

/** Resolves once push has sent `count` batches, checking after every turn of the event loop. */
async function batchesSent(h: Harness, count: number): Promise<void> {
  for (let turn = 0; (await h.metric('imring_push_batch_size')) < count; turn++) {
    if (turn > 100_000) throw new Error(`push did not send ${count} batches`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('a batch queued while an earlier connect attempt hangs is not failed by that attempt: it tries once more', async (t) => {
  // The first resolution hangs (a DNS query timing out while the member was gone), then fails.
  let failFirst: (error: Error) => void = () => undefined;
  let resolutions = 0;
  const resolver = {
    resolve: (): Promise<string> =>
      ++resolutions === 1 ? new Promise((_, reject) => (failFirst = reject)) : Promise.resolve('127.0.0.1'),
    close: () => undefined,
  };
  const h = await startHarness(1, { resolver });
  t.after(() => h.close());
  h.gateways[0]!.script('u1', DELIVERED);
  const first = h.push.push([message('m1', ['u1'])]);
  await batchesSent(h, 1);
  const later = h.push.push([message('m2', ['u1'])]);
  await batchesSent(h, 2); // waiting for the first attempt too
  failFirst(new Error('cannot resolve im-0: getaddrinfo EAI_AGAIN'));

  assert.equal((await first)[0]!.reason, 'gateway_error', 'the batch that started the attempt fails with it');
  assert.equal((await later)[0]!.via, 'current', 'the later one tried afresh and reached the gateway');
  assert.equal(resolutions, 2);
  assert.equal(h.gateways[0]!.requests.length, 1);
});

test('push() refuses invalid messages like the APIs do, and bad options throw naming the option', async (t) => {
  const h = await startHarness(1);
  t.after(() => h.close());
  await assert.rejects(h.push.push([message('', ['u1'])]), /msgId must be a non-empty string/);
  const base = { host: '127.0.0.1', ports: { grpc: 0, http: 0 }, ringSource: new StaticRingSource() };
  await assert.rejects(startPush({ ...base, gatewayTimeoutMs: 0 }), /gatewayTimeoutMs/);
  await assert.rejects(startPush({ ...base, ports: { grpc: -1, http: 0 } }), /ports\.grpc/);
  await assert.rejects(startPush({ ...base, offlineWebhookUrl: 'not a url' }), /offlineWebhookUrl/);
});

test('close() is idempotent and fails pushes still waiting on a gateway', async (t) => {
  const h = await startHarness(1);
  t.after(() => Promise.all(h.gateways.map((g) => g.close())));
  h.gateways[0]!.hold();
  const pending = h.push.push([message('m1', ['u1'])]);
  await h.gateways[0]!.waitForRequests(1);
  await Promise.all([h.push.close(), h.push.close()]);
  await h.push.close();
  assert.equal((await pending)[0]!.reason, 'gateway_error');
  assert.equal((await h.push.push([message('m2', ['u1'])]))[0]!.reason, 'gateway_error');
});
