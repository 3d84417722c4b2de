import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, V1MicroTime } from '@kubernetes/client-node';
import { kubeconfigYaml } from '../local/index.js';
import {
  Annotations,
  buildRingDocument,
  Labels,
  Ring,
  RING_DATA_KEY,
  ringConfigMapName,
  runtimeLeaseName,
  serializeRingDocument,
  type RingDocument,
  type RuntimeComponent,
} from '../ring/index.js';
import type { StatusView } from '../cli/status-view.js';
import { runCli } from './support/cli.js';
import { newMembers } from './support/fixtures.js';
import { createRaw, startLocalApi, type LocalApi } from './support/local-api.js';

/**
 * `imring status` and `imring route --gateway` end to end: the CLI in this process against a
 * local API server holding a ring ConfigMap, runtime Leases and (on one of the two servers)
 * the IMGateway CRD.
 */

/** The IMGateway API as far as status reads it; the real CRD (crds/) validates far more. */
const imGatewayCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'imgateways.imring.dev' },
  spec: {
    group: 'imring.dev',
    scope: 'Namespaced',
    names: {
      plural: 'imgateways',
      singular: 'imgateway',
      kind: 'IMGateway',
      listKind: 'IMGatewayList',
      shortNames: ['imgw'],
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

interface Server {
  api: LocalApi;
  kubeconfig: string;
}

let dir: string;
let withCrd: Server;
let withoutCrd: Server;

async function startServer(name: string): Promise<Server> {
  const api = await startLocalApi();
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  await api.server.writeKubeconfig(kubeconfig);
  return { api, kubeconfig };
}

/** `imring <argv> --kubeconfig <server's>`. */
function imring(server: Server, argv: string[], stdin = ''): ReturnType<typeof runCli> {
  return runCli([...argv, '--kubeconfig', server.kubeconfig], stdin);
}

const members = newMembers(3);

/** Ring version 2, Prepared, adding im-2 to im-0 and im-1: a transition in progress. */
function ringV2(gateway: string, namespace: string): RingDocument {
  return buildRingDocument({
    gateway: { namespace, name: gateway, uid: `uid-${gateway}` },
    version: 2,
    state: 'Prepared',
    members,
    previous: { version: 1, members: members.slice(0, 2) },
  });
}

async function putConfigMap(
  server: Server,
  namespace: string,
  gateway: string,
  data: Record<string, string>,
): Promise<void> {
  await server.api.kc
    .makeApiClient(CoreV1Api)
    .createNamespacedConfigMap({ namespace, body: { metadata: { name: ringConfigMapName(gateway) }, data } });
}

interface LeaseInit {
  component: RuntimeComponent;
  pod: string;
  version?: number;
  annotations?: Record<string, string>;
  /** Seconds since the last renewal. Default 0. */
  age?: number;
}

async function putLease(server: Server, namespace: string, gateway: string, init: LeaseInit): Promise<void> {
  const annotations = {
    ...(init.version !== undefined
      ? { [Annotations.ringVersion]: String(init.version), [Annotations.ringState]: 'Prepared' }
      : {}),
    ...init.annotations,
  };
  await server.api.kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
    namespace,
    body: {
      metadata: {
        name: runtimeLeaseName(gateway, init.component, init.pod),
        labels: { [Labels.gateway]: gateway, [Labels.component]: init.component },
        annotations,
      },
      spec: {
        holderIdentity: init.pod,
        leaseDurationSeconds: 15,
        renewTime: new V1MicroTime(Date.now() - (init.age ?? 0) * 1000),
      },
    },
  });
}

async function putGateway(
  server: Server,
  namespace: string,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  await createRaw(server.api, `/apis/imring.dev/v1alpha1/namespaces/${namespace}/imgateways`, {
    apiVersion: 'imring.dev/v1alpha1',
    kind: 'IMGateway',
    metadata: { name },
    spec: { replicas: 3, auth: { secretName: 'im-auth' } },
    status,
  });
}

