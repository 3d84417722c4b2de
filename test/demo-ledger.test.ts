import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COHORTS, DEAD_CONNECTION_WINDOW_MS, DEFAULT_PLATFORM, Ledger } from '../cli/demo/ledger.js';

const OFFLINE = { status: 'offline', reason: 'not_connected' } as const;

/** A ledger where `u1` connected at 0 and message m1 was pushed to it at 100 and answered offline at 150. */
function offlineWhileConnected(): Ledger {
  const ledger = new Ledger();
  ledger.opened('u1', 0);
  ledger.sent('m1', ['u1'], 100);
  ledger.answered('m1', 'u1', OFFLINE, 150);
  return ledger;
}

function settled(ledger: Ledger): Ledger['totals'] {
  ledger.settle(Number.POSITIVE_INFINITY);
  return ledger.totals;
}

test('an offline answer for a user connected from before the push until after its answer is a misroute', () => {
  const ledger = offlineWhileConnected();
  const totals = settled(ledger);
  assert.equal(totals.misrouted, 1);
  assert.equal(totals.offlineOnDeadConnection, 0);
  assert.deepEqual(ledger.misrouteSamples, ['m1/u1 (not_connected, still open)']);
});

test('an offline answer for a connection that then ends abnormally (1006) within the window was a dead connection, not a misroute', () => {
  const ledger = offlineWhileConnected();
  ledger.closed('u1', 150 + DEAD_CONNECTION_WINDOW_MS, 1006);
  const totals = settled(ledger);
  assert.deepEqual([totals.misrouted, totals.offlineOnDeadConnection, totals.lost], [0, 1, 0]);
});

test('a clean close right after an offline answer (4001 moved, 4002 shutting down) never excuses it: still a misroute', () => {
  for (const code of [4001, 4002, 1000]) {
    const ledger = offlineWhileConnected();
    ledger.closed('u1', 160, code);
    assert.equal(settled(ledger).misrouted, 1, `close code ${code}`);
    assert.deepEqual(ledger.misrouteSamples, [`m1/u1 (not_connected, closed ${code} 10 ms after the answer)`]);
  }
});

test('an abnormal close later than the window after the offline answer leaves it a misroute', () => {
  const ledger = offlineWhileConnected();
  ledger.closed('u1', 151 + DEAD_CONNECTION_WINDOW_MS, 1006);
  assert.equal(settled(ledger).misrouted, 1);
});

test('an offline answer whose time is unknown is judged on the connection alone', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0);
  ledger.sent('m1', ['u1'], 100);
  ledger.answered('m1', 'u1', OFFLINE);
  ledger.closed('u1', 160, 1006);
  assert.equal(settled(ledger).misrouted, 1);
});

test('a realtime answer without a receipt is lost; an offline one for a user reconnecting by the answer is expected', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0);
  ledger.opened('u2', 0);
  ledger.sent('m1', ['u1', 'u2'], 100);
  ledger.closed('u2', 120, 4001);
  ledger.answered('m1', 'u1', { status: 'realtime', via: 'current' }, 150);
  ledger.answered('m1', 'u2', OFFLINE, 150);
  const totals = settled(ledger);
  assert.deepEqual([totals.lost, totals.misrouted, totals.offlineWhileReconnecting], [1, 0, 1]);
});

test('a realtime answer without a receipt on a connection that ends abnormally within the window was in flight when it was killed, not an unexplained loss', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0);
  ledger.opened('u2', 0);
  ledger.sent('m1', ['u1', 'u2'], 100);
  ledger.answered('m1', 'u1', { status: 'realtime', via: 'current' }, 150);
  ledger.answered('m1', 'u2', { status: 'realtime', via: 'current' }, 150);
  ledger.closed('u1', 200, 1006);
  ledger.closed('u2', 200, 4001);
  const totals = settled(ledger);
  assert.deepEqual(
    [totals.lostOnKilledConnection, totals.lost],
    [1, 1],
    'u1 killed under the frame; u2 closed cleanly, so its frame is lost',
  );
});

