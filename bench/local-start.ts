/**
 * What `npm start` waits for: `imring local`'s control plane up (its ready line), then imring
 * installed and the sample's ring converged at its 3 replicas, the path `imring local` takes
 * (LocalCluster, then installImring), without the demo traffic. Two builds, alternating, in one
 * run: this tree, and a baseline revision (default: the last one before imring local installed
 * `config/` unchanged, when the operator, proxy and push were single bare pods), checked out and
 * built in a temporary directory. Each round runs in a child process of its build. Median of the
 * rounds, and the ratio.
 *
 * Usage: `node dist/bench/local-start.js [--json] [--rounds N] [--baseline REV]` (`npm run bench:local-start`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median, progress } from './lib/measure.js';

/** The repository root: this file runs as dist/bench/local-start.js. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The last revision before Deployments, Services and `config/` on the local plane. */
const DEFAULT_BASELINE = 'aecd72b';

/** One round in a build's tree: prints `{"readyMs":…,"convergedMs":…}`. */
const ROUND = `
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMRING_CLUSTER_OPTIONS, installImring, SAMPLE } from './dist/cli/local-system.js';
import { LocalCluster } from './dist/local/cluster.js';
import { converged } from './dist/test/support/scenario.js';
const dir = await mkdtemp(join(tmpdir(), 'imring-bench-start-'));
const cluster = new LocalCluster({ ...IMRING_CLUSTER_OPTIONS, stateDir: join(dir, 'cluster') });
const started = performance.now();
try {
  await cluster.start();
  const readyMs = performance.now() - started;
  await installImring(cluster, { replicas: SAMPLE.replicas });
  await converged(cluster, SAMPLE.replicas);
  process.stdout.write(JSON.stringify({ readyMs, convergedMs: performance.now() - started }) + '\\n');
} finally {
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
}
`;

interface Round {
  readonly readyMs: number;
  readonly convergedMs: number;
}

function runRound(tree: string): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', ROUND], {
      cwd: tree,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Round);
      else reject(new Error(`a round in ${tree} exited with ${code}`));
    });
  });
}

/** Checks `revision` out into a temporary directory and builds it with this tree's dependencies. */
async function buildBaseline(revision: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-bench-baseline-'));
  progress(`building the baseline ${revision} in ${dir}`);
  execFileSync('sh', ['-c', `git -C '${ROOT}' archive '${revision}' | tar -x -C '${dir}'`], { stdio: 'inherit' });
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    stdio: 'inherit',
  });
  return dir;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '3' },
      baseline: { type: 'string', default: DEFAULT_BASELINE },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds must be a whole number ≥ 1`);
  const baseline = await buildBaseline(values.baseline);
  const builds = [
    { label: `${values.baseline} (before: bare operator, proxy and push pods)`, tree: baseline },
    { label: 'this tree (config/ applied: Deployments behind Services)', tree: ROOT },
  ];
  try {
    const results = builds.map(() => [] as Round[]);
    for (let r = 0; r < rounds; r++) {
      for (const [i, build] of builds.entries()) {
        progress(`round ${r + 1}/${rounds}: ${build.label}`);
        results[i]!.push(await runRound(build.tree));
      }
    }
    report(
      rounds,
      builds.map((build, i) => ({
        build: build.label,
        readyMs: Math.round(median(results[i]!.map((x) => x.readyMs))),
        convergedMs: Math.round(median(results[i]!.map((x) => x.convergedMs))),
      })),
      values.json,
    );
  } finally {
    await rm(baseline, { recursive: true, force: true });
  }
}

interface Row {
  readonly build: string;
  readonly readyMs: number;
  readonly convergedMs: number;
}

function report(rounds: number, rows: readonly Row[], json: boolean): void {
  const [before, now] = rows as [Row, Row];
  const ratio = now.convergedMs / before.convergedMs;
  const lines = [
    `imring local without demo traffic, median of ${rounds} rounds (alternating):`,
    '',
    '| build | control plane ready, ms | sample ring converged (3 gateways), ms |',
    '|---|---:|---:|',
    ...rows.map((r) => `| ${r.build} | ${r.readyMs} | ${r.convergedMs} |`),
    '',
    `now / before, ring converged: ${ratio.toFixed(2)}× (${ratio <= 1.2 ? 'PASS' : 'FAIL'}: at most 1.2×)`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
  if (json) process.stdout.write(`${JSON.stringify({ rounds, rows, ratio: Number(ratio.toFixed(3)) })}\n`);
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
  process.exitCode = 1;
}
