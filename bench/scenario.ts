/**
 * The end-to-end scenario, longer and randomized (issue 7): the whole system on a local control
 * plane (operator, proxy, push, real gateway processes), simulated users through the proxy and
 * a steady push stream, while kubectl scales the IMGateway through a seeded random sequence.
 * Every (message, user) pair is accounted for (cli/demo/ledger.ts). Baseline in the same run:
 * the same traffic for the same time with no scaling, so the realtime share under scaling is
 * a ratio to the steady one.
 *
 * Usage: `node dist/bench/scenario.js [--json] [--seed N] [--steps N]` (`npm run bench:scenario`).
 * Markdown tables on stdout, progress on stderr; with `--json` the last line is one JSON object.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seededRandom } from '../test/support/random.js';
import {
  account,
  converged,
  scale,
  startSystem,
  startTraffic,
  type Accounting,
  type ScenarioSystem,
} from '../test/support/scenario.js';
import { progress } from './lib/measure.js';

const CONFIG = { users: 1000, messagesPerSecond: 400, maxReplicas: 8 } as const;

interface Phase {
  readonly label: string;
  readonly seconds: number;
  readonly accounting: Accounting;
  readonly steps: readonly { readonly to: number; readonly version: number; readonly seconds: number }[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      seed: { type: 'string', default: '7' },
      steps: { type: 'string', default: '10' },
    },
  });
  const seed = Number(values.seed);
  const random = seededRandom(seed);
  let current = 1;
  const sequence: number[] = [];
  while (sequence.length < Number(values.steps)) {
    const next = 1 + Math.floor(random() * CONFIG.maxReplicas);
    if (next !== current) sequence.push((current = next));
  }
  progress('starting the local control plane, the operator, proxy, push and 1 gateway');
  const system = await startSystem({ replicas: 1, prefix: 'imring-bench-scenario-' });
  try {
    const scaled = await run({ system, seed, sequence });
    const steady = await run({ system, seed: seed + 1, sequence: [], seconds: scaled.seconds });
    report([steady, scaled], { seed, sequence, json: values.json });
  } finally {
    await system.close();
  }
}

async function run(init: {
  system: ScenarioSystem;
  seed: number;
  sequence: readonly number[];
  seconds?: number;
}): Promise<Phase> {
  const label = init.sequence.length > 0 ? `scaling 1 → ${init.sequence.join(' → ')}` : 'steady (no scaling)';
  progress(`${label}: connecting ${CONFIG.users} users`);
  const traffic = await startTraffic(init.system.endpoints, {
    users: CONFIG.users,
    messagesPerSecond: CONFIG.messagesPerSecond,
    seed: init.seed,
  });
  const started = performance.now();
  const steps: { to: number; version: number; seconds: number }[] = [];
  try {
    for (const to of init.sequence) {
      const at = performance.now();
      await scale(init.system, to);
      const gateway = await converged(init.system.cluster, to);
      steps.push({ to, version: gateway.status?.ring?.version ?? 0, seconds: (performance.now() - at) / 1000 });
      progress(`  → ${to}: ring v${gateway.status?.ring?.version} converged in ${steps.at(-1)!.seconds.toFixed(1)} s`);
    }
    // The baseline's length: load, not a wait for an event.
    if (init.seconds !== undefined) await new Promise((resolve) => setTimeout(resolve, init.seconds! * 1000));
    const seconds = (performance.now() - started) / 1000;
    return { label, seconds, accounting: await account(traffic), steps };
  } finally {
    await traffic.close();
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function report(
  phases: readonly Phase[],
  init: { seed: number; sequence: readonly number[]; json: boolean | undefined },
): void {
  const lines = [
    `Seed ${init.seed}: ${CONFIG.users} users, ${CONFIG.messagesPerSecond} msg/s, scaling 1 → ${init.sequence.join(' → ')}`,
    '',
    '| run | seconds | messages | (message, user) pairs | received in real time | offline (not connected) | misrouted | lost | duplicates | reconnects | p99 reconnect window |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...phases.map(
      ({ label, seconds, accounting: { messages, totals: t, realtimeShare, p99ReconnectMs } }) =>
        `| ${label} | ${seconds.toFixed(0)} | ${messages} | ${t.pairs} | ${realtimeShare.toFixed(2)} % | ${t.offline} | ${t.misrouted} | ${t.lost} | ${t.duplicates} | ${t.reconnectWindowsMs.length} | ${p99ReconnectMs} ms |`,
    ),
    '',
    `Realtime share while scaling / steady: ${(phases[1]!.accounting.realtimeShare / phases[0]!.accounting.realtimeShare).toFixed(4)}`,
    `Convergence per step (s): ${phases[1]!.steps.map((s) => `→${s.to} ${s.seconds.toFixed(1)}`).join(', ')}`,
    `${phases.every((p) => p.accounting.totals.misrouted === 0 && p.accounting.totals.lost === 0) ? 'PASS' : 'FAIL'} misrouted 0 and lost 0 in every run`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const compact = phases.map(({ label, seconds, steps, accounting: { messages, totals, p99ReconnectMs } }) => ({
    label,
    seconds,
    messages,
    steps,
    totals: {
      ...totals,
      reconnectWindowsMs: undefined,
      reconnects: totals.reconnectWindowsMs.length,
      reconnectP50Ms: percentile(totals.reconnectWindowsMs, 0.5),
      reconnectP99Ms: p99ReconnectMs,
    },
  }));
  if (init.json)
    process.stdout.write(
      `${JSON.stringify({ config: CONFIG, seed: init.seed, sequence: init.sequence, phases: compact })}\n`,
    );
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
}
process.exit(0);
