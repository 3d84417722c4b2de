import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { IMRING_CLI, IMRING_CLUSTER_OPTIONS, LOCAL_IMAGES_ENV } from '../../cli/local-system.js';
import { backoffMs } from '../../kube/controller-kit.js';
import { AddressPool } from '../../local/kubelet/address-pool.js';
import { shouldRestart } from '../../local/kubelet/container-runtime.js';
import { expand, resolveEnv } from '../../local/kubelet/env.js';
import { containerArgv, imageRepository, parseImageTable } from '../../local/kubelet/images.js';
import { tailOffset } from '../../local/kubelet/logs.js';
import { hasStatusChanged, podPhase, podStatus, type ContainerSnapshot } from '../../local/kubelet/pod-status.js';
import { PodRunner } from '../../local/kubelet/pod-runner.js';
import { nextProbeState, portOf } from '../../local/kubelet/probes.js';

test('image repositories drop tag and digest but keep a registry port', () => {
  const table: [string, string][] = [
    ['imring', 'imring'],
    ['ghcr.io/acme/imring:1.2', 'ghcr.io/acme/imring'],
    ['localhost:5000/imring@sha256:abc', 'localhost:5000/imring'],
    ['localhost:5000/x/imring:v1@sha256:abc', 'localhost:5000/x/imring'],
  ];
  for (const [image, repository] of table) assert.equal(imageRepository(image), repository, image);
});

test('container argv: image entrypoint, command replacing it, and unknown images', () => {
  const images = {
    repositories: { 'acme/server': ['/usr/bin/node', '/srv/server.js'] },
    names: {},
    env: LOCAL_IMAGES_ENV,
  };
  assert.deepEqual(containerArgv({ image: 'acme/server:3', args: ['-v'] }, images), {
    argv: ['/usr/bin/node', '/srv/server.js', '-v'],
  });
  assert.deepEqual(containerArgv({ image: 'acme/server', command: ['server', 'run'], args: ['-v'] }, images), {
    argv: ['/usr/bin/node', '/srv/server.js', 'run', '-v'],
  });
  assert.deepEqual(containerArgv({ image: 'acme/server', command: ['sh', '-c', 'x'] }, images), {
    argv: ['sh', '-c', 'x'],
  });
  const byName = { repositories: {}, names: IMRING_CLUSTER_OPTIONS.imageNames };
  const imring = containerArgv({ image: 'registry.example/imring:0.1', command: ['imring', 'proxy'] }, byName);
  assert.deepEqual(imring, { argv: [...IMRING_CLI, 'proxy'] });
  const unknown = containerArgv({ image: 'other/thing:1' }, images);
  assert.ok('error' in unknown && /IMRING_LOCAL_IMAGES/.test(unknown.error));
});

test('images map by repository first, then by name; a name is the last path segment, never an inherited key', () => {
  const images = { repositories: { 'acme/server': ['repo'] }, names: { server: ['name'] } };
  assert.deepEqual(containerArgv({ image: 'acme/server:1' }, images), { argv: ['repo'] });
  assert.deepEqual(containerArgv({ image: 'localhost:5000/other/server@sha256:abc' }, images), { argv: ['name'] });
  assert.deepEqual(containerArgv({ image: 'server' }, images), { argv: ['name'] });
  for (const image of ['acme/servers', 'constructor', 'x/toString']) {
    const unknown = containerArgv({ image }, images);
    const hint = "map it to a command in the pod runner's images option";
    assert.ok('error' in unknown && unknown.error.endsWith(hint), image);
  }
});

test('IMRING_LOCAL_IMAGES is parsed strictly', () => {
  assert.deepEqual(parseImageTable('{"a/b:1": ["x", "y"]}', LOCAL_IMAGES_ENV), { 'a/b': ['x', 'y'] });
  assert.deepEqual(parseImageTable(undefined, LOCAL_IMAGES_ENV), {});
  for (const bad of ['[', '[]', '{"a": []}', '{"a": [1]}']) {
    assert.throws(() => parseImageTable(bad, LOCAL_IMAGES_ENV), TypeError, bad);
  }
  const notAnObject = { message: /^IMRING_LOCAL_IMAGES must be a JSON object$/ };
  assert.throws(() => parseImageTable('[]', LOCAL_IMAGES_ENV), notAnObject);
});