/** Gateway `im` in `chat`: an IMGateway, ring v2 Prepared, five live Leases and a dead one. */
async function seedTransition(server: Server): Promise<RingDocument> {
  const document = ringV2('im', 'chat');
  await putGateway(server, 'chat', 'im', {
    phase: 'Rebalancing',
    readyReplicas: 3,
    conditions: [
      {
        type: 'RingConverged',
        status: 'False',
        reason: 'AwaitingAcks',
        message: 'waiting for 2 runtimes',
        lastTransitionTime: '2026-11-28T00:00:00Z',
      },
    ],
  });
  await putConfigMap(server, 'chat', 'im', { [RING_DATA_KEY]: serializeRingDocument(document) });
  const stats = (connections: number, misplaced: number) => ({
    [Annotations.connections]: String(connections),
    [Annotations.misplaced]: String(misplaced),
  });
  await putLease(server, 'chat', 'im', { component: 'gateway', pod: 'im-0', version: 2, annotations: stats(5, 1) });
  await putLease(server, 'chat', 'im', { component: 'gateway', pod: 'im-1', version: 2, annotations: stats(4, 2) });
  await putLease(server, 'chat', 'im', { component: 'gateway', pod: 'im-2', version: 1, annotations: stats(0, 0) });
  await putLease(server, 'chat', 'im', { component: 'proxy', pod: 'proxy-a', version: 2 });
  await putLease(server, 'chat', 'im', {
    component: 'push',
    pod: 'push-a',
    version: 1,
    annotations: { [Annotations.ringError]: 'IMRING_RING_CHECKSUM_MISMATCH: checksum: is "sha256:00"' },
  });
  // Gone a minute ago: neither a laggard nor counted.
  await putLease(server, 'chat', 'im', {
    component: 'push',
    pod: 'push-old',
    version: 1,
    age: 60,
    annotations: { [Annotations.ringError]: 'IMRING_RING_INVALID_JSON: stale' },
  });
  return document;
}

let transition: RingDocument;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imring-status-'));
  withCrd = await startServer('with-crd');
  withoutCrd = await startServer('without-crd');
  await createRaw(withCrd.api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', imGatewayCrd);
  for (const [server, namespace] of [
    [withCrd, 'chat'],
    [withCrd, 'solo'],
    [withCrd, 'empty'],
    [withoutCrd, 'empty'],
  ] as const) {
    await server.api.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  }
  transition = await seedTransition(withCrd);
  await putGateway(withCrd, 'chat', 'other', { phase: 'Stable' });
  await putConfigMap(withCrd, 'chat', 'other', {
    [RING_DATA_KEY]: serializeRingDocument(
      buildRingDocument({
        gateway: { namespace: 'chat', name: 'other', uid: 'u' },
        version: 1,
        state: 'Committed',
        members: members.slice(0, 1),
      }),
    ),
  });
  await putGateway(withCrd, 'chat', 'pending', {});
  await putConfigMap(withCrd, 'chat', 'corrupt', { [RING_DATA_KEY]: '{"format":' });
  await putGateway(withCrd, 'solo', 'one', { phase: 'Stable' });
  await putConfigMap(withCrd, 'solo', 'one', { [RING_DATA_KEY]: serializeRingDocument(ringV2('one', 'solo')) });
  await putConfigMap(withoutCrd, 'default', 'bare', {
    [RING_DATA_KEY]: serializeRingDocument(ringV2('bare', 'default')),
  });
  await putConfigMap(withoutCrd, 'default', 'bare2', {
    [RING_DATA_KEY]: serializeRingDocument(ringV2('bare2', 'default')),
  });
  await putConfigMap(withoutCrd, 'default', 'not-a-ring', { other: 'x' });
});

after(async () => {
  await withCrd.api.close();
  await withoutCrd.api.close();
  await rm(dir, { recursive: true, force: true });
});

test('status NAME -o json reports ring, members, acknowledgements, ring errors and misplaced from the cluster', async () => {
  const result = await imring(withCrd, ['status', 'im', '-n', 'chat', '-o', 'json']);
  assert.equal(result.stderr, '');
  assert.equal(result.code, 0);
  const view = JSON.parse(result.stdout) as StatusView;
  const ring = Ring.fromDocument(transition);
  assert.deepEqual(
    { source: view.source, phase: view.phase, conditions: view.conditions.map((c) => c.reason) },
    { source: 'IMGateway', phase: 'Rebalancing', conditions: ['AwaitingAcks'] },
  );
  assert.deepEqual(
    { version: view.ring.version, state: view.ring.state, previous: view.ring.previous, checksum: view.ring.checksum },
    {
      version: 2,
      state: 'Prepared',
      previous: { version: 1, members: ['im-0', 'im-1'] },
      checksum: transition.checksum,
    },
  );
  assert.deepEqual(
    view.ring.members.map((m) => [
      m.name,
      `${m.host}:${m.ports.ws}/${m.ports.grpc}`,
      m.share,
      m.connections,
      m.misplaced,
    ]),
    members.map((m, i) => [m.name, `${m.host}:10001/10002`, ring.shareOf(m.name), [5, 4, 0][i], [1, 2, 0][i]]),
  );
  assert.deepEqual(view.acknowledged, {
    gateway: { acked: 2, live: 3, laggards: [{ pod: 'im-2', version: 1 }] },
    proxy: { acked: 1, live: 1, laggards: [] },
    push: { acked: 0, live: 1, laggards: [{ pod: 'push-a', version: 1 }] },
  });
  assert.deepEqual(view.ringErrors, [
    { lease: 'im-push-push-a', error: 'IMRING_RING_CHECKSUM_MISMATCH: checksum: is "sha256:00"' },
  ]);
  assert.equal(view.misplacedConnections, 3);
});

