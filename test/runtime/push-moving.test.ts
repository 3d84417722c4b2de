/**
 * Push while users move from their previous owner (im-0) to their current one (im-1), make
 * before break: a platform may be on either gateway or, in the middle of its move, on both.
 * Every (message, user) is one realtime result, and every platform gets the message once.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { PushMessage } from '../../runtime/protos.js';
import type { PushOptions } from '../../runtime/push/push.js';
import { ringOf, startFakeGateway, startHarness, usersWhere, type FakeGateway, type Harness } from './fake-gateway.js';

function message(msgId: string, toUserIds: string[]): PushMessage {
  return { msgId, toUserIds, payload: 'hello' };
}

interface Moving {
  readonly h: Harness;
  /** im-0: the users' owner in the previous ring. */
  readonly old: FakeGateway;
  /** im-1: their owner in the current ring. */
  readonly next: FakeGateway;
  /** Users owned by im-1 in the ring served (v2) and by im-0 in its previous ring (v1). */
  readonly users: string[];
}

/** Push over im-0 and im-1 serving ring v2 (previous: im-0 alone); im-0 reports 1 misplaced connection. */
async function startMoving(t: TestContext, count: number, options: Partial<PushOptions> = {}): Promise<Moving> {
  const h = await startHarness(2, options);
  t.after(() => h.close());
  const [im0, im1] = h.members as [(typeof h.members)[0], (typeof h.members)[0]];
  h.source.set(ringOf([im0, im1], { previous: [im0] }));
  const users = usersWhere(count, (u) => h.source.current()!.owner(u)!.name === 'im-1', 'moving');
  const [old, next] = h.gateways as [FakeGateway, FakeGateway];
  old.misplaced(1);
  return { h, old, next, users };
}

/** Where (message, user) was written: `<gateway>:<platform>` per frame, sorted. */
function framesOf(m: Moving, msgId: string, userId: string): string[] {
  const at = (name: string, gateway: FakeGateway): string[] =>
    gateway.written.filter((w) => w.msgId === msgId && w.userId === userId).map((w) => `${name}:${w.platform}`);
  return [...at('old', m.old), ...at('new', m.next)].sort();
}

const SINGLE_PLATFORM: [string, ('old' | 'new')[], string, string[]][] = [
  ['on the old gateway only', ['old'], 'previous', ['old:web']],
  ['on both gateways (in the middle of its move)', ['old', 'new'], 'current', ['new:web']],
  ['on the new gateway only', ['new'], 'current', ['new:web']],
];

for (const [where, gateways, via, frames] of SINGLE_PLATFORM) {
  test(`a user with one connection ${where} gets each message once, in real time`, async (t) => {
    const m = await startMoving(t, 1);
    const user = m.users[0]!;
    for (const gateway of gateways) (gateway === 'old' ? m.old : m.next).connect(user, 'web');

    const results = await m.h.push.push([message('m1', [user]), message('m2', [user])]);

    assert.deepEqual(
      results.map((r) => [r.msgId, r.status, r.via, r.connections]),
      [
        ['m1', 'realtime', via, 1],
        ['m2', 'realtime', via, 1],
      ],
    );
    assert.deepEqual(framesOf(m, 'm1', user), frames);
    assert.deepEqual(framesOf(m, 'm2', user), frames);
  });
}

test('a user its current owner moved away under an earlier ring (MIGRATED there) is found at its previous owner', async (t) => {
  // A ring that goes back and forth (im-0 → im-1 → im-0 in the scale 1 → 5 → 3): im-1 still remembers moving the
  // user away, while the user waits at im-0 for the ring to be committed.
  const m = await startMoving(t, 1);
  const user = m.users[0]!;
  m.next.script(user, { status: 'MIGRATED' });
  m.old.connect(user, 'web');

  const results = await m.h.push.push([message('m1', [user])]);

  assert.deepEqual(
    results.map((r) => [r.msgId, r.status, r.via, r.connections]),
    [['m1', 'realtime', 'previous', 1]],
  );
  assert.deepEqual(framesOf(m, 'm1', user), ['old:web']);
});

test('a user on two platforms split between the old and the new gateway gets each message once per platform', async (t) => {
  const m = await startMoving(t, 3);
  const [split, midMove, notYet] = m.users as [string, string, string];
  m.next.connect(split, 'web'); // web moved, ios not yet
  m.old.connect(split, 'ios');
  m.next.connect(midMove, 'web'); // web moved, ios in the middle of its move: open on both
  m.next.connect(midMove, 'ios');
  m.old.connect(midMove, 'ios');
  m.old.connect(notYet, 'web'); // neither moved yet
  m.old.connect(notYet, 'ios');

  const results = await m.h.push.push([message('m1', [split, midMove, notYet])]);

  assert.deepEqual(
    results.map((r) => [r.userId, r.status, r.via, r.connections]),
    [
      [split, 'realtime', 'current', 2],
      [midMove, 'realtime', 'current', 2],
      [notYet, 'realtime', 'previous', 2],
    ],
  );
  assert.deepEqual(framesOf(m, 'm1', split), ['new:web', 'old:ios']);
  assert.deepEqual(framesOf(m, 'm1', midMove), ['new:ios', 'new:web']);
  assert.deepEqual(framesOf(m, 'm1', notYet), ['old:ios', 'old:web']);
  // The old gateway was asked for the platforms the new one did not reach, and told which it did.
  const asked = m.old.requests.at(-1)!.messages[0]!;
  assert.deepEqual(asked.userIds, [split, midMove, notYet]);
  assert.deepEqual(
    asked.skip!.map((s) => [s.userId, [...s.platforms].sort()]),
    [
      [split, ['web']],
      [midMove, ['ios', 'web']],
    ],
  );
  assert.equal(await m.h.metric('imring_push_deliveries_total', { result: 'realtime_current' }), 2);
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_total', { result: 'delivered' }), 1);
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_total', { result: 'none' }), 1);
});