test('a push call that failed as a whole (push unreachable) is reported offline, never a misroute, even for a connected user', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0);
  ledger.sent('m1', ['u1'], 100);
  ledger.failed('m1', ['u1'], 'push_unreachable', 150);
  const totals = settled(ledger);
  assert.deepEqual(
    [totals.misrouted, totals.offlineWhileReconnecting, totals.lost, totals.offlineByReason.push_unreachable],
    [0, 0, 0, 1],
  );
});

test('a realtime answer that comes after the client saw its connection killed, or after it reconnected, was written to the killed connection', () => {
  const ledger = new Ledger();
  for (const user of ['u1', 'u2']) ledger.opened(user, 0);
  ledger.sent('m1', ['u1', 'u2'], 100);
  ledger.closed('u1', 110, 1006);
  ledger.closed('u2', 110, 1006);
  ledger.opened('u2', 140);
  ledger.answered('m1', 'u1', { status: 'realtime', via: 'current' }, 150);
  ledger.answered('m1', 'u2', { status: 'realtime', via: 'current' }, 150);
  const totals = settled(ledger);
  assert.deepEqual([totals.lostOnKilledConnection, totals.lost], [2, 0]);
});

test('a connection killed just before the send excuses a realtime answer (the gateway learns of it later); one killed long before does not', () => {
  const ledger = new Ledger();
  for (const user of ['u1', 'u2']) ledger.opened(user, 0);
  ledger.closed('u1', 5000 - DEAD_CONNECTION_WINDOW_MS, 1006);
  ledger.closed('u2', 4999 - DEAD_CONNECTION_WINDOW_MS, 1006);
  ledger.sent('m1', ['u1', 'u2'], 5000);
  ledger.answered('m1', 'u1', { status: 'realtime', via: 'current' }, 5010);
  ledger.answered('m1', 'u2', { status: 'realtime', via: 'current' }, 5010);
  const totals = settled(ledger);
  assert.deepEqual([totals.lostOnKilledConnection, totals.lost], [1, 1]);
  assert.deepEqual(ledger.lostSamples, [
    `m1/u2 (realtime via current 10 ms after the send; connection 1 closed 1006 at send -${DEAD_CONNECTION_WINDOW_MS + 1} ms)`,
  ]);
});

test('lost pairs are sampled with what push answered and how the connections ended', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0);
  ledger.sent('m1', ['u1', 'u9'], 100);
  ledger.answered('m1', 'u1', { status: 'realtime', via: 'previous' }, 130);
  const totals = settled(ledger);
  assert.equal(totals.lost, 2);
  assert.deepEqual(ledger.lostSamples, [
    'm1/u1 (realtime via previous 30 ms after the send; connection 1 still open)',
    'm1/u9 (no answer; never connected)',
  ]);
});

const REALTIME = { status: 'realtime', via: 'current' } as const;

/** `u1` on web and ios, both connected at 0; m1 pushed at 100 and answered realtime at 150. */
function twoPlatforms(): Ledger {
  const ledger = new Ledger();
  ledger.opened('u1', 0, { platform: 'web' });
  ledger.opened('u1', 0, { platform: 'ios' });
  ledger.sent('m1', ['u1'], 100);
  ledger.answered('m1', 'u1', REALTIME, 150);
  return ledger;
}

