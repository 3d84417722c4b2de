import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { repoRoot } from '../support/fixtures.js';
import { isGone, watchUntil } from '../support/wait.js';

const run = promisify(execFile);

const manifest = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: echo
spec:
  replicas: 1
  serviceName: echo
  podManagementPolicy: Parallel
  selector:
    matchLabels: { app: echo }
  template:
    metadata:
      labels: { app: echo }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: server
          image: imring-test/server:1
          env:
            - { name: PORT, value: "8080" }
            - name: POD_IP
              valueFrom: { fieldRef: { fieldPath: status.podIP } }
          readinessProbe:
            httpGet: { path: /ready, port: 8080 }
            periodSeconds: 1
`;

/** `imring local --bare` in `stateDir`, once it printed ready: kubectl and a client for it, and its exit. */
async function startLocal(stateDir: string): Promise<{
  child: ChildProcess;
  exited: Promise<[number | null, string | null]>;
  stderr: () => string;
  kubectl: (...args: string[]) => Promise<{ stdout: string }>;
  core: CoreV1Api;
  kc: KubeConfig;
}> {
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'dist/cli/imring.js'), 'local', '--bare', '--state-dir', stateDir],
    {
      env: {
        ...process.env,
        IMRING_LOCAL_IMAGES: JSON.stringify({
          'imring-test/server': [process.execPath, join(repoRoot, 'dist/test/fixtures/test-server.js')],
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) if (line === 'imring local: ready') break;
  const kubeconfig = join(stateDir, 'kubeconfig');
  const kubectl = (...args: string[]): Promise<{ stdout: string }> =>
    run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(stateDir, 'kubectl-cache'), ...args], {
      timeout: 30_000,
    });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { child, exited, stderr: () => stderr, kubectl, core: kc.makeApiClient(CoreV1Api), kc };
}

/** The pids of the Ready pods in `default`, once `count` are Ready. */
async function readyPids(local: { kc: KubeConfig; core: CoreV1Api }, count: number): Promise<number[]> {
  const ready = await watchUntil(local.kc, '/api/v1/namespaces/default/pods', async () => {
    const items = (await local.core.listNamespacedPod({ namespace: 'default' })).items;
    const isReady = items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return isReady.length === count ? isReady : undefined;
  });
  return ready.map((p) => Number(p.status?.containerStatuses?.[0]?.containerID?.replace('local://', '')));
}

type Local = Awaited<ReturnType<typeof startLocal>>;

/**
 * Runs `body` against `imring local --bare` with the echo StatefulSet applied; kills it (if still running) and removes
 * its state after.
 */
async function withEcho(body: (local: Local) => Promise<void>): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-local-'));
  const local = await startLocal(stateDir);
  try {
    await writeFile(join(stateDir, 'echo.yaml'), manifest);
    await local.kubectl('apply', '-f', join(stateDir, 'echo.yaml'));
    await body(local);
  } finally {
    if (local.child.exitCode === null) local.child.kill('SIGKILL');
    await local.exited;
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Sends `signal` and asserts a clean exit that stopped every pod process in `pids`. */
async function stopsWith(local: Local, signal: NodeJS.Signals, pids: readonly number[], said: RegExp): Promise<void> {
  local.child.kill(signal);
  const [code] = await local.exited;
  assert.equal(code, 0, local.stderr());
  assert.match(local.stderr(), said);
  for (const pid of pids) assert.ok(isGone(pid), `pod process ${pid} stopped`);
}

test('imring local --bare serves kubectl, runs a StatefulSet as processes, scales it, and leaves nothing behind on SIGTERM', () =>
  withEcho(async (local) => {
    await local.kubectl('scale', 'sts/echo', '--replicas=3');
    const pids = await readyPids(local, 3);
    const { stdout } = await local.kubectl('get', 'pods', '-o', 'wide');
    assert.match(stdout, /echo-2\s+1\/1\s+Running/);
    await stopsWith(local, 'SIGTERM', pids, /imring local: stopped/);
  }));

test('imring local stops its pods on SIGHUP too (a closed terminal)', () =>
  withEcho(async (local) => {
    await stopsWith(local, 'SIGHUP', await readyPids(local, 1), /imring local: SIGHUP: stopping/);
  }));