test('the previous owner is not asked for other platforms once it reported 0 misplaced at this ring version', async (t) => {
  const m = await startMoving(t, 1);
  const user = m.users[0]!;
  m.next.connect(user, 'web');
  m.old.misplaced(0);
  const avoided = (): Promise<number> => m.h.metric('imring_push_previous_platform_asks_avoided_total');

  // Unknown at first: asked, and it answers 0 misplaced at v2.
  await m.h.push.push([message('m1', [user])]);
  assert.equal(m.old.requests.length, 1);
  assert.equal(await avoided(), 0);
  const second = await m.h.push.push([message('m2', [user])]);
  assert.deepEqual([second[0]!.via, second[0]!.connections], ['current', 1]);
  assert.equal(m.old.requests.length, 1, 'not asked again');
  assert.equal(await avoided(), 1);

  // A newer ring: what it said at v2 says nothing about v3, so it is asked again.
  const [im0, im1] = m.h.members as [(typeof m.h.members)[0], (typeof m.h.members)[0]];
  m.h.source.set(ringOf([im0, im1], { version: 3, previous: [im0] }));
  await m.h.push.push([message('m3', [user])]);
  assert.equal(m.old.requests.length, 2);
  assert.deepEqual(framesOf(m, 'm3', user), ['new:web']);
});

test('what a gateway reported is forgotten when its stream breaks: it is asked again', async (t) => {
  const m = await startMoving(t, 1, { gatewayTimeoutMs: 100 });
  const user = m.users[0]!;
  const [stayer] = usersWhere(1, (u) => m.h.source.current()!.owner(u)!.name === 'im-0', 'stayer');
  m.next.connect(user, 'web');
  m.old.misplaced(0);
  await m.h.push.push([message('m1', [user])]);
  await m.h.push.push([message('m2', [user])]);
  assert.equal(m.old.requests.length, 1, 'm2: not asked, it reported 0 misplaced');

  // A batch it does not answer in time: its stream is presumed dead, and what it said with it.
  m.old.hold();
  const late = await m.h.push.push([message('m3', [stayer!])]);
  assert.equal(late[0]!.reason, 'gateway_error');
  m.old.release();
  await m.h.push.push([message('m4', [user])]);

  assert.equal(m.old.requests.length, 3, 'm4: asked again');
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_avoided_total'), 1);
});

test('a previous owner that reports misplaced connections is asked every time', async (t) => {
  const m = await startMoving(t, 1);
  const user = m.users[0]!;
  m.next.connect(user, 'web');
  await m.h.push.push([message('m1', [user])]);
  await m.h.push.push([message('m2', [user])]);
  assert.equal(m.old.requests.length, 2);
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_avoided_total'), 0);
});

test('when the ask of the previous owner for other platforms fails, the result stays realtime, and it is counted', async (t) => {
  const m = await startMoving(t, 1);
  const user = m.users[0]!;
  m.next.connect(user, 'web');
  await m.old.close();

  const results = await m.h.push.push([message('m1', [user])]);

  assert.deepEqual(
    results.map((r) => [r.status, r.via, r.connections]),
    [['realtime', 'current', 1]],
  );
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_total', { result: 'error' }), 1);
  assert.equal(await m.h.metric('imring_push_deliveries_total', { result: 'realtime_current' }), 1);
  assert.equal(await m.h.metric('imring_push_deliveries_total', { result: 'error' }), 0);
});

test('a previous owner push cannot reach is not asked for other platforms until an ask of another stage reaches it', async (t) => {
  const m = await startMoving(t, 2);
  const [user, notYet] = m.users as [string, string];
  m.next.connect(user, 'web');
  const port = m.old.port;
  await m.old.close(); // a removed member whose pod is gone, still named in `previous`

  await m.h.push.push([message('m1', [user])]);
  const second = await m.h.push.push([message('m2', [user])]);

  assert.deepEqual(
    second.map((r) => [r.status, r.via, r.connections]),
    [['realtime', 'current', 1]],
  );
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_total', { result: 'error' }), 1, 'm1 only');
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_avoided_total'), 1);
  assert.equal(await m.h.metric('imring_push_gateway_errors_total', { gateway: 'im-0' }), 1);

  // It answers again: a user not moved yet is found there, and the asks for other platforms resume.
  const back = await startFakeGateway(port);
  t.after(() => back.close());
  back.connect(notYet, 'web');
  back.misplaced(1);
  const found = await m.h.push.push([message('m3', [notYet])]);
  await m.h.push.push([message('m4', [user])]);

  assert.deepEqual(
    found.map((r) => [r.status, r.via]),
    [['realtime', 'previous']],
  );
  assert.equal(back.requests.length, 2, 'm3 at the previous owner, then m4 for other platforms');
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_total', { result: 'none' }), 1);
});

