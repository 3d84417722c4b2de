/**
 * Local workloads benchmark: time from `kubectl scale sts --replicas=5` (from 1) until all five
 * pods are Ready, against the time to start one test-server process by hand and get its first
 * answer (the floor any pod start pays), in the same run.
 *
 * Usage: `node dist/bench/local-scale.js [--json]` (`npm run bench:local`).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { LocalCluster } from '../local/cluster.js';
import { repoRoot } from '../test/support/fixtures.js';
import { watchUntil } from '../test/support/wait.js';
import { median, progress } from './lib/measure.js';

const ROUNDS = 5;
const SERVER = join(repoRoot, 'dist/test/fixtures/test-server.js');
const run = promisify(execFile);

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-bench-'));
  const cluster = new LocalCluster({ stateDir, images: { 'imring-test/server': [process.execPath, SERVER] } });
  try {
    await cluster.start();
    const baseline = await processStartMs();
    const scale = await scaleRounds(cluster);
    const figures = {
      rounds: ROUNDS,
      scaleTo5MedianMs: median(scale),
      scaleTo5MaxMs: Math.max(...scale),
      processStartMedianMs: baseline,
      ratio: median(scale) / baseline,
    };
    process.stdout.write(
      [
        '| measure | value |',
        '|---|---:|',
        `| kubectl scale 1 → 5, until all pods Ready (median of ${ROUNDS}) | ${figures.scaleTo5MedianMs.toFixed(0)} ms |`,
        `| the same, slowest round | ${figures.scaleTo5MaxMs.toFixed(0)} ms |`,
        `| one test-server process started by hand until it answers (median) | ${baseline.toFixed(0)} ms |`,
        `| scale-out over one process start | ${figures.ratio.toFixed(1)}× |`,
        '',
      ].join('\n'),
    );
    if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await cluster.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function scaleRounds(cluster: LocalCluster): Promise<number[]> {
  const apps = cluster.kc.makeApiClient(AppsV1Api);
  await apps.createNamespacedStatefulSet({ namespace: 'default', body: statefulSet() });
  await readyCount(cluster, 1);
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    progress(`round ${r + 1}/${ROUNDS}`);
    const start = performance.now();
    await kubectl(cluster, 'scale', 'sts/bench', '--replicas=5');
    await readyCount(cluster, 5);
    times.push(performance.now() - start);
    await kubectl(cluster, 'scale', 'sts/bench', '--replicas=1');
    await readyCount(cluster, 1);
  }
  return times;
}

function kubectl(cluster: LocalCluster, ...args: string[]): Promise<unknown> {
  return run(
    '/usr/bin/kubectl',
    ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(cluster.stateDir, 'kubectl-cache'), ...args],
    { timeout: 60_000 },
  );
}

/** Resolves when exactly `count` bench pods exist and all are Ready. */
function readyCount(cluster: LocalCluster, count: number): Promise<true> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  return watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=bench' })).items;
    const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return pods.length === count && ready.length === count ? true : undefined;
  });
}

/** Median time to spawn the test server and get 200 from /ready, by hand. */
async function processStartMs(): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    const child = spawn(process.execPath, [SERVER], {
      env: { ...process.env, POD_IP: '127.0.0.1', PORT: '0' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        const match = /listening on [\d.]+:(\d+)/.exec(chunk.toString());
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', () => reject(new Error('test server exited')));
    });
    await fetch(`http://127.0.0.1:${port}/ready`);
    times.push(performance.now() - start);
    child.kill('SIGKILL');
  }
  return median(times);
}

function statefulSet(): Parameters<AppsV1Api['createNamespacedStatefulSet']>[0]['body'] {
  return {
    metadata: { name: 'bench' },
    spec: {
      replicas: 1,
      serviceName: 'bench',
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'bench' } },
      template: {
        metadata: { labels: { app: 'bench' } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'server',
              image: 'imring-test/server:1',
              env: [
                { name: 'PORT', value: '8080' },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              ],
              readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

await main();
