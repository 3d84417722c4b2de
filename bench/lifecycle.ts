/**
 * A rollout under traffic (issue 14), two ways in one run, with the same users, seed and
 * `kubectl rollout restart sts/<name>`:
 * - ring-aware (the operator's default): the StatefulSet is OnDelete; the operator takes one
 *   member out of the ring, its users move make-before-break, the pod is replaced once it holds
 *   none, the new pod joins when Ready, then the next;
 * - plain StatefulSet RollingUpdate (`imring operator --rollout statefulset`, gateways with
 *   `IMRING_SHUTDOWN=close`): the StatefulSet controller deletes the pods, a stopping gateway
 *   closes its users with 4002 at once, and membership follows readiness.
 * Per run: the share of pairs received in real time (users connected throughout), offline and
 * misrouted pairs, reconnects, each client's longest time without a connection (p50, p99, max),
 * how long the rollout took and the pods replaced.
 *
 * Usage: `node dist/bench/lifecycle.js [--json] [--seed N] [--users N]` (`npm run bench:lifecycle`).
 * Markdown on stdout, progress on stderr; with `--json` the last line is one JSON object.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SAMPLE } from '../cli/local-system.js';
import { runKubectl } from '../test/support/kubectl.js';
import { PodHistory, rolledOut, updateRevision } from '../test/support/lifecycle.js';
import { account, percentile, startSystem, startTraffic, type Accounting } from '../test/support/scenario.js';
import { progress } from './lib/measure.js';

const CONFIG = { replicas: 3, twoPlatformShare: 0.2, messagesPerSecond: 400 } as const;

type Mode = 'ring-aware' | 'statefulset';

interface Run {
  readonly mode: Mode;
  readonly rolloutSeconds: number;
  readonly replaced: Record<string, number>;
  readonly accounting: Accounting;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      seed: { type: 'string', default: '7' },
      users: { type: 'string', default: '1000' },
    },
  });
  const seed = Number(values.seed);
  const users = Number(values.users);
  const runs: Run[] = [];
  for (const mode of ['ring-aware', 'statefulset'] as const) runs.push(await run({ mode, seed, users }));
  report(runs, { seed, users, json: values.json });
}

async function run(init: { mode: Mode; seed: number; users: number }): Promise<Run> {
  const plain = init.mode === 'statefulset';
  progress(`${init.mode}: starting the local control plane, the operator, proxy, push and ${CONFIG.replicas} gateways`);
  const system = await startSystem({
    replicas: CONFIG.replicas,
    prefix: 'imring-bench-lifecycle-',
    ...(plain ? { operatorArgs: ['--rollout', 'statefulset'] } : {}),
  });
  const kubectl = async (args: string[]): Promise<void> => {
    const result = await runKubectl(system.cluster.kubeconfigPath, system.dir, args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  };
  try {
    if (plain) {
      // Gateways that close their users with 4002 on SIGTERM, rolled out before the traffic starts.
      const env = [{ name: 'IMRING_SHUTDOWN', value: 'close' }];
      const from = await updateRevision(system.cluster.kc);
      await kubectl([
        'patch',
        `imgw/${SAMPLE.name}`,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { podTemplate: { env } } }),
      ]);
      await rolledOut(system.cluster.kc, CONFIG.replicas, from);
    }
    progress(`${init.mode}: ${init.users} users connecting, then ${CONFIG.messagesPerSecond} msg/s`);
    const traffic = await startTraffic(system.endpoints, {
      users: init.users,
      twoPlatformShare: CONFIG.twoPlatformShare,
      messagesPerSecond: CONFIG.messagesPerSecond,
      seed: init.seed,
    });
    const history = new PodHistory(system.cluster.kc);
    try {
      await history.start();
      progress(`${init.mode}: kubectl rollout restart sts/${SAMPLE.name}`);
      const from = await updateRevision(system.cluster.kc);
      const started = performance.now();
      await kubectl(['rollout', 'restart', `statefulset/${SAMPLE.name}`]);
      await rolledOut(system.cluster.kc, CONFIG.replicas, from);
      const rolloutSeconds = (performance.now() - started) / 1000;
      progress(`${init.mode}: rolled out in ${rolloutSeconds.toFixed(1)} s; settling every pair`);
      await traffic.allConnected(60_000);
      const accounting = await account(traffic);
      return { mode: init.mode, rolloutSeconds, replaced: history.replacements(), accounting };
    } finally {
      history.stop();
      await traffic.close();
    }
  } finally {
    await system.close();
  }
}

type Figures = ReturnType<typeof figures>;

function figures(r: Run) {
  const stayed = r.accounting.byMigration.graceful;
  const gaps = r.accounting.clients.map((c) => c.longestGapMs);
  return {
    mode: r.mode,
    rolloutSeconds: Number(r.rolloutSeconds.toFixed(1)),
    podsReplaced: Object.values(r.replaced).reduce((a, b) => a + b, 0),
    pairs: stayed.totals.pairs,
    realtimeShare: stayed.realtimeShare,
    offline: stayed.totals.offline,
    offlineByReason: stayed.totals.offlineByReason,
    misrouted: r.accounting.totals.misrouted,
    lost: r.accounting.totals.lost,
    duplicates: r.accounting.totals.duplicates,
    reconnects: r.accounting.totals.reconnectWindowsMs.length,
    withoutConnectionMs: { p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99), max: Math.max(0, ...gaps) },
  };
}

function report(runs: readonly Run[], init: { seed: number; users: number; json: boolean | undefined }): void {
  const rows = runs.map(figures);
  const lines = [
    `Seed ${init.seed}: ${init.users} SDK users (a fifth on two platforms), ${CONFIG.messagesPerSecond} msg/s, ${CONFIG.replicas} gateways, kubectl rollout restart`,
    '',
    '| rollout | took, s | pods replaced | pairs (users connected throughout) | received in real time | offline | misrouted | lost | duplicates | reconnects | time without a connection p50 / p99 / max |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const gap = r.withoutConnectionMs;
      return `| ${r.mode} | ${r.rolloutSeconds} | ${r.podsReplaced} | ${r.pairs} | ${r.realtimeShare.toFixed(2)} % | ${r.offline} ${JSON.stringify(r.offlineByReason)} | ${r.misrouted} | ${r.lost} | ${r.duplicates} | ${r.reconnects} | ${gap.p50} / ${gap.p99} / ${gap.max} ms |`;
    }),
    '',
    `Ratios, ring-aware / statefulset: rollout time ${ratio(rows, (r) => r.rolloutSeconds)}, time without a connection (max) ${ratio(rows, (r) => r.withoutConnectionMs.max)}`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (init.json)
    process.stdout.write(`${JSON.stringify({ config: CONFIG, seed: init.seed, users: init.users, runs: rows })}\n`);
}

/** `value` of the ring-aware run over the statefulset run's (the order of {@link main}). */
function ratio(rows: readonly Figures[], value: (r: Figures) => number): string {
  const [ring, plain] = rows.map(value) as [number, number];
  return plain === 0 ? '—' : (ring / plain).toFixed(2);
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
  process.exitCode = 1;
}