test('a platform that moved between the two asks is found at the current owner by one more ask, without waiting', async (t) => {
  const m = await startMoving(t, 2);
  const [split, single] = m.users as [string, string];
  m.next.connect(split, 'web');
  m.next.connect(single, 'web');
  // While push asks the new gateway, ios opens there and leaves the old one: MIGRATED there.
  m.old.script(split, () => {
    m.next.connect(split, 'ios');
    return { status: 'MIGRATED' };
  });
  m.old.script(single, { status: 'MIGRATED' }); // its one platform moved a moment ago

  const results = await m.h.push.push([message('m1', [split, single])]);

  assert.deepEqual(
    results.map((r) => [r.userId, r.status, r.via, r.connections]),
    [
      [split, 'realtime', 'current', 2],
      [single, 'realtime', 'current', 1],
    ],
  );
  assert.deepEqual(framesOf(m, 'm1', split), ['new:ios', 'new:web']);
  assert.deepEqual(framesOf(m, 'm1', single), ['new:web']);
  assert.deepEqual(m.h.clock.sleeps, [], 'no handoff wait');
  assert.equal(m.next.requests.length, 2, 'asked once more, with the platforms already reached skipped');
  assert.deepEqual(
    m.next.requests[1]!.messages[0]!.skip!.map((s) => [s.userId, s.platforms]),
    [
      [split, ['web']],
      [single, ['web']],
    ],
  );
  assert.equal(await m.h.metric('imring_push_previous_platform_asks_total', { result: 'migrated' }), 2);
});

test('a platform that moved to the current owner while push asked the previous one gets the message by one more ask', async (t) => {
  const m = await startMoving(t, 1);
  const user = m.users[0]!;
  m.old.connect(user, 'web');
  m.old.connect(user, 'ios');
  // Not at the new gateway when asked; right after, web opens there and leaves the old one.
  m.next.script(user, (attempt) => {
    if (attempt === 1) {
      m.next.connect(user, 'web');
      m.old.disconnect(user, 'web');
    }
    return { status: 'NOT_HERE' };
  });

  const results = await m.h.push.push([message('m1', [user])]);

  assert.deepEqual(
    results.map((r) => [r.status, r.via, r.connections]),
    [['realtime', 'previous', 2]],
  );
  assert.deepEqual(framesOf(m, 'm1', user), ['new:web', 'old:ios']);
  assert.equal(m.next.requests.length, 2, 'asked once more, with the platform the old gateway reached skipped');
  assert.deepEqual(
    m.next.requests[1]!.messages[0]!.skip!.map((s) => [s.userId, s.platforms]),
    [[user, ['ios']]],
  );
  assert.deepEqual(m.h.clock.sleeps, [], 'no handoff wait');
});

test('a fence that closes before the ask of the previous owner leaves the delivered user realtime', async (t) => {
  const m = await startMoving(t, 1);
  const user = m.users[0]!;
  m.next.connect(user, 'web');
  m.next.hold();
  const pending = m.h.push.push([message('m1', [user])]);
  await m.next.waitForRequests(1);
  m.h.source.fence('this runtime could not renew its Lease');
  m.next.release();

  const results = await pending;

  assert.deepEqual(
    results.map((r) => [r.status, r.via, r.connections]),
    [['realtime', 'current', 1]],
  );
  assert.equal(m.old.requests.length, 0);
});

test('a current owner push cannot reach: its users are found at the previous owner, the error counted', async (t) => {
  const m = await startMoving(t, 2);
  const [there, nowhere] = m.users as [string, string];
  m.old.connect(there, 'web');
  m.old.connect(there, 'ios');
  await m.next.close(); // a new member not listening yet, or not resolvable

  const results = await m.h.push.push([message('m1', [there, nowhere])]);

  assert.deepEqual(
    results.map((r) => [r.userId, r.status, r.via || r.reason, r.connections]),
    [
      [there, 'realtime', 'previous', 2],
      [nowhere, 'offline', 'gateway_error', 0],
    ],
  );
  assert.deepEqual(framesOf(m, 'm1', there), ['old:ios', 'old:web']);
  assert.equal(await m.h.metric('imring_push_deliveries_total', { result: 'realtime_previous' }), 1);
  assert.equal(await m.h.metric('imring_push_deliveries_total', { result: 'error' }), 1);
  // The first ask, and the one more ask for platforms that moved meanwhile.
  assert.equal(await m.h.metric('imring_push_gateway_errors_total', { gateway: 'im-1' }), 2);
});
