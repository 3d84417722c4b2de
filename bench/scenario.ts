/**
 * The end-to-end scenario, longer and randomized (issues 7 and 13): the whole system on a local
 * control plane (operator, proxy, push, real gateway processes), simulated users through the
 * proxy (a fifth of them on two platforms) and a steady push stream, while kubectl scales the
 * IMGateway through a seeded random sequence. Every (message, user) pair is accounted for
 * (cli/demo/ledger.ts). In one run, with the same seed and sequence: the SDK's graceful
 * migration (make-before-break), the same users as plain clients that do not opt in (closed
 * with 4001 and reconnecting), and a baseline of the same traffic with no scaling; the CPU the
 * gateway and proxy processes spend while users move (from each ring's Commit to its
 * convergence), and beyond the baseline's rate per moved connection.
 *
 * Usage: `node dist/bench/scenario.js [--json] [--seed N] [--steps N]` (`npm run bench:scenario`).
 * Markdown tables on stdout, progress on stderr; with `--json` the last line is one JSON object.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { MigrateMode } from '../client/index.js';
import { seededRandom } from '../test/support/random.js';
import {
  account,
  CONFIGMAPS_PATH,
  converged,
  percentile,
  ringDocument,
  scale,
  startSystem,
  startTraffic,
  until,
  type Accounting,
  type ScenarioSystem,
} from '../test/support/scenario.js';
import { progress } from './lib/measure.js';
import { CpuWindow, imringCommandOf } from './lib/process-cpu.js';

const CONFIG = { users: 1000, twoPlatformShare: 0.2, messagesPerSecond: 400, maxReplicas: 8 } as const;

interface Run {
  readonly label: string;
  readonly migrate: MigrateMode;
  readonly seconds: number;
  readonly accounting: Accounting;
  readonly steps: readonly { readonly to: number; readonly version: number; readonly seconds: number }[];
  /** CPU of the gateway and proxy processes while users moved (the whole run for the baseline), ms. */
  readonly cpuMs: { readonly gateway: number; readonly proxy: number };
  /** How long users moved: from each Commit to its convergence (the whole run for the baseline), s. */
  readonly movingSeconds: number;
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
  const sequence = scaleSequence(seed, Number(values.steps));
  progress('starting the local control plane, the operator, proxy, push and 1 gateway');
  const system = await startSystem({ replicas: 1, prefix: 'imring-bench-scenario-' });
  try {
    const graceful = await run({ system, seed, sequence, migrate: 'graceful' });
    await reset(system, sequence);
    const hard = await run({ system, seed, sequence, migrate: 'hard' });
    await reset(system, sequence);
    const steady = await run({ system, seed: seed + 1, sequence: [], migrate: 'graceful', seconds: graceful.seconds });
    report([steady, graceful, hard], { seed, sequence, json: values.json });
  } finally {
    await system.close();
  }
}

/** `steps` replica counts from 1 to `CONFIG.maxReplicas`, each different from the one before, starting from 1. */
function scaleSequence(seed: number, steps: number): number[] {
  const random = seededRandom(seed);
  let current = 1;
  const sequence: number[] = [];
  while (sequence.length < steps) {
    const next = 1 + Math.floor(random() * CONFIG.maxReplicas);
    if (next !== current) sequence.push((current = next));
  }
  return sequence;
}

/** Back to 1 gateway, with no traffic, so that the next run starts where the first did. */
async function reset(system: ScenarioSystem, sequence: readonly number[]): Promise<void> {
  if (sequence.at(-1) === 1) return;
  progress('back to 1 gateway');
  await scale(system, 1);
  await converged(system.cluster, 1);
}

