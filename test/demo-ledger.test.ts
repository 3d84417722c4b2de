import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEAD_CONNECTION_WINDOW_MS, Ledger } from '../cli/demo/ledger.js';

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