test('status NAME as text names the laggards, the ring error and the misplaced total', async () => {
  const result = await imring(withCrd, ['status', 'im', '--namespace', 'chat']);
  assert.equal(result.code, 0);
  const lines = result.stdout.split('\n');
  assert.equal(lines[0], 'Gateway:      chat/im');
  assert.ok(lines.includes('Phase:        Rebalancing'));
  assert.ok(lines.includes('Ring:         version 2, Prepared (ConfigMap im-ring, table 65537)'));
  assert.ok(lines.includes('  gateway  2/3  laggards: im-2 (v1)'));
  assert.ok(lines.includes('  push     0/1  laggards: push-a (v1)'));
  assert.ok(lines.includes('  im-push-push-a  IMRING_RING_CHECKSUM_MISMATCH: checksum: is "sha256:00"'));
  assert.equal(lines.at(-2), 'Misplaced connections: 3');
});

test('status without NAME prints one line per IMGateway of the namespace', async () => {
  const result = await imring(withCrd, ['status', '-n', 'chat']);
  assert.equal(result.code, 0);
  assert.deepEqual(
    result.stdout.split('\n').map((l) => l.split(/\s+/).slice(0, 8).join(' ')),
    [
      'NAME PHASE RING STATE MEMBERS GATEWAY PROXY PUSH',
      'im Rebalancing 2 Prepared 3 2/3 1/1 0/1',
      'other Stable 1 Committed 1 0/0 0/0 0/0',
      'pending - - missing - - - -',
      '',
    ],
  );
});

test('status without NAME shows the only gateway of the namespace in detail', async () => {
  const result = await imring(withCrd, ['status', '-n', 'solo']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Gateway: {6}solo\/one\nPhase: {8}Stable\n/);
  assert.match(result.stdout, /\nRing: {9}version 2, Prepared/);
});

test('status of a gateway whose ConfigMap is corrupt shows the error code and message and exits 0', async () => {
  const result = await imring(withCrd, ['status', 'corrupt', '-n', 'chat']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Gateway: {6}chat\/corrupt \(no IMGateway; from ConfigMap corrupt-ring\)\n/);
  assert.match(result.stdout, /\nRing: {9}ConfigMap corrupt-ring refused: IMRING_RING_INVALID_JSON: /);
  const json = JSON.parse(
    (await imring(withCrd, ['status', 'corrupt', '-n', 'chat', '-o', 'json'])).stdout,
  ) as StatusView;
  assert.deepEqual(
    [json.ring.status, json.ring.error?.code, json.acknowledged],
    ['refused', 'IMRING_RING_INVALID_JSON', null],
  );
});

test('status of an IMGateway without its ring ConfigMap shows the IMGateway and exits 1', async () => {
  const result = await imring(withCrd, ['status', 'pending', '-n', 'chat']);
  assert.equal(result.code, 1);
  assert.match(result.stdout, /\nRing: {9}ConfigMap pending-ring not found\n/);
});

const missing: [string, () => Server, string[], string][] = [
  [
    'a gateway that does not exist',
    () => withCrd,
    ['status', 'nothere', '-n', 'chat'],
    'imring status: gateway "nothere" not found in namespace "chat" (no IMGateway, no ConfigMap nothere-ring)\n',
  ],
  [
    'a namespace without gateways',
    () => withCrd,
    ['status', '-n', 'empty'],
    'imring status: no IMGateways in namespace "empty"\n',
  ],
  [
    'a namespace without ring ConfigMaps and no CRD',
    () => withoutCrd,
    ['status', '-n', 'empty'],
    'imring status: no ring ConfigMaps (and no IMGateway CRD) in namespace "empty"\n',
  ],
  [
    'a live ring ConfigMap that does not exist',
    () => withCrd,
    ['route', '--gateway', 'nothere', '-n', 'chat', 'u1'],
    'imring route: ring ConfigMap "nothere-ring" not found in namespace "chat"\n',
  ],
];

for (const [what, server, argv, stderr] of missing) {
  test(`${argv[0]} of ${what} prints one line and exits 1`, async () => {
    const result = await imring(server(), argv);
    assert.deepEqual(result, { code: 1, stdout: '', stderr });
  });
}