test('a user on two platforms: each platform counts its own deliveries, and a pair is received when every platform connected throughout got it', () => {
  const cases: {
    name: string;
    then: (ledger: Ledger) => void;
    want: Partial<Record<'received' | 'lost' | 'duplicates' | 'lostOnKilledConnection', number>>;
    deliveries: Record<string, number>;
  }[] = [
    {
      name: 'both platforms received it',
      then: (l) => ['web', 'ios'].forEach((p) => l.received('m1', 'u1', p)),
      want: { received: 1, lost: 0, duplicates: 0 },
      deliveries: { web: 1, ios: 1 },
    },
    {
      name: 'one platform received it twice: a duplicate, though the other got it once',
      then: (l) => ['web', 'web', 'ios'].forEach((p) => l.received('m1', 'u1', p)),
      want: { received: 1, lost: 0, duplicates: 1 },
      deliveries: { web: 1, ios: 1 },
    },
    {
      name: 'ios, connected throughout, never got it: lost, though web did',
      then: (l) => l.received('m1', 'u1', 'web'),
      want: { received: 0, lost: 1, lostOnKilledConnection: 0 },
      deliveries: { web: 1 },
    },
    {
      name: 'ios, killed under the frame (1006), never got it: in flight on a killed connection',
      then: (l) => {
        l.received('m1', 'u1', 'web');
        l.closed('u1', 200, 1006, 'ios');
      },
      want: { received: 0, lost: 0, lostOnKilledConnection: 1 },
      deliveries: { web: 1 },
    },
  ];
  for (const c of cases) {
    const ledger = twoPlatforms();
    c.then(ledger);
    const totals = settled(ledger);
    for (const [name, value] of Object.entries(c.want))
      assert.equal(totals[name as keyof typeof c.want], value, `${c.name}: ${name}`);
    assert.deepEqual(totals.deliveriesByPlatform, c.deliveries, c.name);
  }
});

test('a platform that reconnected between the push and its answer may miss the pair: received when the other got it', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0, { platform: 'web', migrate: 'hard' });
  ledger.opened('u1', 0, { platform: 'ios', migrate: 'hard' });
  ledger.sent('m1', ['u1'], 100);
  ledger.closed('u1', 110, 4001, 'ios');
  ledger.opened('u1', 140, { platform: 'ios', migrate: 'hard' });
  ledger.answered('m1', 'u1', REALTIME, 150);
  ledger.received('m1', 'u1', 'web');
  assert.equal(ledger.awaitingReceipt, 0, 'nothing more is awaited');
  const totals = settled(ledger);
  assert.deepEqual([totals.received, totals.lost], [1, 0]);
});

test('a realtime pair is awaited until every platform connected throughout has received it', () => {
  const ledger = twoPlatforms();
  assert.equal(ledger.awaitingReceipt, 1);
  ledger.received('m1', 'u1', 'ios');
  assert.equal(ledger.awaitingReceipt, 1, 'web still has to receive it');
  ledger.received('m1', 'u1', 'web');
  assert.equal(ledger.awaitingReceipt, 0);
});

test('an offline answer while one platform stayed connected is a misroute, named by that platform', () => {
  const ledger = new Ledger();
  ledger.opened('u1', 0, { platform: 'web' });
  ledger.opened('u1', 0, { platform: 'ios' });
  ledger.sent('m1', ['u1'], 100);
  ledger.closed('u1', 120, 4001, 'web');
  ledger.answered('m1', 'u1', OFFLINE, 150);
  const totals = settled(ledger);
  assert.equal(totals.misrouted, 1);
  assert.deepEqual(ledger.misrouteSamples, ['m1/u1 (not_connected on ios, still open)']);
});

test('a lost pair of a user on two platforms is sampled with the platform that missed it', () => {
  const ledger = twoPlatforms();
  ledger.received('m1', 'u1', 'web');
  settled(ledger);
  assert.deepEqual(ledger.lostSamples, [
    'm1/u1 (realtime via current 50 ms after the send; ios connection 1 still open)',
  ]);
});

test('a receipt after its pair settled is a duplicate, in the totals and in its cohort', () => {
  const ledger = twoPlatforms();
  ledger.received('m1', 'u1', 'web');
  ledger.received('m1', 'u1', 'ios');
  settled(ledger);
  ledger.received('m1', 'u1', 'ios');
  assert.deepEqual([ledger.totals.duplicates, ledger.cohorts.graceful.duplicates], [1, 1]);
});

test('a user is connected when every one of its platforms is', () => {
  const ledger = twoPlatforms();
  assert.equal(ledger.isConnected('u1'), true);
  ledger.closed('u1', 200, 4001, 'ios');
  assert.equal(ledger.isConnected('u1'), false);
  assert.equal(ledger.isConnected('u9'), false, 'a user never seen');
});

