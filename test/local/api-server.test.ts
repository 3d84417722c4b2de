import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AppsV1Api,
  CoreV1Api,
  CoordinationV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
  type V1ConfigMap,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { Faults, LocalApiServer, ObjectStore, type ServedRequest } from '../../local/index.js';
import { codeOf, rawRequest, startLocalApi, statusOf } from '../support/local-api.js';

function configMap(
  name: string,
  data: Record<string, string> = { a: '1' },
  labels?: Record<string, string>,
): V1ConfigMap {
  return { metadata: { name, ...(labels ? { labels } : {}) }, data };
}

function statefulSet(name: string, replicas = 1): V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      replicas,
      serviceName: `${name}-headless`,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'example/server:1' }] },
      },
    },
  };
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

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

test('creates, reads, lists, replaces, patches and deletes a configmap through client-node', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('cm1') });
    assert.equal(created.metadata?.namespace, 'default');
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    const read = await core.readNamespacedConfigMap({ name: 'cm1', namespace: 'default' });
    assert.deepEqual(read.data, { a: '1' });
    const replaced = await core.replaceNamespacedConfigMap({
      name: 'cm1',
      namespace: 'default',
      body: { ...read, data: { a: '2' } },
    });
    assert.ok(Number(replaced.metadata?.resourceVersion) > Number(read.metadata?.resourceVersion));
    const patched = await core.patchNamespacedConfigMap(
      { name: 'cm1', namespace: 'default', body: { data: { b: '3' } } },
      merge,
    );
    assert.deepEqual(patched.data, { a: '2', b: '3' });
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    assert.deepEqual(
      list.items.map((i) => i.metadata?.name),
      ['cm1'],
    );
    await core.deleteNamespacedConfigMap({ name: 'cm1', namespace: 'default' });
    assert.equal(await codeOf(core.readNamespacedConfigMap({ name: 'cm1', namespace: 'default' })), 404);
  } finally {
    await api.close();
  }
});

test('answers 404, 409 AlreadyExists and 409 Conflict with proper Status bodies', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const missing = await statusOf(core.readNamespacedConfigMap({ name: 'nope', namespace: 'default' }));
    assert.deepEqual([missing.code, missing.reason, missing.message], [404, 'NotFound', 'configmaps "nope" not found']);
    const first = await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('cm') });
    const exists = await statusOf(core.createNamespacedConfigMap({ namespace: 'default', body: configMap('cm') }));
    assert.deepEqual(
      [exists.code, exists.reason, exists.message],
      [409, 'AlreadyExists', 'configmaps "cm" already exists'],
    );
    await core.replaceNamespacedConfigMap({ name: 'cm', namespace: 'default', body: { ...first, data: { a: 'new' } } });
    const stale = await statusOf(
      core.replaceNamespacedConfigMap({ name: 'cm', namespace: 'default', body: { ...first, data: { a: 'stale' } } }),
    );
    assert.equal(stale.code, 409);
    assert.equal(stale.reason, 'Conflict');
    assert.match(
      stale.message,
      /the object has been modified; please apply your changes to the latest version and try again/,
    );
    const noNamespace = await statusOf(core.createNamespacedConfigMap({ namespace: 'ghost', body: configMap('x') }));
    assert.deepEqual([noNamespace.code, noNamespace.message], [404, 'namespaces "ghost" not found']);
  } finally {
    await api.close();
  }
});

test('a write that changes nothing keeps the resourceVersion', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('cm') });
    const before = api.store.resourceVersion;
    const same = await core.replaceNamespacedConfigMap({ name: 'cm', namespace: 'default', body: created });
    const patched = await core.patchNamespacedConfigMap(
      { name: 'cm', namespace: 'default', body: { data: { a: '1' } } },
      merge,
    );
    assert.equal(same.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.equal(patched.metadata?.resourceVersion, created.metadata?.resourceVersion);
    assert.equal(api.store.resourceVersion, before);
  } finally {
    await api.close();
  }
});

test('generateName gives a unique name with a five-character suffix', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const created = await core.createNamespacedConfigMap({
        namespace: 'default',
        body: { metadata: { generateName: 'gen-' }, data: {} },
      });
      assert.match(created.metadata?.name ?? '', /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      names.add(created.metadata!.name!);
    }
    assert.equal(names.size, 5);
  } finally {
    await api.close();
  }
});

test('generation counts spec changes of a statefulset, not label or status changes', async () => {
  const api = await startLocalApi();
  const apps = api.kc.makeApiClient(AppsV1Api);
  try {
    const created = await apps.createNamespacedStatefulSet({ namespace: 'default', body: statefulSet('web') });
    assert.equal(created.metadata?.generation, 1);
    assert.equal(created.spec?.podManagementPolicy, 'OrderedReady', 'defaulted like the API server');
    const labelled = await apps.patchNamespacedStatefulSet(
      { name: 'web', namespace: 'default', body: { metadata: { labels: { x: 'y' } } } },
      merge,
    );
    assert.equal(labelled.metadata?.generation, 1);
    const scaled = await apps.patchNamespacedStatefulSet(
      { name: 'web', namespace: 'default', body: { spec: { replicas: 3 } } },
      merge,
    );
    assert.equal(scaled.metadata?.generation, 2);
    const status = await apps.replaceNamespacedStatefulSetStatus({
      name: 'web',
      namespace: 'default',
      body: {
        ...scaled,
        spec: { ...scaled.spec!, replicas: 9 },
        status: { replicas: 3, readyReplicas: 2, observedGeneration: 2 },
      },
    });
    assert.equal(status.metadata?.generation, 2);
    assert.equal(status.spec?.replicas, 3, 'a status write leaves spec alone');
    assert.equal(status.status?.readyReplicas, 2);
    const main = await apps.replaceNamespacedStatefulSet({
      name: 'web',
      namespace: 'default',
      body: { ...status, status: { replicas: 0 } },
    });
    assert.equal(main.status?.readyReplicas, 2, 'a main-resource write leaves status alone');
  } finally {
    await api.close();
  }
});

