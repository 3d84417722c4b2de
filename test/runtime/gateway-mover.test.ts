import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY } from '../../ring/index.js';
import { ConnectionTable } from '../../runtime/gateway/connections.js';
import { ConnectionMover, encodeMigrateFrame, type MigrationOutcome } from '../../runtime/gateway/mover.js';
import { FakeClock, fakeConnection, type RecordingConnection } from './gateway-fixture.js';

const policy = { ...DEFAULT_POLICY, handoffWindowMs: 2000, moveDeadlineMs: 1000 };

/** A mover over a fresh table; `kept` users are given back to this gateway by the ring. */
function newMover(kept: Set<string> = new Set()) {
  const clock = new FakeClock();
  const table = new ConnectionTable('im-0');
  const outcomes: MigrationOutcome[] = [];
  const mover = new ConnectionMover({
    connections: table,
    timers: clock.timers,
    now: clock.now,
    policy: () => policy,
    isKept: (userID) => kept.has(userID),
    onOutcome: (outcome) => outcomes.push(outcome),
  });
  const connect = (userID: string, platform: string, graceful: boolean): RecordingConnection => {
    const connection = fakeConnection(table, { userID, platform, graceful });
    table.add(connection);
    return connection;
  };
  return { clock, table, outcomes, mover, connect };
}

function framesOf(connection: RecordingConnection): unknown[] {
  return connection.frames.map((f): unknown => JSON.parse(f.toString()));
}

test('a graceful connection is asked to move once; one that opted out is closed with the code of the reason', () => {
  const { clock, table, outcomes, mover, connect } = newMover();
  const web = connect('a', 'web', false);
  const ios = connect('a', 'ios', true);
  const shut = connect('s', 'web', false);
  assert.equal(mover.move('a', 'ring'), 2, 'a frame costs the budget of a close');
  assert.deepEqual(web.closes, [4001]);
  assert.deepEqual(framesOf(ios), [{ type: 'migrate', reason: 'ring', deadlineMs: 1000 }]);
  assert.deepEqual([ios.closes, table.size, mover.moving], [[], 2, 1]);
  assert.equal(table.wasMigrated('a', clock.nowMs, 2000), false, 'not while its ios connection is here');
  assert.equal(mover.move('a', 'ring'), 0, 'already asked: nothing to do, no budget used');
  assert.equal(ios.frames.length, 1);
  assert.equal(mover.move('s', 'shutdown'), 1);
  assert.deepEqual(shut.closes, [4002]);
  assert.equal(table.wasMigrated('s', clock.nowMs, 2000), true);
  assert.deepEqual(outcomes, ['closed', 'closed']);
  assert.deepEqual(clock.pending(), [1000]);
  assert.equal(encodeMigrateFrame('shutdown', 5).toString(), '{"type":"migrate","reason":"shutdown","deadlineMs":5}');
});

test('a connection still here at its deadline is closed with 4001 or 4002; a client that moved cancels it', () => {
  const { clock, table, outcomes, mover, connect } = newMover();
  const late = connect('late', 'web', true);
  const down = connect('down', 'web', true);
  const moved = connect('moved', 'web', true);
  mover.move('late', 'ring');
  mover.move('down', 'shutdown');
  mover.move('moved', 'ring');
  clock.advance(400);
  table.remove(moved);
  mover.closed(moved, { byClient: true });
  assert.deepEqual(outcomes, ['graceful']);
  assert.equal(table.wasMigrated('moved', clock.nowMs, 2000), true);
  assert.deepEqual(clock.pending(), [600, 600], "the moved connection's deadline is cancelled");
  clock.advance(599);
  assert.deepEqual([late.closes, down.closes], [[], []]);
  clock.advance(1);
  assert.deepEqual([late.closes, down.closes, moved.closes], [[4001], [4002], []]);
  assert.deepEqual(outcomes, ['graceful', 'deadline', 'deadline']);
  assert.deepEqual([table.size, mover.moving], [0, 0]);
  assert.equal(table.wasMigrated('late', clock.nowMs, 2000), true);
  mover.closed(late, { byClient: false });
  assert.deepEqual(outcomes.length, 3, 'the socket closing after the deadline close is no second outcome');
});

test('a moving connection that drops, or is replaced by its new connection, ends its move', () => {
  const { clock, table, outcomes, mover, connect } = newMover();
  const dropped = connect('d', 'web', true);
  const old = connect('r', 'web', true);
  mover.move('d', 'ring');
  mover.move('r', 'ring');
  table.remove(dropped);
  mover.closed(dropped, { byClient: false });
  assert.equal(table.wasMigrated('d', clock.nowMs, 2000), false, 'dropped is not moved');
  const replacing = fakeConnection(table, { userID: 'r', platform: 'web', graceful: true });
  assert.equal(table.add(replacing), old);
  mover.replaced(old);
  assert.equal(table.wasMigrated('r', clock.nowMs, 2000), false, 'its new connection is here');
  assert.deepEqual([outcomes, clock.pending(), mover.moving], [['graceful'], [], 0]);
});

test('a ring move whose user was given back is not closed at its deadline; a shutdown move is', () => {
  const { clock, outcomes, mover, connect } = newMover(new Set(['back']));
  const back = connect('back', 'web', true);
  const leaving = connect('back', 'ios', true);
  mover.move('back', 'ring');
  clock.advance(1000);
  assert.deepEqual([back.closes, leaving.closes, outcomes, mover.moving], [[], [], [], 0]);
  mover.move('back', 'shutdown');
  mover.clear();
  assert.deepEqual(clock.pending(), [], 'clear() cancels every deadline');
  mover.move('back', 'shutdown');
  clock.advance(1000);
  assert.deepEqual([back.closes, leaving.closes, outcomes], [[4002], [4002], ['deadline', 'deadline']]);
});
