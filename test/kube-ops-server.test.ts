import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { Counter } from 'prom-client';
import { startOpsServer } from '../kube/ops-server.js';
import { createRegistry } from '../kube/metrics.js';
import { createLogger } from '../kube/logger.js';
import { loadKubeConfig, podIdentity } from '../kube/kube-config.js';

function fetchText(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the ops server answers health, readiness, metrics and 404, and lets routes handle their own paths', async () => {
  const registry = createRegistry('push');
  new Counter({ name: 'imring_test_total', help: 'test', registers: [registry] }).inc(3);
  let ready = false;
  const ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    ready: () => ready,
    registry,
    routes: (req, res) => {
      if (req.url !== '/v1/push' || req.method !== 'POST') return false;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[]}');
      return true;
    },
  });
  try {
    assert.ok(ops.port > 0);
    assert.deepEqual(await fetchText(ops.port, '/healthz').then((r) => [r.status, r.text]), [200, 'ok']);
    assert.equal((await fetchText(ops.port, '/readyz')).status, 503);
    ready = true;
    assert.equal((await fetchText(ops.port, '/readyz')).status, 200);
    const metrics = await fetchText(ops.port, '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.match(metrics.text, /^imring_test_total\{component="push"\} 3$/m);
    assert.match(metrics.text, /^process_resident_memory_bytes\{component="push"\} \d+/m);
    assert.equal((await fetchText(ops.port, '/nope')).status, 404);
    assert.equal((await fetchText(ops.port, '/healthz', 'POST')).status, 405);
    assert.deepEqual(await fetchText(ops.port, '/v1/push', 'POST').then((r) => [r.status, r.text]), [
      200,
      '{"results":[]}',
    ]);
    assert.equal((await fetchText(ops.port, '/v1/push')).status, 404);
    assert.equal(typeof ops.server.on, 'function');
  } finally {
    await ops.close();
    await ops.close();
    await ops.close();
  }
  await assert.rejects(fetchText(ops.port, '/healthz'));
});

test('close with drainMs goes on serving for that long, every answer closing its connection, then stops listening', async () => {
  let answer: (() => void) | undefined;
  const arrived = new Promise<void>((resolve) => (answer = resolve));
  let finish: (() => void) | undefined;
  const ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    registry: createRegistry('push'),
    routes: (req, res) => {
      if (req.url !== '/slow') return false;
      finish = () => res.writeHead(200).end('done');
      answer?.();
      return true;
    },
  });
  const inFlight = new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: ops.port, path: '/slow' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
    });
    req.on('error', reject);
    req.end();
  });
  await arrived;
  const closed = ops.close({ drainMs: 300 });
  const during = await new Promise<string | undefined>((resolve, reject) => {
    request({ host: '127.0.0.1', port: ops.port, path: '/healthz' }, (res) => resolve(res.headers.connection))
      .on('error', reject)
      .end();
  });
  assert.equal(during, 'close', 'a request while draining is answered, and its connection closed');
  finish!();
  assert.deepEqual(await inFlight, { status: 200, connection: 'close', text: 'done' });
  await closed;
  await assert.rejects(fetchText(ops.port, '/healthz'), /ECONNREFUSED/, 'no new connection once closed');
});

test('a route that throws gets a 500 and the server goes on', async () => {
  const ops = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    ready: () => true,
    registry: createRegistry('proxy'),
    routes: (req) => {
      if (req.url === '/boom') throw new Error('route bug');
      return false;
    },
  });
  try {
    assert.equal((await fetchText(ops.port, '/boom')).status, 500);
    assert.equal((await fetchText(ops.port, '/healthz')).status, 200);
  } finally {
    await ops.close();
  }
});

test('bad ops options throw naming the option', async () => {
  const registry = createRegistry('gateway');
  await assert.rejects(startOpsServer({ host: '127.0.0.1', port: -1, ready: () => true, registry }), /port/);
  await assert.rejects(startOpsServer({ host: '', port: 0, ready: () => true, registry }), /host/);
});

test('the logger writes JSON lines with component and pod', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()),
  });
  const previous = process.env.POD_NAME;
  process.env.POD_NAME = 'gw-3';
  try {
    const logger = createLogger({ component: 'gateway', level: 'debug', destination });
    logger.debug({ n: 1 }, 'hello');
    const line = JSON.parse(lines[0]!);
    assert.equal(line.component, 'gateway');
    assert.equal(line.pod, 'gw-3');
    assert.equal(line.msg, 'hello');
    assert.equal(line.n, 1);
    assert.throws(() => createLogger({ component: '' }), /component/);
  } finally {
    if (previous === undefined) delete process.env.POD_NAME;
    else process.env.POD_NAME = previous;
  }
});

test('the pod identity comes from the downward API variables, with defaults', () => {
  assert.deepEqual(podIdentity({ POD_NAMESPACE: 'chat', POD_NAME: 'im-0' }), { namespace: 'chat', pod: 'im-0' });
  const defaults = podIdentity({});
  assert.equal(defaults.namespace, 'default');
  assert.ok(defaults.pod.length > 0);
});

test('the kube config is read from KUBECONFIG when it is set', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(`${tmpdir()}/imring-kc-`);
  try {
    const file = `${dir}/config`;
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: local',
        'clusters: [{ name: local, cluster: { server: "https://127.0.0.1:6443" } }]',
        'users: [{ name: me, user: { token: abc } }]',
        'contexts: [{ name: local, context: { cluster: local, user: me } }]',
      ].join('\n'),
    );
    const kc = loadKubeConfig({ env: { KUBECONFIG: file, KUBERNETES_SERVICE_HOST: '10.0.0.1' } });
    assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a loaded kube config keeps its TLS connection: five API calls, one handshake (client-node alone makes one per call)', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { createServer } = await import('node:https');
  const { servingCertificate } = await import('../local/apiserver/http/tls.js');
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const tls = await servingCertificate('127.0.0.1', 'kc-test');
  let handshakes = 0;
  const server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'NamespaceList', metadata: {}, items: [] }));
  });
  server.on('secureConnection', () => handshakes++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(`${tmpdir()}/imring-kc-`);
  try {
    const { port } = server.address() as { port: number };
    const file = `${dir}/config`;
    const ca = Buffer.from(tls.cert).toString('base64');
    await writeFile(
      file,
      `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", certificate-authority-data: ${ca}}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
    );
    const core = loadKubeConfig({ env: { KUBECONFIG: file } }).makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) await core.listNamespace();
    assert.equal(handshakes, 1, 'five calls, one TLS connection');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
