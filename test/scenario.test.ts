/**
 * The mission, end to end (issues 7 and 13): on the local control plane with the operator, one
 * proxy, one push and real gateway processes, 2,000 users connected through the proxy (a fifth
 * of them on two platforms, web and ios) receive a steady stream of pushed messages while
 * kubectl scales the IMGateway 1 → 5 → 3 → 6 → 2. Every (message, user) pair is accounted
 * for: 0 lost, 0 misrouted, 0 duplicates. The SDK's clients move make-before-break: a user
 * that stayed connected never lacks a connection and receives every message in real time.
 * Alongside, a tenth of the users are plain clients that do not opt in (they are closed with
 * 4001 and reconnect): their figures are reported, not asserted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DemoTraffic } from '../cli/demo/traffic.js';
import {
  account,
  assertAccounted,
  converged,
  scale,
  startSystem,
  startTraffic,
  type ScenarioSystem,
} from './support/scenario.js';

export const SCENARIO = {
  users: 2000,
  twoPlatformShare: 0.2,
  plainShare: 0.1,
  messagesPerSecond: 500,
  seed: 0x5ce9,
  sequence: [5, 3, 6, 2],
} as const;

test(
  '2,000 users through scaling 1 → 5 → 3 → 6 → 2 under 500 msg/s: graceful clients that stayed connected receive every message in real time and never lack a connection; none misrouted, lost or duplicated',
  { timeout: 600_000 },
  async (t) => {
    let system: ScenarioSystem | undefined;
    let traffic: DemoTraffic | undefined;
    try {
      system = await startSystem({ replicas: 1 });
      traffic = await startTraffic(system.endpoints, {
        users: SCENARIO.users,
        twoPlatformShare: SCENARIO.twoPlatformShare,
        plainShare: SCENARIO.plainShare,
        messagesPerSecond: SCENARIO.messagesPerSecond,
        seed: SCENARIO.seed,
      });
      const steps: string[] = [];
      for (const replicas of SCENARIO.sequence) {
        const started = performance.now();
        await scale(system, replicas);
        const gateway = await converged(system.cluster, replicas);
        steps.push(
          `→ ${replicas}: ring v${gateway.status?.ring?.version} converged in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      }
      const accounting = await account(traffic);
      t.diagnostic(steps.join('; '));
      for (const line of accounting.lines) t.diagnostic(line);
      assertAccounted(traffic, accounting, { minMessages: 500 });
      assert.equal(accounting.pushErrors, 0, 'push answered every call');
      assert.equal(accounting.totals.duplicates, 0, 'no (message, user, platform) received twice');
      const { moves } = accounting.totals;
      assert.ok(moves.graceful > 0, 'graceful clients were moved');
      assert.ok(moves.closed > 0, 'plain clients were moved (closed with 4001/4002)');

      const graceful = accounting.byMigration.graceful;
      const plainUsers = Math.round(SCENARIO.users * SCENARIO.plainShare);
      assert.deepEqual(
        [graceful.users, accounting.byMigration.hard.users],
        [SCENARIO.users - plainUsers, plainUsers],
        'every user connected before the first push and stayed',
      );
      assert.equal(
        graceful.totals.offline,
        0,
        `offline for graceful users: ${JSON.stringify(graceful.totals.offlineByReason)}`,
      );
      assert.equal(
        graceful.totals.received,
        graceful.totals.pairs,
        `received in real time: ${graceful.realtimeShare} %`,
      );
      const apart = accounting.clients.filter((c) => c.cohort === 'graceful' && c.longestGapMs > 0);
      assert.deepEqual(
        apart.map((c) => `${c.user}/${c.platform}: ${c.longestGapMs} ms`),
        [],
        'no graceful client was ever without an open connection',
      );
      // Plain clients (cohort hard) are reported above, not asserted: between their 4001 and
      // their reconnect they have no connection, and a message for them past push's handoff
      // window ends offline (not a misroute: they were not connected).
    } finally {
      await traffic?.close();
      await system?.close();
    }
  },
);