test('status without the IMGateway CRD shows what the ring ConfigMap says, by name or one line per ConfigMap', async () => {
  const one = await imring(withoutCrd, ['status', 'bare']);
  assert.equal(one.code, 0);
  assert.match(
    one.stdout,
    /^Gateway: {6}default\/bare \(no IMGateway; from ConfigMap bare-ring\)\nRing: {9}version 2, Prepared/,
  );
  const all = await imring(withoutCrd, ['status']);
  assert.equal(all.code, 0);
  assert.deepEqual(
    all.stdout.split('\n').map((l) => l.split(/\s+/).slice(0, 4).join(' ')),
    ['NAME PHASE RING STATE', 'bare - 2 Prepared', 'bare2 - 2 Prepared', ''],
  );
});

test('status takes the namespace from the kubeconfig context when -n is not given', async () => {
  const kubeconfig = join(dir, 'chat.kubeconfig');
  const server = withCrd.api.server;
  await writeFile(
    kubeconfig,
    kubeconfigYaml({ server: server.url, token: server.token, caCertificate: server.caCertificate, namespace: 'chat' }),
    { mode: 0o600 },
  );
  const result = await runCli(['status', 'im', '-o', 'json', '--kubeconfig', kubeconfig]);
  assert.equal(result.code, 0);
  assert.equal((JSON.parse(result.stdout) as StatusView).namespace, 'chat');
});

test("route --gateway prints each user's owner, its ws address and its owner in previous", async () => {
  const ring = Ring.fromDocument(transition);
  const ids = ['u1', 'alice', '中文用户', ...Array.from({ length: 50 }, (_, i) => `user-${i}`)];
  const expected = ids
    .map((id) => {
      const owner = ring.owner(id)!;
      return `${id}\t${owner.name}\t${owner.host}:10001\t(previous: ${ring.previous!.owner(id)!.name})\n`;
    })
    .join('');
  const byArgs = await imring(withCrd, ['route', '--gateway', 'im', '-n', 'chat', ...ids]);
  assert.deepEqual(byArgs, { code: 0, stdout: expected, stderr: '' });
  assert.ok(
    ids.some((id) => ring.owner(id)!.name !== ring.previous!.owner(id)!.name),
    'some user moved between the versions',
  );
  const byStdin = await imring(withCrd, ['route', '--gateway', 'im', '-n', 'chat'], `${ids.join('\r\n')}\n\n`);
  assert.deepEqual(byStdin, { code: 0, stdout: expected, stderr: '' });
});

test('route --gateway without a previous ring prints no previous owner', async () => {
  const result = await imring(withCrd, ['route', '--gateway', 'other', '-n', 'chat', 'u1']);
  assert.deepEqual(result, { code: 0, stdout: `u1\tim-0\t${members[0]!.host}:10001\n`, stderr: '' });
});

test('route --gateway of a corrupt ring ConfigMap names the error and exits 1', async () => {
  const result = await imring(withCrd, ['route', '--gateway', 'corrupt', '-n', 'chat', 'u1']);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^imring route: ring ConfigMap "corrupt-ring" in namespace "chat" holds no valid document: IMRING_RING_INVALID_JSON: .*\n$/,
  );
});

const usage: [string, string[], RegExp][] = [
  ['status with two names', ['status', 'a', 'b'], /^imring status: takes at most one gateway NAME, got 2\n$/],
  [
    'status with an unknown output format',
    ['status', 'im', '-o', 'yaml'],
    /^imring status: --output must be text or json, got "yaml"\n$/,
  ],
  ['status with an empty namespace', ['status', 'im', '-n', ''], /^imring status: --namespace must not be empty\n$/],
  [
    'status with an unreadable kubeconfig',
    ['status', 'im', '--kubeconfig', '/nonexistent/kubeconfig'],
    /^imring status: cannot load the kubeconfig: .*ENOENT/,
  ],
  [
    'route with both --gateway and --ring',
    ['route', '--gateway', 'im', '--ring', 'x.json', 'u1'],
    /^imring route: --gateway and --ring exclude each other\n$/,
  ],
  [
    'route with --namespace but a ring file',
    ['route', '--ring', 'x.json', '-n', 'chat', 'u1'],
    /^imring route: --kubeconfig and --namespace need --gateway\n$/,
  ],
];

for (const [what, argv, stderr] of usage) {
  test(`${what} is a usage error: one line, exit 2`, async () => {
    const result = await runCli(argv);
    assert.equal(result.code, 2);
    assert.match(result.stderr, stderr);
    assert.equal(result.stdout, '');
  });
}

test('status --help describes the command and exits 0', async () => {
  const result = await runCli(['status', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: imring status \[NAME\]/);
  assert.match((await runCli(['--help'])).stdout, /\n {2}status {4}a gateway's ring/);
});
