import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kubeconfigYaml } from '../local/index.js';
import { Ring, type RingDocument } from '../ring/index.js';
import type { StatusView } from '../cli/status-view.js';
import { runCli } from './support/cli.js';
import { imring, members, withStatusClusters, type StatusServer } from './support/status-cluster.js';

/**
 * `imring status` end to end, and the errors and usage errors it shares with `imring route
 * --gateway`: the CLI in this process against a local API server holding a ring ConfigMap, runtime
 * Leases and (on one of the two servers) the IMGateway CRD. The routes `imring route --gateway`
 * prints from the same servers are test/cli-route-gateway.test.ts's.
 */

let dir: string;
let withCrd: StatusServer;
let withoutCrd: StatusServer;
let transition: RingDocument;

withStatusClusters((clusters) => ({ dir, withCrd, withoutCrd, transition } = clusters));

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

const missing: [string, () => StatusServer, string[], string][] = [
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