test('the scale subresource of a statefulset reads and writes spec.replicas', async () => {
  const api = await startLocalApi();
  const apps = api.kc.makeApiClient(AppsV1Api);
  try {
    await apps.createNamespacedStatefulSet({ namespace: 'default', body: statefulSet('web', 2) });
    const scale = await apps.readNamespacedStatefulSetScale({ name: 'web', namespace: 'default' });
    assert.equal(scale.spec?.replicas, 2);
    assert.equal(scale.status?.selector, 'app=web');
    await apps.replaceNamespacedStatefulSetScale({
      name: 'web',
      namespace: 'default',
      body: { ...scale, spec: { replicas: 4 } },
    });
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'web', namespace: 'default' })).spec?.replicas, 4);
    await apps.patchNamespacedStatefulSetScale(
      { name: 'web', namespace: 'default', body: { spec: { replicas: 5 } } },
      merge,
    );
    assert.equal((await apps.readNamespacedStatefulSet({ name: 'web', namespace: 'default' })).spec?.replicas, 5);
    assert.equal(
      await codeOf(
        apps.replaceNamespacedStatefulSetScale({
          name: 'web',
          namespace: 'default',
          body: { ...scale, spec: { replicas: 1 } },
        }),
      ),
      409,
      'stale scale resourceVersion',
    );
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

test('finalizers hold a deleted object until the last one is removed', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'held', finalizers: ['example.com/a', 'example.com/b'] } },
    });
    await core.deleteNamespacedConfigMap({ name: 'held', namespace: 'default' });
    const marked = await core.readNamespacedConfigMap({ name: 'held', namespace: 'default' });
    assert.ok(marked.metadata?.deletionTimestamp, 'marked for deletion');
    await core.patchNamespacedConfigMap(
      { name: 'held', namespace: 'default', body: { metadata: { finalizers: ['example.com/b'] } } },
      merge,
    );
    assert.equal(await codeOf(core.readNamespacedConfigMap({ name: 'held', namespace: 'default' })), 200);
    await core.patchNamespacedConfigMap(
      { name: 'held', namespace: 'default', body: { metadata: { finalizers: null } } },
      merge,
    );
    assert.equal(await codeOf(core.readNamespacedConfigMap({ name: 'held', namespace: 'default' })), 404);
  } finally {
    await api.close();
  }
});

test('JSON patch applies operations and refuses a failed test with 422', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  try {
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('cm', { a: '1' }) });
    const patched = await core.patchNamespacedConfigMap(
      {
        name: 'cm',
        namespace: 'default',
        body: [
          { op: 'test', path: '/data/a', value: '1' },
          { op: 'add', path: '/data/b', value: '2' },
        ],
      },
      jsonPatch,
    );
    assert.deepEqual(patched.data, { a: '1', b: '2' });
    assert.equal(
      await codeOf(
        core.patchNamespacedConfigMap(
          { name: 'cm', namespace: 'default', body: [{ op: 'test', path: '/data/a', value: 'x' }] },
          jsonPatch,
        ),
      ),
      422,
    );
  } finally {
    await api.close();
  }
});

test('strategic merge patch merges containers by name', async () => {
  const api = await startLocalApi();
  const apps = api.kc.makeApiClient(AppsV1Api);
  const strategic = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
  try {
    await apps.createNamespacedStatefulSet({ namespace: 'default', body: statefulSet('web') });
    const patched = await apps.patchNamespacedStatefulSet(
      {
        name: 'web',
        namespace: 'default',
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'main', env: [{ name: 'A', value: '1' }] },
                  { name: 'sidecar', image: 'example/side:1' },
                ],
              },
            },
          },
        },
      },
      strategic,
    );
    const containers = patched.spec?.template.spec?.containers ?? [];
    assert.deepEqual(
      containers.map((c) => c.name),
      ['main', 'sidecar'],
    );
    assert.equal(containers[0]?.image, 'example/server:1', 'the merged container keeps its image');
    assert.deepEqual(
      containers[0]?.env?.map((e) => ({ name: e.name, value: e.value })),
      [{ name: 'A', value: '1' }],
    );
  } finally {
    await api.close();
  }
});

test('server-side apply creates, re-applies idempotently, and reports conflicts', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  try {
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ssa', namespace: 'default' },
      data: { a: '1' },
    };
    const created = await core.patchNamespacedConfigMap(
      { name: 'ssa', namespace: 'default', body, fieldManager: 'me' },
      apply,
    );
    assert.deepEqual(created.data, { a: '1' });
    const again = await core.patchNamespacedConfigMap(
      { name: 'ssa', namespace: 'default', body, fieldManager: 'me' },
      apply,
    );
    assert.equal(again.metadata?.resourceVersion, created.metadata?.resourceVersion, 're-apply changes nothing');
    const conflict = await statusOf(
      core.patchNamespacedConfigMap(
        { name: 'ssa', namespace: 'default', body: { ...body, data: { a: '2' } }, fieldManager: 'other' },
        apply,
      ),
    );
    assert.equal(conflict.code, 409);
    const forced = await core.patchNamespacedConfigMap(
      { name: 'ssa', namespace: 'default', body: { ...body, data: { a: '2' } }, fieldManager: 'other', force: true },
      apply,
    );
    assert.equal(forced.data?.a, '2');
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