test('the pod runner refuses bad image options at construction, naming the option or the variable', () => {
  const kc = new KubeConfig();
  kc.loadFromClusterAndUser({ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'u' });
  const logDir = tmpdir();
  const refused: [Partial<ConstructorParameters<typeof PodRunner>[0]>, RegExp][] = [
    [{ images: { 'a/b': [] } }, /^images: "a\/b" must map to a non-empty array of strings$/],
    [{ imageNames: { 'a/b': ['x'] } }, /^imageNames: "a\/b" must be an image name/],
    [{ imageNames: { b: [''] } }, /^imageNames: "b" must map to a non-empty array of strings$/],
    [{ imagesEnv: 'A-B' }, /^imagesEnv must be an environment variable name/],
    [{ imagesEnv: 'IMRING_TEST_BAD_IMAGES' }, /^IMRING_TEST_BAD_IMAGES must be a JSON object$/],
  ];
  process.env.IMRING_TEST_BAD_IMAGES = '[]';
  try {
    for (const [options, message] of refused) {
      const build = (): PodRunner => new PodRunner({ kc, logDir, ...options });
      assert.throws(build, { name: 'TypeError', message }, JSON.stringify(options));
    }
  } finally {
    delete process.env.IMRING_TEST_BAD_IMAGES;
  }
});

test('$(VAR) expansion follows Kubernetes', () => {
  const vars: Record<string, string> = { A: 'a', B: 'b' };
  const table: [string, string][] = [
    ['$(A)-$(B)', 'a-b'],
    ['$(C)', '$(C)'],
    ['$$(A)', '$(A)'],
    ['$A', '$A'],
    ['x$', 'x$'],
    ['$(A', '$(A'],
  ];
  for (const [input, output] of table)
    assert.equal(
      expand(input, (n) => vars[n]),
      output,
      input,
    );
});

