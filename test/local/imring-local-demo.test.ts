import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { repoRoot } from '../support/fixtures.js';
import { runKubectl } from '../support/kubectl.js';
import { isGone } from '../support/wait.js';
import { SseClient } from '../support/sse-client.js';
import type { Snapshot } from '../../cli/web/snapshot.js';

/** The summary line `imring local` prints every `--summary-seconds` when stdout is not a terminal. */
const SUMMARY =
  /^imring local: (\d+)\/(\d+) connected, \d+ realtime\/s, \d+ offline\/s, settled (\d+), misrouted (\d+), lost (\d+); moves: graceful (\d+), deadline (\d+), closed (\d+)$/;

test('imring local runs the operator, proxy, push and the sample with demo traffic, writes the env file, follows kubectl scale, and stops cleanly', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-local-demo-'));
  const startedMs = performance.now();
  const args = [
    'local',
    '--state-dir',
    stateDir,
    '--users',
    '40',
    '--rate',
    '40',
    '--summary-seconds',
    '1',
    '--web-port',
    '0',
  ];
  const cli = join(repoRoot, 'dist/cli/imring.js');
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const kubeconfig = join(stateDir, 'kubeconfig');
  const kubectl = (...args: string[]) => runKubectl(kubeconfig, stateDir, args);
  const web = new SseClient();
  const snapshotWhere = (accept: (s: Snapshot) => boolean): Promise<Snapshot> =>
    web.waitFor((e) => {
      const snapshot = JSON.parse(e.data) as Snapshot;
      return accept(snapshot) ? snapshot : undefined;
    }, 60_000);
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const nextSummary = async (): Promise<RegExpMatchArray> => {
      for (let line = await lines.next(); !line.done; line = await lines.next()) {
        const match = SUMMARY.exec(line.value);
        if (match) return match;
      }
      throw new Error(`imring local ended: ${stderr}`);
    };
    // Traffic flows: pairs settle, all 40 users connected, nothing misrouted or lost.
    let summary = await nextSummary();
    while (Number(summary[3]) === 0) summary = await nextSummary();
    assert.deepEqual([summary[1], summary[2], summary[4], summary[5]], ['40', '40', '0', '0']);
    const settledAfter = ((performance.now() - startedMs) / 1000).toFixed(1);
    t.diagnostic(`traffic settled ${settledAfter} s after start (a summary a second; pairs settle 5 s after sending)`);
    const env = await readFile(join(stateDir, 'env'), 'utf8');
    for (const name of ['KUBECONFIG', 'IMRING_PROXY_URL', 'IMRING_PUSH_URL', 'IMRING_TOKEN_SECRET', 'IMRING_WEB_URL'])
      assert.match(env, new RegExp(`^export ${name}='[^']+'$`, 'm'));
    // The web view answers with snapshots of the sample: its 3 members, Ready, and the demo's delivery figures.
    const webUrl = /^export IMRING_WEB_URL='(http:\/\/127\.0\.0\.1:\d+\/)'$/m.exec(env)?.[1];
    assert.ok(webUrl, env);
    await web.connect(`${webUrl}events`);
    const three = await snapshotWhere(
      (s) => s.status?.ring.members.length === 3 && (s.delivery?.realtimePerSecond ?? 0) > 0,
    );
    assert.deepEqual([three.name, three.namespace, three.connection.state], ['demo', 'imring-demo', 'live']);
    assert.deepEqual(Object.values(three.ready), [true, true, true]);
    // Clients reach the proxy and push through their Services' virtual addresses, as on a cluster.
    const address = async (svc: string): Promise<string> =>
      (await kubectl('get', 'svc', svc, '-o', 'jsonpath={.spec.clusterIP}:{.spec.ports[0].port}')).stdout;
    assert.match(env, new RegExp(`^export IMRING_PROXY_URL='ws://${await address('demo-proxy')}/ws'$`, 'm'));
    assert.match((await kubectl('get', 'imgw', 'demo')).stdout, /^demo\s+3\s+3\s+\d+\s+Stable\s+True/m);
    // kubectl scale is followed live, and the traffic goes on without a misroute.
    assert.equal((await kubectl('scale', 'imgw/demo', '--replicas=4')).code, 0);
    for (;;) {
      const row = (await kubectl('get', 'imgw', 'demo', '--no-headers')).stdout;
      if (/^demo\s+4\s+4\s+\d+\s+Stable\s+True/.test(row)) break;
      summary = await nextSummary(); // one line a second: the wait is paced by the process under test
    }
    const four = await snapshotWhere((s) => s.status?.ring.members.length === 4);
    assert.ok(
      four.transition && four.transition.version > three.status!.ring.version!,
      JSON.stringify(four.transition),
    );
    // The page's timeline saw the transition through to the end, each step stamped.
    const done = await snapshotWhere(
      (s) => s.transition?.version === four.transition!.version && s.transition.steps.every((step) => step.at !== null),
    );
    assert.deepEqual(
      done.transition!.steps.map((step) => step.name),
      ['Prepared', 'Acknowledged', 'Committed', 'Moved', 'Converged'],
    );
    t.diagnostic(
      `timeline: ${done.transition!.steps.map((step) => `${step.name} +${step.durationMs ?? '-'} ms`).join(', ')}`,
    );
    summary = await nextSummary();
    assert.deepEqual([summary[4], summary[5]], ['0', '0'], 'no misroute, nothing lost through the scale');
    assert.ok(Number(summary[6]) > 0, `the demo's clients moved make-before-break: ${summary[0]}`);
    assert.equal(summary[8], '0', 'no plain client unless asked: none closed with 4001');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const pods = [
      ...(await core.listNamespacedPod({ namespace: 'imring-demo' })).items,
      ...(await core.listNamespacedPod({ namespace: 'imring-system' })).items,
    ];
    // config/ as on a cluster: two replicas of the proxy, push and operator Deployments, and the gateways.
    assert.deepEqual(
      pods.map((p) => p.metadata?.name?.replace(/-[a-z0-9]{6,10}-[a-z0-9]{5}$/, '-*')).sort(),
      ['demo-0', 'demo-1', 'demo-2', 'demo-3', 'demo-proxy-*', 'demo-proxy-*', 'demo-push-*', 'demo-push-*'].concat([
        'imring-operator-*',
        'imring-operator-*',
      ]),
    );
    const pids = pods.map((p) => Number(p.status?.containerStatuses?.[0]?.containerID?.replace('local://', '')));
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /demo totals: \d+ \(message, user\) pairs, \d+ received, \d+ offline, 0 misrouted, 0 lost/);
    for (const pid of pids) assert.ok(isGone(pid), `pod process ${pid} stopped`);
  } finally {
    web.close();
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  }
});
