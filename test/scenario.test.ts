/**
 * The mission, end to end (issue 7): on the local control plane with the operator, one proxy,
 * one push and real gateway processes, 2,000 users connected through the proxy receive a
 * steady stream of pushed messages while kubectl scales the IMGateway 1 → 5 → 3 → 6 → 2.
 * Every (message, user) pair is accounted for: 0 lost, 0 misrouted.
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

export const SCENARIO = { users: 2000, messagesPerSecond: 500, seed: 0x5ce9, sequence: [5, 3, 6, 2] } as const;

test(
  '2,000 users through scaling 1 → 5 → 3 → 6 → 2 under 500 msg/s: every message received or reported offline, none misrouted, none lost',
  { timeout: 600_000 },
  async (t) => {
    let system: ScenarioSystem | undefined;
    let traffic: DemoTraffic | undefined;
    try {
      system = await startSystem({ replicas: 1 });
      traffic = await startTraffic(system.endpoints, {
        users: SCENARIO.users,
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
      assert.ok(accounting.totals.reconnectWindowsMs.length > 0, 'users were migrated (and reconnected)');
      // Offline pairs are users not connected at send time, or caught between a migration's close
      // and their reconnect for longer than the handoff window (on a loaded machine): both are
      // reported (not lost), and neither is a misroute by the definition.
    } finally {
      await traffic?.close();
      await system?.close();
    }
  },
);
