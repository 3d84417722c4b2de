import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger } from '../cli/demo/ledger.js';
import { formatView, movesText } from '../cli/demo/view.js';

test("the live view shows the demo's moves as they happen: graceful, at the deadline (forced), and plain clients closed", () => {
  const ledger = new Ledger();
  ledger.opened('g', 0);
  ledger.opened('p', 0, { migrate: 'hard' });
  ledger.moved('g', { outcome: 'graceful', overlapMs: 20 });
  ledger.moved('g', { outcome: 'graceful', overlapMs: 30 });
  ledger.moved('g', { outcome: 'forced', overlapMs: 0 });
  ledger.closed('p', 10, 4001);
  assert.equal(movesText(ledger.totals), 'moves: graceful 2, deadline 1, closed 1');
  const view = formatView({
    status: 'ring v3 Committed',
    traffic: {
      rates: { realtimePerSecond: 90, offlinePerSecond: 2, movesPerSecond: 4 },
      totals: ledger.totals,
      messages: 10,
      connected: 1,
      users: 2,
      pushErrors: 0,
    },
    events: [],
    kubeconfig: '/tmp/kubeconfig',
    gateway: 'demo',
    elapsedSeconds: 5,
  });
  assert.match(view, /^ {2}moves: graceful 2, deadline 1, closed 1 \(now 4\/s\)$/m);
});
