/**
 * What `npm start` waits for (issue 15): `imring local`'s control plane up (its ready line), then
 * imring installed and the sample's ring converged at its 3 replicas, the path `imring local`
 * takes (LocalCluster, then installImring), without the demo traffic. Two ways, alternating, in
 * one run: as the local plane is now (3 Nodes and a scheduler, pods running as their
 * ServiceAccounts under RBAC) and as it was before them (one node, every pod with the admin
 * kubeconfig). Median of the rounds, and the ratio.
 *
 * Usage: `node dist/bench/local-start.js [--json] [--rounds N]` (`npm run bench:local-start`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { IMRING_CLUSTER_OPTIONS, installImring, SAMPLE } from '../cli/local-system.js';
import { LocalCluster, type LocalClusterOptions } from '../local/cluster.js';
import { converged } from '../test/support/scenario.js';
import { median, progress } from './lib/measure.js';

interface Setup {
  readonly label: string;
  readonly options: Pick<LocalClusterOptions, 'nodes' | 'podCredentials'>;
}

const SETUPS: readonly Setup[] = [
  { label: 'one node, admin credentials (before)', options: { nodes: 1, podCredentials: 'admin' } },
  { label: '3 Nodes, ServiceAccounts under RBAC (now)', options: {} },
];

interface Round {
  readonly readyMs: number;
  readonly convergedMs: number;
}

async function round(setup: Setup): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-bench-start-'));
  const cluster = new LocalCluster({ ...IMRING_CLUSTER_OPTIONS, stateDir: join(dir, 'cluster'), ...setup.options });
  const started = performance.now();
  try {
    await cluster.start();
    const readyMs = performance.now() - started;
    await installImring(cluster, { replicas: SAMPLE.replicas });
    await converged(cluster, SAMPLE.replicas);
    return { readyMs, convergedMs: performance.now() - started };
  } finally {
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { json: { type: 'boolean', default: false }, rounds: { type: 'string', default: '3' } },
  });
  const rounds = Number(values.rounds);
  const results = SETUPS.map(() => [] as Round[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, setup] of SETUPS.entries()) {
      progress(`round ${r + 1}/${rounds}: ${setup.label}`);
      results[i]!.push(await round(setup));
    }
  }
  const rows = SETUPS.map((setup, i) => ({
    setup: setup.label,
    readyMs: Math.round(median(results[i]!.map((x) => x.readyMs))),
    convergedMs: Math.round(median(results[i]!.map((x) => x.convergedMs))),
  }));
  const [before, now] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const ratio = now.convergedMs / before.convergedMs;
  const lines = [
    `imring local without demo traffic, median of ${rounds} rounds (alternating):`,
    '',
    '| local plane | control plane ready, ms | sample ring converged (3 gateways), ms |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.setup} | ${r.readyMs} | ${r.convergedMs} |`),
    '',
    `now / before, ring converged: ${ratio.toFixed(2)}× (${ratio <= 1.2 ? 'PASS' : 'FAIL'}: at most 1.2×)`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (values.json) process.stdout.write(`${JSON.stringify({ rounds, rows, ratio: Number(ratio.toFixed(3)) })}\n`);
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
  process.exitCode = 1;
}
