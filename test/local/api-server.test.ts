import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, CoordinationV1Api, KubeConfig, VersionApi } from '@kubernetes/client-node';
import { Faults, LocalApiServer, ObjectStore, type ServedRequest } from '../../local/index.js';
import { codeOf, rawRequest, startLocalApi } from '../support/local-api.js';
import { configMap } from './api-server-fixtures.js';

/**
 * The local API server as a server: authentication, the API groups it serves, lists with selectors
 * and pages, faults, the request observer, its options and close(). How it writes objects is
 * test/local/api-server-writes.test.ts's.
 */

test('serves /version as Kubernetes 1.32 without a token, and refuses resources without one', async () => {
  const api = await startLocalApi();
  try {
    const version = (await rawRequest(api, '/version', { anonymous: true })).json<{ major: string; minor: string }>();
    assert.deepEqual([version.major, version.minor], ['1', '32']);
    const denied = await rawRequest(api, '/api/v1/namespaces/default/configmaps', { anonymous: true });
    assert.equal(denied.status, 401);
    assert.equal(denied.json<{ reason: string }>().reason, 'Unauthorized');
    const wrong = await rawRequest(api, '/api/v1/namespaces', {
      anonymous: true,
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
  } finally {
    await api.close();
  }
});

test('label and field selectors filter lists', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('a', {}, { app: 'im', tier: 'gw' }) });
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: configMap('b', {}, { app: 'im', tier: 'push' }),
    });
    await core.createNamespacedConfigMap({ namespace: 'kube-system', body: configMap('c', {}, { app: 'other' }) });
    const names = async (labelSelector?: string, fieldSelector?: string): Promise<string[]> =>
      (
        await core.listConfigMapForAllNamespaces({
          ...(labelSelector ? { labelSelector } : {}),
          ...(fieldSelector ? { fieldSelector } : {}),
        })
      ).items.map((i) => i.metadata!.name!);
    assert.deepEqual(await names('app=im'), ['a', 'b']);
    assert.deepEqual(await names('app==im,tier!=gw'), ['b']);
    assert.deepEqual(await names('tier in (gw,push)'), ['a', 'b']);
    assert.deepEqual(await names('tier notin (gw)'), ['b', 'c']);
    assert.deepEqual(await names('!tier'), ['c']);
    assert.deepEqual(await names('tier'), ['a', 'b']);
    assert.deepEqual(await names(undefined, 'metadata.namespace=kube-system'), ['c']);
    assert.deepEqual(await names(undefined, 'metadata.name!=a'), ['b', 'c']);
    assert.equal(await codeOf(core.listConfigMapForAllNamespaces({ labelSelector: 'a in (' })), 400);
  } finally {
    await api.close();
  }
});

test('limit and continue page through a list without repeats or gaps', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    for (let i = 0; i < 25; i++)
      await core.createNamespacedConfigMap({
        namespace: 'default',
        body: configMap(`cm-${String(i).padStart(2, '0')}`),
      });
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: 'default',
        limit: 10,
        ...(token ? { _continue: token } : {}),
      });
      seen.push(...page.items.map((i) => i.metadata!.name!));
      token = page.metadata?._continue;
      if (token) assert.equal(page.metadata?.remainingItemCount, 25 - seen.length);
    } while (token);
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`),
    );
  } finally {
    await api.close();
  }
});

test('leases are served by coordination.k8s.io/v1', async () => {
  const api = await startLocalApi();
  const coordination = api.kc.makeApiClient(CoordinationV1Api);
  try {
    const lease = await coordination.createNamespacedLease({
      namespace: 'default',
      body: { metadata: { name: 'l' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    });
    assert.equal(lease.spec?.holderIdentity, 'a');
    const list = await coordination.listNamespacedLease({ namespace: 'default' });
    assert.equal(list.items.length, 1);
  } finally {
    await api.close();
  }
});

test('faults answer the configured share of requests with 500 or 429 and Retry-After', async () => {
  const api = await startLocalApi();
  try {
    api.faults.set({ failureRate: 1, failureCodes: [429] });
    const response = await rawRequest(api, '/api/v1/namespaces/default/configmaps');
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '1');
    api.faults.set({ failureRate: 1, failureCodes: [500] });
    const failed = await rawRequest(api, '/api/v1/namespaces/default/configmaps');
    assert.equal(failed.status, 500);
    api.faults.clear();
    const ok = await rawRequest(api, '/api/v1/namespaces/default/configmaps');
    assert.equal(ok.status, 200);
    assert.throws(() => api.faults.set({ failureRate: 2 }), RangeError);
  } finally {
    await api.close();
  }
});

test('the request log records verb, path and status of each request', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('cm') });
    await codeOf(core.readNamespacedConfigMap({ name: 'missing', namespace: 'default' }));
    const entries = api.requestLog.map((e) => `${e.verb} ${e.path} ${e.status}`);
    assert.deepEqual(entries, [
      'create /api/v1/namespaces/default/configmaps 201',
      'get /api/v1/namespaces/default/configmaps/missing 404',
    ]);
  } finally {
    await api.close();
  }
});

test('close() is idempotent and refuses no caller', async () => {
  const api = await startLocalApi();
  await Promise.all([api.close(), api.close()]);
  await api.close();
  assert.throws(() => new LocalApiServer({ host: '10.0.0.1' }), /host must be a loopback address/);
  assert.throws(() => new LocalApiServer({ historyLimit: 0 }), /historyLimit must be a positive number/);
});

test('the server carries no test hooks: its store, faults, request observer and name come in as options', async () => {
  const store = new ObjectStore();
  const faults = new Faults();
  const served: ServedRequest[] = [];
  const server = new LocalApiServer({ name: 'test-cluster', store, faults, onRequest: (r) => served.push(r) });
  for (const hook of ['faults', 'requestLog', 'store', 'registry', 'catalog']) {
    assert.equal(hook in server, false, hook);
  }
  const namespaces = store.list('/namespaces').map((n) => n.metadata?.name);
  assert.deepEqual(namespaces, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  await server.start();
  try {
    const kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    assert.equal(kc.getCurrentContext(), 'test-cluster');
    assert.equal((await kc.makeApiClient(VersionApi).getCode()).gitVersion, 'v1.32.0+test-cluster');
    faults.set({ failureRate: 1 });
    assert.equal(await codeOf(kc.makeApiClient(CoreV1Api).listNamespace()), 500);
    const requests = served.map((r) => `${r.verb} ${r.path} ${r.status}`);
    assert.deepEqual(requests, ['info /version 200', 'list /api/v1/namespaces 500']);
  } finally {
    await server.close();
  }
  assert.throws(() => new LocalApiServer({ faults }), /already bound to a server/);
  assert.throws(() => new LocalApiServer({ store, historyLimit: 5 }), {
    name: 'TypeError',
    message: /^historyLimit and store exclude each other/,
  });
  assert.throws(() => new LocalApiServer({ name: 'Not_A' }), {
    name: 'TypeError',
    message: /^name must be a DNS label/,
  });
});