async function run(init: {
  system: ScenarioSystem;
  seed: number;
  sequence: readonly number[];
  migrate: MigrateMode;
  seconds?: number;
}): Promise<Run> {
  const { system, migrate } = init;
  const label =
    init.sequence.length > 0
      ? `${migrate === 'graceful' ? 'graceful' : 'plain (4001)'} clients`
      : 'steady (no scaling)';
  progress(`${label}: connecting ${CONFIG.users} users`);
  const traffic = await startTraffic(system.endpoints, {
    users: CONFIG.users,
    twoPlatformShare: CONFIG.twoPlatformShare,
    plainShare: migrate === 'hard' ? 1 : 0,
    messagesPerSecond: CONFIG.messagesPerSecond,
    seed: init.seed,
  });
  const started = performance.now();
  const steps: { to: number; version: number; seconds: number }[] = [];
  let moving = { gateway: 0, proxy: 0, seconds: 0 };
  try {
    for (const to of init.sequence) {
      const at = performance.now();
      const before = (await ringDocument(system.cluster.kc))?.version ?? 0;
      await scale(system, to);
      await committedAfter(system, before);
      const window = await measured(system, () => converged(system.cluster, to));
      const gateway = window.result;
      moving = add(moving, window);
      steps.push({ to, version: gateway.status?.ring?.version ?? 0, seconds: (performance.now() - at) / 1000 });
      progress(`  → ${to}: ring v${gateway.status?.ring?.version} converged in ${steps.at(-1)!.seconds.toFixed(1)} s`);
    }
    if (init.seconds !== undefined) {
      // The baseline's length: load, not a wait for an event.
      const window = await measured(system, () => new Promise((resolve) => setTimeout(resolve, init.seconds! * 1000)));
      moving = add(moving, window);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = { gateway: moving.gateway, proxy: moving.proxy };
    return { label, migrate, seconds, accounting: await account(traffic), steps, cpuMs, movingSeconds: moving.seconds };
  } finally {
    await traffic.close();
  }
}

/** The CPU of gateways and proxy (ms) and the time (s) that `body` took, with its result. */
async function measured<T>(
  system: ScenarioSystem,
  body: () => Promise<T>,
): Promise<{ result: T; gateway: number; proxy: number; seconds: number }> {
  const cpu = new CpuWindow({ pids: () => system.cluster.pids(), groupOf: gatewayOrProxy });
  const started = performance.now();
  cpu.start();
  try {
    const result = await body();
    const spent = cpu.stop();
    return {
      result,
      gateway: spent.gateway ?? 0,
      proxy: spent.proxy ?? 0,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    cpu.stop();
  }
}

function add(
  a: { gateway: number; proxy: number; seconds: number },
  b: { gateway: number; proxy: number; seconds: number },
): { gateway: number; proxy: number; seconds: number } {
  return { gateway: a.gateway + b.gateway, proxy: a.proxy + b.proxy, seconds: a.seconds + b.seconds };
}

/** Resolves once the sample's ring is Committed at a version above `after`. */
function committedAfter(system: ScenarioSystem, after: number): Promise<number> {
  const kc = system.cluster.kc;
  return until(kc, CONFIGMAPS_PATH, async () => {
    const document = await ringDocument(kc);
    return document !== undefined && document.version > after && document.state === 'Committed'
      ? document.version
      : undefined;
  });
}

function gatewayOrProxy(pid: number): string | undefined {
  const command = imringCommandOf(pid);
  return command === 'gateway' || command === 'proxy' ? command : undefined;
}

/** What one run came to, as the table and the JSON line show it. */
function figures(run: Run, steady: Run) {
  const { totals, clients, realtimeShare } = run.accounting;
  const gaps = clients.filter((c) => c.cohort === run.migrate).map((c) => c.longestGapMs);
  const { graceful, forced, closed } = totals.moves;
  const moves = graceful + forced + closed;
  // CPU while users moved beyond what the same processes spent at the baseline's rate, per moved connection.
  const beyond = (group: 'gateway' | 'proxy'): number | null =>
    moves === 0 ? null : (run.cpuMs[group] - (steady.cpuMs[group] * run.movingSeconds) / steady.movingSeconds) / moves;
  return {
    label: run.label,
    seconds: run.seconds,
    messages: run.accounting.messages,
    pairs: totals.pairs,
    realtimeShare,
    /** Users connected throughout: their pairs received in real time, %. */
    stayedRealtimeShare: run.accounting.byMigration[run.migrate].realtimeShare,
    offline: totals.offline,
    misrouted: totals.misrouted,
    lost: totals.lost,
    duplicates: totals.duplicates,
    moves: totals.moves,
    reconnects: totals.reconnectWindowsMs.length,
    withoutConnectionMs: { p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99), max: Math.max(0, ...gaps) },
    movingSeconds: run.movingSeconds,
    cpuMs: run.cpuMs,
    cpuPerMoveMs: { gateway: beyond('gateway'), proxy: beyond('proxy') },
    steps: run.steps,
  };
}

function report(
  runs: readonly Run[],
  init: { seed: number; sequence: readonly number[]; json: boolean | undefined },
): void {
  const steady = runs[0]!;
  const rows = runs.map((r) => figures(r, steady));
  const ms = (n: number | null): string => (n === null ? '—' : n.toFixed(1));
  const lines = [
    `Seed ${init.seed}: ${CONFIG.users} users (a fifth on two platforms), ${CONFIG.messagesPerSecond} msg/s, scaling 1 → ${init.sequence.join(' → ')}`,
    '',
    '| run | seconds | (message, user) pairs | received in real time: all / users connected throughout | offline | misrouted | lost | duplicates | moves: graceful / deadline / closed | reconnects | time without a connection p50 / p99 / max |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.seconds.toFixed(0)} | ${r.pairs} | ${r.realtimeShare.toFixed(2)} % / ${r.stayedRealtimeShare.toFixed(2)} % | ${r.offline} | ${r.misrouted} | ${r.lost} | ${r.duplicates} | ${r.moves.graceful} / ${r.moves.forced} / ${r.moves.closed} | ${r.reconnects} | ${r.withoutConnectionMs.p50} / ${r.withoutConnectionMs.p99} / ${r.withoutConnectionMs.max} ms |`,
    ),
    '',
    '| run | users moving (Commit → converged), s | CPU of gateways, s | CPU of the proxy, s | beyond the steady rate per moved connection: gateways, ms | proxy, ms |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.label} | ${r.movingSeconds.toFixed(1)} | ${(r.cpuMs.gateway / 1000).toFixed(1)} | ${(r.cpuMs.proxy / 1000).toFixed(1)} | ${ms(r.cpuPerMoveMs.gateway)} | ${ms(r.cpuPerMoveMs.proxy)} |`,
    ),
    '',
    ...runs
      .slice(1)
      .map(
        (r) =>
          `Convergence per step, ${r.label} (s): ${r.steps.map((s) => `→${s.to} ${s.seconds.toFixed(1)}`).join(', ')}`,
      ),
    `${runs.every((r) => r.accounting.totals.misrouted === 0 && r.accounting.totals.lost === 0) ? 'PASS' : 'FAIL'} misrouted 0 and lost 0 in every run`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (init.json)
    process.stdout.write(
      `${JSON.stringify({ config: CONFIG, seed: init.seed, sequence: init.sequence, runs: rows })}\n`,
    );
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
}
process.exit(0);