test('env: missing required references are config errors, optional ones are skipped', () => {
  const pod = { metadata: { name: 'p', annotations: { k: 'v' } }, spec: { containers: [] } };
  const sources = {
    configMaps: new Map(),
    secrets: new Map([['s', { data: { k: Buffer.from('v').toString('base64') } }]]),
  };
  const run = (env: any[]): { env?: Record<string, string>; error?: string } =>
    resolveEnv({ pod, container: { name: 'c', env }, sources });
  assert.deepEqual(run([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]), { env: { X: 'v' } });
  assert.deepEqual(run([{ name: 'X', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['k']" } } }]), {
    env: { X: 'v' },
  });
  assert.deepEqual(run([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'nope', optional: true } } }]), {
    env: {},
  });
  assert.match(
    String(run([{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'nope' } } }]).error),
    /couldn't find key nope in Secret s/,
  );
  assert.match(
    String(run([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } }]).error),
    /configmap "cm" not found/,
  );
  assert.match(
    String(run([{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.nope' } } }]).error),
    /unsupported fieldRef/,
  );
});

test('pod phase follows the kubelet', () => {
  const c = (state: any, extra: Partial<ContainerSnapshot> = {}): ContainerSnapshot => ({
    name: 'c',
    image: 'i',
    state,
    restartCount: 0,
    ready: false,
    started: false,
    ...extra,
  });
  const done = (exitCode: number): any => ({
    terminated: { exitCode, reason: '', startedAt: '', finishedAt: '', containerID: '' },
  });
  const table: [string, ContainerSnapshot[], string][] = [
    ['Always', [c({ waiting: { reason: 'ContainerCreating' } })], 'Pending'],
    ['Always', [c({ running: { startedAt: '' } })], 'Running'],
    ['Always', [c({ waiting: { reason: 'CrashLoopBackOff' } }, { lastTerminated: done(1).terminated })], 'Running'],
    ['Never', [c(done(0))], 'Succeeded'],
    ['Never', [c(done(0)), c(done(2))], 'Failed'],
    ['OnFailure', [c(done(2))], 'Running'],
    ['Always', [], 'Pending'],
  ];
  for (const [policy, containers, phase] of table)
    assert.equal(podPhase(policy as never, containers), phase, `${policy} ${JSON.stringify(containers)}`);
});

test('pod status keeps condition transition times unless they flip, and compares by content', () => {
  const running: ContainerSnapshot = {
    name: 'c',
    image: 'i',
    state: { running: { startedAt: 't0' } },
    restartCount: 0,
    ready: true,
    started: true,
  };
  const input = {
    restartPolicy: 'Always' as const,
    containers: [running],
    hostIP: '127.0.0.1',
    podIP: '127.1.0.1',
    startTime: 't0',
    previous: undefined,
    now: 't1',
  };
  const first = podStatus(input);
  const second = podStatus({
    ...input,
    previous: first.conditions,
    now: 't2',
    containers: [{ ...running, ready: false }],
  });
  const time = (s: typeof first, type: string): string | undefined =>
    s.conditions.find((x) => x.type === type)?.lastTransitionTime;
  assert.equal(time(second, 'Initialized'), 't1');
  assert.equal(time(second, 'Ready'), 't2');
  assert.equal(second.conditions.find((x) => x.type === 'Ready')?.reason, 'ContainersNotReady');
  assert.equal(hasStatusChanged(first, Object.fromEntries(Object.entries(first).reverse()) as typeof first), false);
  assert.equal(hasStatusChanged(second, first), true);
});

test('pod addresses are handed out in turn and never while in use', () => {
  const pool = new AddressPool('127.1.0.254');
  assert.deepEqual([pool.allocate(), pool.allocate(), pool.allocate()], ['127.1.0.254', '127.1.0.255', '127.1.1.0']);
  pool.release('127.1.0.255');
  assert.equal(pool.allocate(), '127.1.1.1');
  assert.throws(() => new AddressPool('10.0.0.1'), RangeError);
  const tiny = new AddressPool('127.255.255.253');
  assert.deepEqual([tiny.allocate(), tiny.allocate()], ['127.255.255.253', '127.255.255.254']);
  assert.throws(() => tiny.allocate(), RangeError);
  tiny.release('127.255.255.253');
  assert.equal(tiny.allocate(), '127.255.255.253');
});

test('probe results flip at their thresholds', () => {
  const probe = { successThreshold: 2, failureThreshold: 2 };
  let state = { result: undefined as boolean | undefined, successes: 0, failures: 0 };
  const results: (boolean | undefined)[] = [];
  for (const ok of [true, true, false, true, false, false, true]) {
    state = nextProbeState(state, ok, probe);
    results.push(state.result);
  }
  assert.deepEqual(results, [undefined, true, true, true, true, false, false]);
  assert.equal(portOf('http', [{ name: 'http', containerPort: 80 }]), 80);
  assert.equal(portOf('8080', []), 8080);
  assert.throws(() => portOf('nope', []), /not a named port/);
});

test('restarts follow the policy, with exponential backoff', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, 1000, 10_000)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  assert.deepEqual(
    ['Always', 'OnFailure', 'Never'].map((p) => [shouldRestart(p as never, 0), shouldRestart(p as never, 1)]),
    [
      [true, true],
      [false, true],
      [false, false],
    ],
  );
});

test('tailOffset finds where the last lines start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imring-tail-'));
  try {
    const file = join(dir, 'log');
    await writeFile(file, 'a\nbb\nccc\n');
    const handle = await open(file, 'r');
    try {
      const offsets = await Promise.all([undefined, 0, 1, 2, 3, 9].map((n) => tailOffset(handle, 9, n)));
      assert.deepEqual(offsets, [0, 9, 5, 2, 0, 0]);
    } finally {
      await handle.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