test('moves are counted by outcome: the SDK reports graceful and forced ones, a plain client closed with 4001/4002 is a closed one', () => {
  const ledger = new Ledger();
  ledger.opened('g', 0, { migrate: 'graceful' });
  ledger.opened('h', 0, { migrate: 'hard' });
  ledger.moved('g', { outcome: 'graceful', overlapMs: 12 });
  ledger.moved('g', { outcome: 'forced', overlapMs: 0 });
  ledger.closed('g', 10, 4001); // the forced move's close: counted once, as forced
  ledger.opened('g', 20, { migrate: 'graceful' });
  for (const [at, code] of [
    [10, 4001],
    [30, 4002],
    [50, 1006],
  ] as const) {
    ledger.closed('h', at, code);
    ledger.opened('h', at + 5, { migrate: 'hard' });
  }
  ledger.moved('u9', { outcome: 'graceful', overlapMs: 1 }); // a client never seen: ignored
  assert.deepEqual(ledger.totals.moves, { graceful: 1, forced: 1, closed: 2 });
  assert.deepEqual(ledger.totals.moveOverlapsMs, [12]);
  assert.deepEqual(ledger.totals.closesByCode, { 4001: 2, 4002: 1, 1006: 1 });
});

test("each client's longest time without an open connection runs from a close to the next open (a graceful move is none)", () => {
  const ledger = new Ledger();
  ledger.opened('g', 0, { platform: 'web' });
  ledger.moved('g', { outcome: 'graceful', overlapMs: 5 }, 'web');
  ledger.opened('h', 0, { platform: 'web', migrate: 'hard' });
  ledger.opened('h', 0, { platform: 'ios', migrate: 'hard' });
  ledger.closed('h', 100, 4001, 'web');
  ledger.opened('h', 350, { platform: 'web', migrate: 'hard' });
  ledger.closed('h', 400, 4001, 'web');
  ledger.opened('h', 450, { platform: 'web', migrate: 'hard' });
  ledger.closed('h', 900, 4002, 'ios'); // still without a connection at 1000
  const summaries = ledger.clients(1000).map((c) => [`${c.user}/${c.platform}`, c.windowsMs, c.longestGapMs]);
  assert.deepEqual(summaries, [
    ['g/web', [], 0],
    ['h/web', [250, 50], 250],
    ['h/ios', [], 100],
  ]);
  assert.deepEqual(ledger.totals.reconnectWindowsMs, [250, 50]);
});

test('cohorts: users connected before the first push and never stopped, by how they move; the others apart', () => {
  const ledger = new Ledger();
  ledger.opened('graceful', 0);
  ledger.opened('plain', 0, { migrate: 'hard' });
  ledger.opened('stopped', 0);
  ledger.opened('split', 0, { platform: 'web' });
  ledger.sent('m0', ['graceful'], 100);
  ledger.opened('late', 150);
  ledger.opened('split', 150, { platform: 'ios' }); // one platform late: the user is late
  ledger.stopped('stopped');
  ledger.closed('stopped', 160);
  const users = ['graceful', 'plain', 'stopped', 'late', 'split', 'never'];
  ledger.sent('m1', users, 200);
  for (const user of users) ledger.answered('m1', user, user === 'never' ? OFFLINE : REALTIME, 250);
  for (const user of users) ledger.received('m1', user, user === 'split' ? 'ios' : DEFAULT_PLATFORM);
  settled(ledger);
  const cohorts = ledger.clients(300).map((c) => [`${c.user}/${c.platform}`, c.cohort]);
  assert.deepEqual(cohorts, [
    ['graceful/web', 'graceful'],
    ['plain/web', 'hard'],
    ['stopped/web', 'other'],
    ['split/web', 'other'],
    ['split/ios', 'other'],
    ['late/web', 'other'],
  ]);
  assert.deepEqual(
    COHORTS.map((c) => ledger.cohorts[c].pairs),
    [2, 1, 4],
    'graceful: m0 and m1; hard: m1; other: m1 of stopped, late, split, never',
  );
  assert.equal(ledger.totals.pairs, 7);
});
