import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, V1MicroTime } from '@kubernetes/client-node';
import {
  Annotations,
  Labels,
  Ring,
  RING_DATA_KEY,
  ringConfigMapName,
  runtimeLeaseName,
  serializeRingDocument,
  type RingDocument,
} from '../ring/index.js';
import { StatusServer, type StatusServerOptions } from '../cli/web/status-server.js';
import type { Snapshot } from '../cli/web/snapshot.js';
import { sampleRingDocument } from './support/fixtures.js';
import { createRaw, putConfigMap, startLocalApi, type LocalApi } from './support/local-api.js';
import { imGatewayCrd } from './support/status-cluster.js';
import { SseClient } from './support/sse-client.js';

/**
 * The web view's server (cli/web/status-server.ts) against a local API server holding the
 * IMGateway CRD, a gateway `im` in namespace `chat` with its ring ConfigMap and runtime Leases,
 * written by hand: snapshots on `/events`, the owner lookup, the static files and what it refuses.
 */

const NAMESPACE = 'chat';
let api: LocalApi;
let dir: string;
let webRoot: string;
const servers: StatusServer[] = [];
const clients: SseClient[] = [];

before(async () => {
  api = await startLocalApi();
  dir = await mkdtemp(join(tmpdir(), 'imring-web-'));
  webRoot = join(dir, 'status');
  await mkdir(webRoot);
  await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>ring</title>');
  await writeFile(join(webRoot, 'app.js'), 'export {};\n');
  await writeFile(join(dir, 'secret.txt'), 'not for the page');
  await createRaw(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', imGatewayCrd);
  await api.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
  await putGateway('im');
  await putRing('im', sampleRingDocument(1, 'Committed', 3));
  for (const pod of ['im-0', 'im-1', 'im-2']) await putLease('im', pod, 1);
});

after(async () => {
  for (const client of clients) client.close();
  for (const server of servers) await server.close();
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

async function startServer(name: string, extra: Partial<StatusServerOptions> = {}): Promise<string> {
  const retry = { retryBaseMs: 20, retryMaxMs: 100 };
  const server = new StatusServer({ kc: api.kc, namespace: NAMESPACE, name, port: 0, webRoot, ...retry, ...extra });
  servers.push(server);
  return (await server.start()).url;
}

async function subscribe(url: string): Promise<SseClient> {
  const client = new SseClient();
  clients.push(client);
  const response = await client.connect(`${url}events`);
  assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
  return client;
}

function snapshotWhere(client: SseClient, accept: (s: Snapshot) => boolean): Promise<Snapshot> {
  return client.waitFor((e) => {
    if (e.event !== 'snapshot') return undefined;
    const snapshot = JSON.parse(e.data) as Snapshot;
    return accept(snapshot) ? snapshot : undefined;
  });
}

test('the event stream opens with a snapshot of the ring and its 3 members, and sends the next version', async () => {
  const url = await startServer('im');
  const client = await subscribe(url);
  const first = await snapshotWhere(client, (s) => s.status?.ring.version === 1);
  assert.deepEqual(
    { connection: first.connection, notFound: first.notFound, members: first.status?.ring.members.map((m) => m.name) },
    { connection: { state: 'live', message: null }, notFound: null, members: ['im-0', 'im-1', 'im-2'] },
  );
  assert.deepEqual(first.status?.acknowledged?.gateway, { acked: 3, live: 3, laggards: [] });
  await putRing('im', sampleRingDocument(2, 'Prepared', 5));
  const next = await snapshotWhere(client, (s) => s.status?.ring.version === 2);
  assert.equal(next.status?.ring.members.length, 5);
  assert.equal(next.status?.ring.state, 'Prepared');
  assert.deepEqual(next.transition && { version: next.transition.version, from: next.transition.fromVersion }, {
    version: 2,
    from: 1,
  });
  assert.deepEqual(
    next.transition?.steps.map((s) => [s.name, s.at !== null]),
    [
      ['Prepared', true],
      ['Acknowledged', false],
      ['Committed', false],
      ['Moved', false],
      ['Converged', false],
    ],
  );
});

test('an unknown IMGateway is reported as not found, and shown once it is created', async () => {
  const client = await subscribe(await startServer('later'));
  const missing = await snapshotWhere(client, (s) => s.notFound !== null);
  assert.equal(missing.notFound, 'imgateway "later" not found in namespace "chat"');
  assert.equal(missing.status, null);
  await putGateway('later');
  await putRing('later', sampleRingDocument(1, 'Committed', 2, { gateway: { ...gatewayRef, name: 'later' } }));
  const found = await snapshotWhere(client, (s) => s.notFound === null && s.status?.ring.status === 'ok');
  assert.equal(found.status?.ring.members.length, 2);
});

test('without the IMGateway CRD the gateway is not found, and shown once the CRD and it are created', async () => {
  const bare = await startLocalApi();
  try {
    await bare.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const retry = { retryBaseMs: 20, retryMaxMs: 100 };
    const server = new StatusServer({ kc: bare.kc, namespace: NAMESPACE, name: 'im', port: 0, webRoot, ...retry });
    servers.push(server);
    const client = await subscribe((await server.start()).url);
    const missing = await snapshotWhere(client, (s) => s.notFound !== null);
    assert.equal(missing.notFound, 'imgateway "im" not found in namespace "chat" (the IMGateway CRD is not installed)');
    assert.equal(missing.connection.state, 'live');
    await createRaw(bare, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', imGatewayCrd);
    await putGateway('im', bare);
    await snapshotWhere(client, (s) => s.notFound === null && s.status !== null);
  } finally {
    await servers.pop()?.close();
    await bare.close();
  }
});

test('a failing API server turns the connection to reconnecting, and it recovers by itself', async () => {
  const client = await subscribe(await startServer('im'));
  await snapshotWhere(client, (s) => s.status !== null);
  api.faults.set({ failureRate: 1, failureCodes: [500] });
  api.faults.dropWatches();
  try {
    const down = await snapshotWhere(client, (s) => s.connection.state === 'reconnecting');
    assert.ok(down.connection.message, 'the reason is shown');
  } finally {
    api.faults.clear();
  }
  const index = client.events.length;
  await snapshotWhere(client, (s) => s.connection.state === 'live' && client.events.length > index);
});

test('one resource that stays refused keeps the view reconnecting, naming why, until it is answered', async () => {
  const client = await subscribe(await startServer('im', { keepAliveMs: 20 }));
  await snapshotWhere(client, (s) => s.status !== null);
  api.faults.set({ failureRate: 1, failureCodes: [500], matching: (r) => r.path.endsWith('/events') });
  api.faults.dropWatches();
  try {
    const down = await snapshotWhere(client, (s) => s.connection.state === 'reconnecting');
    const index = client.events.length;
    // The Events list is asked again with backoff (at most 100 ms apart): let it fail 3 more times.
    const failedLists = () =>
      api.requestLog.filter((r) => r.path.endsWith('/events') && !r.query.includes('watch') && r.status === 500);
    const before = failedLists().length;
    while (failedLists().length < before + 3) await client.waitForComment('keep-alive', client.comments.length + 1);
    const states = client.events.slice(index).map((e) => (JSON.parse(e.data) as Snapshot).connection.state);
    assert.ok(
      states.every((state) => state === 'reconnecting'),
      `no flapping back to live while the Events stay refused: ${states.join(' ')}`,
    );
    assert.equal(down.connection.state, 'reconnecting');
  } finally {
    api.faults.clear();
  }
  await snapshotWhere(client, (s) => s.connection.state === 'live');
});

test('the owner lookup answers the current and previous owner of a user', async () => {
  const url = await startServer('im');
  await snapshotWhere(await subscribe(url), (s) => s.status !== null);
  const ring = Ring.fromDocument(sampleRingDocument(2, 'Prepared', 5));
  const owner = await getJson(`${url}api/owner?user=alice`);
  // The first test left ring version 2 (Prepared, 4 members before) in place.
  const current = ring.owner('alice')!;
  const previous = ring.previous!.owner('alice')!;
  assert.deepEqual(owner, {
    status: 200,
    body: {
      userID: 'alice',
      version: 2,
      state: 'Prepared',
      current: { member: current.name, host: `${current.host}:${current.ports.ws}` },
      previous: { member: previous.name, host: `${previous.host}:${previous.ports.ws}` },
    },
  });
  assert.equal((await getJson(`${url}api/owner`)).status, 400);
  assert.equal((await getJson(`${url}api/owner?user=${'x'.repeat(1025)}`)).status, 400);
});

test('the owner lookup answers 503 while the gateway has no valid ring', async () => {
  const url = await startServer('no-ring');
  await snapshotWhere(await subscribe(url), (s) => s.notFound !== null);
  assert.equal((await getJson(`${url}api/owner?user=alice`)).status, 503);
});

test('static files are served with the security headers; traversal, unknown paths and writes are refused', async () => {
  const url = await startServer('im');
  const page = await fetchRaw(url, 'GET', '/');
  assert.equal(page.status, 200);
  assert.equal(page.body, '<!doctype html><title>ring</title>');
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['content-security-policy'], "default-src 'self'");
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');
  const script = await fetchRaw(url, 'GET', '/app.js');
  assert.deepEqual([script.status, script.headers['content-type']], [200, 'text/javascript; charset=utf-8']);
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/nothing.css', '/api/other']) {
    const refused = await fetchRaw(url, 'GET', path);
    assert.equal(refused.status, 404, path);
    assert.doesNotMatch(refused.body, /not for the page/);
  }
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) {
    const refused = await fetchRaw(url, method, '/api/owner?user=alice');
    assert.equal(refused.status, 405, method);
    assert.equal(refused.headers['content-security-policy'], "default-src 'self'");
    assert.equal(refused.headers.allow, 'GET');
  }
});

test('event streams get a keep-alive comment, and past maxStreams are refused with 503', async () => {
  const url = await startServer('im', { keepAliveMs: 20, maxStreams: 1 });
  const client = await subscribe(url);
  const response = await fetchRaw(url, 'GET', '/events');
  assert.equal(response.status, 503);
  await client.waitForComment('keep-alive');
});

test('close() ends the event streams and can be called three times', async () => {
  const server = new StatusServer({ kc: api.kc, namespace: NAMESPACE, name: 'im', port: 0, webRoot });
  const { url } = await server.start();
  const client = new SseClient();
  clients.push(client);
  const response = await client.connect(`${url}events`);
  const ended = new Promise((resolve) => response.on('end', resolve));
  await Promise.all([server.close(), server.close(), server.close()]);
  await ended;
});

test('a bad port is refused at construction', () => {
  assert.throws(() => new StatusServer({ kc: api.kc, namespace: NAMESPACE, name: 'im', port: 70_000 }), RangeError);
});

const gatewayRef = { namespace: NAMESPACE, name: 'im', uid: 'uid-im' };

async function putGateway(name: string, on: LocalApi = api): Promise<void> {
  await createRaw(on, `/apis/imring.dev/v1alpha1/namespaces/${NAMESPACE}/imgateways`, {
    apiVersion: 'imring.dev/v1alpha1',
    kind: 'IMGateway',
    metadata: { name },
    spec: { replicas: 3 },
    status: { phase: 'Stable' },
  });
}

async function putRing(name: string, document: RingDocument): Promise<void> {
  await putConfigMap(api.kc.makeApiClient(CoreV1Api), NAMESPACE, {
    metadata: { name: ringConfigMapName(name) },
    data: { [RING_DATA_KEY]: serializeRingDocument(document) },
  });
}

async function putLease(gateway: string, pod: string, version: number): Promise<void> {
  await api.kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
    namespace: NAMESPACE,
    body: {
      metadata: {
        name: runtimeLeaseName(gateway, 'gateway', pod),
        labels: { [Labels.gateway]: gateway, [Labels.component]: 'gateway' },
        annotations: {
          [Annotations.ringVersion]: String(version),
          [Annotations.ringState]: 'Committed',
          [Annotations.connections]: '1',
          [Annotations.misplaced]: '0',
        },
      },
      spec: { holderIdentity: pod, leaseDurationSeconds: 15, renewTime: new V1MicroTime(Date.now()) },
    },
  });
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

/** A raw request: the path is sent as written (fetch would normalise `..`). */
function fetchRaw(
  url: string,
  method: string,
  path: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
