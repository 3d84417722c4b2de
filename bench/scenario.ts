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
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { DemoTraffic } from '../cli/demo/traffic.js';
import type { LedgerTotals } from '../cli/demo/ledger.js';
import { installImring, SAMPLE } from '../cli/local-system.js';
import { LocalCluster } from '../local/cluster.js';
import { runKubectl } from '../test/support/kubectl.js';
import { seededRandom } from '../test/support/random.js';
import { converged } from '../test/support/scenario.js';
import { progress } from './lib/measure.js';

const CONFIG = { users: 1000, messagesPerSecond: 400, maxReplicas: 8 } as const;

interface Phase {
  readonly label: string;
  readonly seconds: number;
  readonly totals: LedgerTotals;
  readonly messages: number;
  readonly steps: readonly { readonly to: number; readonly version: number; readonly seconds: number }[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, seed: { type: 'string', default: '7' }, steps: { type: 'string', default: '10' } } });
  const seed = Number(values.seed);
  const random = seededRandom(seed);
  let current = 1;
  const sequence: number[] = [];
  while (sequence.length < Number(values.steps)) {
    const next = 1 + Math.floor(random() * CONFIG.maxReplicas);
    if (next !== current) sequence.push((current = next));
  }
  const dir = await mkdtemp(join(tmpdir(), 'imring-bench-scenario-'));
  const cluster = new LocalCluster({ stateDir: join(dir, 'cluster') });
  try {
    await cluster.start();
    const endpoints = await installImring(cluster, { replicas: 1, onProgress: progress });
    await converged(cluster, 1);
    const scaled = await run({ cluster, dir, endpoints, seed, sequence });
    const steady = await run({ cluster, dir, endpoints, seed: seed + 1, sequence: [], seconds: scaled.seconds });
    report([steady, scaled], { seed, sequence, json: values.json });
  } finally {
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function run(init: { cluster: LocalCluster; dir: string; endpoints: Awaited<ReturnType<typeof installImring>>; seed: number; sequence: readonly number[]; seconds?: number }): Promise<Phase> {
  const label = init.sequence.length > 0 ? `scaling 1 → ${init.sequence.join(' → ')}` : 'steady (no scaling)';
  progress(`${label}: connecting ${CONFIG.users} users`);
  const traffic = new DemoTraffic({ ...init.endpoints, users: CONFIG.users, messagesPerSecond: CONFIG.messagesPerSecond, seed: init.seed });
  const steps: { to: number; version: number; seconds: number }[] = [];
  try {
    await traffic.connect();
    const started = performance.now();
    traffic.start();
    for (const to of init.sequence) {
      const at = performance.now();
      const result = await runKubectl(init.cluster.kubeconfigPath, init.dir, ['scale', `imgw/${SAMPLE.name}`, `--replicas=${to}`]);
      if (result.code !== 0) throw new Error(`kubectl scale failed: ${result.stderr}`);
      const gateway = await converged(init.cluster, to);
      steps.push({ to, version: gateway.status?.ring?.version ?? 0, seconds: (performance.now() - at) / 1000 });
      progress(`  → ${to}: ring v${gateway.status?.ring?.version} converged in ${steps.at(-1)!.seconds.toFixed(1)} s`);
    }
    if (init.seconds !== undefined) await new Promise((resolve) => setTimeout(resolve, init.seconds! * 1000)); // the baseline's length: load, not a wait for an event
    await traffic.stop();
    const seconds = (performance.now() - started) / 1000;
    await traffic.receipts();
    traffic.ledger.settle(Number.POSITIVE_INFINITY);
    return { label, seconds, totals: traffic.ledger.totals, messages: traffic.counts.messages, steps };
  } finally {
    await traffic.close();
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function report(phases: readonly Phase[], init: { seed: number; sequence: readonly number[]; json: boolean | undefined }): void {
  const share = (p: Phase): number => (100 * p.totals.received) / Math.max(1, p.totals.pairs);
  const lines = [
    `Seed ${init.seed}: ${CONFIG.users} users, ${CONFIG.messagesPerSecond} msg/s, scaling 1 → ${init.sequence.join(' → ')}`,
    '',
    '| run | seconds | messages | (message, user) pairs | received in real time | offline (not connected) | misrouted | lost | duplicates | reconnects | p99 reconnect window |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...phases.map((p) => `| ${p.label} | ${p.seconds.toFixed(0)} | ${p.messages} | ${p.totals.pairs} | ${share(p).toFixed(2)} % | ${p.totals.offline} | ${p.totals.misrouted} | ${p.totals.lost} | ${p.totals.duplicates} | ${p.totals.reconnectWindowsMs.length} | ${percentile(p.totals.reconnectWindowsMs, 0.99)} ms |`),
    '',
    `Realtime share while scaling / steady: ${(share(phases[1]!) / share(phases[0]!)).toFixed(4)}`,
    `Convergence per step (s): ${phases[1]!.steps.map((s) => `→${s.to} ${s.seconds.toFixed(1)}`).join(', ')}`,
    `${phases.every((p) => p.totals.misrouted === 0 && p.totals.lost === 0) ? 'PASS' : 'FAIL'} misrouted 0 and lost 0 in every run`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  const compact = phases.map((p) => ({ ...p, totals: { ...p.totals, reconnectWindowsMs: undefined, reconnects: p.totals.reconnectWindowsMs.length, reconnectP50Ms: percentile(p.totals.reconnectWindowsMs, 0.5), reconnectP99Ms: percentile(p.totals.reconnectWindowsMs, 0.99) } }));
  if (init.json) process.stdout.write(`${JSON.stringify({ config: CONFIG, seed: init.seed, sequence: init.sequence, phases: compact })}\n`);
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
}
process.exit(0);
