import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { codeOf, startLocalApi, statusOf } from '../support/local-api.js';
import { configMap, statefulSet } from './api-server-fixtures.js';

/**
 * How the local API server writes objects, through client-node: create, replace, patch (merge,
 * JSON, strategic, server-side apply) and delete, with resourceVersion, generation, the scale
 * subresource, finalizers and the Status bodies of refused writes.
 */

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

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
