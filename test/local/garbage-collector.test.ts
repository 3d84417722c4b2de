import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type V1CustomResourceDefinition,
  type V1OwnerReference,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { GarbageCollector } from '../../local/controllers/garbage-collector.js';
import {
  customResourcesOf,
  dependentAction,
  ownerStateOf,
  type OwnerState,
} from '../../local/controllers/garbage-collector-plan.js';
import type { KubeObject } from '../../local/index.js';
import { createRaw, startLocalApi, until, type LocalApi } from '../support/local-api.js';
import { widgetCrd } from '../support/sample-crd.js';

const NS = 'default';

/** A started API server and collector, and what a test needs to wait on them. */
interface Harness {
  api: LocalApi;
  gc: GarbageCollector;
  core: CoreV1Api;
  apps: AppsV1Api;
  errors: unknown[];
  /** Resolves once `predicate` holds, checked after each change in the store. */
  until<T>(predicate: () => T | undefined | false): Promise<T>;
  close(): Promise<void>;
}

/** Starts an API server, runs `before` against it, then starts a collector. */
async function harness(before: (api: LocalApi) => Promise<void> = () => Promise.resolve()): Promise<Harness> {
  const api = await startLocalApi();
  await before(api);
  const errors: unknown[] = [];
  const gc = new GarbageCollector({ kc: api.kc, onError: (e) => errors.push(e) });
  await gc.start();
  const store = api.store;
  return {
    api,
    gc,
    errors,
    core: api.kc.makeApiClient(CoreV1Api),
    apps: api.kc.makeApiClient(AppsV1Api),
    until: <T>(predicate: () => T | undefined | false) =>
      until<T>(
        (notify) => store.subscribe(store.resourceVersion, () => notify()),
        () => predicate() || undefined,
      ),
    close: async () => {
      await gc.close();
      await api.close();
    },
  };
}

function stored(h: Harness, resource: string, name: string): KubeObject | undefined {
  return h.api.store.get(resource, NS, name);
}

function newStatefulSet(name: string): V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    },
  };
}

function newPod(name: string, owners: V1OwnerReference[], finalizers: string[] = []): V1Pod {
  return { metadata: { name, ownerReferences: owners, finalizers }, spec: { containers: [{ name: 'c', image: 'x' }] } };
}

function ownerRef(
  owner: { metadata?: { name?: string; uid?: string } },
  kind = 'StatefulSet',
  apiVersion = 'apps/v1',
  block = true,
): V1OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata!.name!,
    uid: owner.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: block,
  };
}

test('a dependent survives while any owner is solid, and drops references to gone or waiting owners', () => {
  const refs = [{ uid: 'a' }, { uid: 'b' }] as V1OwnerReference[];
  const cases: [OwnerState[], boolean, ReturnType<typeof dependentAction>][] = [
    [['solid', 'solid'], false, { type: 'none' }],
    [['solid', 'dangling'], false, { type: 'removeOwnerReferences', uids: ['b'] }],
    [['waiting', 'solid'], true, { type: 'removeOwnerReferences', uids: ['a'] }],
    [['dangling', 'dangling'], false, { type: 'delete', propagationPolicy: 'Background' }],
    [['dangling', 'waiting'], false, { type: 'delete', propagationPolicy: 'Background' }],
    [['dangling', 'waiting'], true, { type: 'delete', propagationPolicy: 'Foreground' }],
  ];
  for (const [states, hasDependents, expected] of cases)
    assert.deepEqual(dependentAction(refs, states, hasDependents), expected, states.join());
  assert.deepEqual(dependentAction([], [], false), { type: 'none' });
});

test('an owner is dangling when absent or replaced, waiting while deleted in the foreground', () => {
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u1' };
  assert.equal(ownerStateOf(ref, undefined), 'dangling');
  assert.equal(ownerStateOf(ref, { metadata: { uid: 'u2' } }), 'dangling');
  assert.equal(ownerStateOf(ref, { metadata: { uid: 'u1' } }), 'solid');
  assert.equal(
    ownerStateOf(ref, { metadata: { uid: 'u1', deletionTimestamp: new Date(), finalizers: ['foregroundDeletion'] } }),
    'waiting',
  );
  assert.equal(
    ownerStateOf(ref, { metadata: { uid: 'u1', deletionTimestamp: new Date(), finalizers: ['other'] } }),
    'solid',
  );
});

test('custom resources are watched at their served storage version once established', () => {
  const crd = (name: string, established: boolean): V1CustomResourceDefinition => ({
    metadata: { name: `${name}s.example.com` },
    spec: {
      group: 'example.com',
      scope: 'Cluster',
      names: { plural: `${name}s`, kind: name },
      versions: [
        { name: 'v1beta1', served: true, storage: false },
        { name: 'v1', served: true, storage: true },
      ],
    },
    status: {
      conditions: established ? [{ type: 'Established', status: 'True' }] : [],
      acceptedNames: { plural: `${name}s`, kind: name },
      storedVersions: ['v1'],
    },
  });
  assert.deepEqual(customResourcesOf([crd('thing', true), crd('pending', false)]), [
    { group: 'example.com', version: 'v1', kind: 'thing', plural: 'things', namespaced: false },
  ]);
});

test('a deleted StatefulSet takes its pods, and an object whose owner never existed goes too', async () => {
  const h = await harness();
  try {
    const sts = await h.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet('web') });
    for (const name of ['web-0', 'web-1'])
      await h.core.createNamespacedPod({ namespace: NS, body: newPod(name, [ownerRef(sts)]) });
    await h.core.createNamespacedPod({ namespace: NS, body: newPod('loner', []) });
    await h.core.createNamespacedPod({
      namespace: NS,
      body: newPod('orphaned', [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'ghost', uid: 'no-such-uid' }]),
    });
    await h.until(() => !stored(h, '/pods', 'orphaned'));
    assert.ok(stored(h, '/pods', 'web-0'), 'pods of a live owner stay');
    await h.apps.deleteNamespacedStatefulSet({ name: 'web', namespace: NS });
    await h.until(() => !stored(h, '/pods', 'web-0') && !stored(h, '/pods', 'web-1'));
    assert.ok(stored(h, '/pods', 'loner'), 'a pod without owners is left alone');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('foreground deletion keeps the owner until its blocking dependents are gone', async () => {
  const h = await harness();
  try {
    const sts = await h.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet('db') });
    await h.core.createNamespacedPod({
      namespace: NS,
      body: newPod('db-0', [ownerRef(sts)], ['test.imring.dev/hold']),
    });
    await h.core.createNamespacedPod({
      namespace: NS,
      body: newPod('db-1', [ownerRef(sts, 'StatefulSet', 'apps/v1', false)]),
    });
    await h.apps.deleteNamespacedStatefulSet({ name: 'db', namespace: NS, propagationPolicy: 'Foreground' });
    await h.until(() => stored(h, '/pods', 'db-0')?.metadata?.deletionTimestamp && !stored(h, '/pods', 'db-1'));
    const owner = stored(h, 'apps/statefulsets', 'db');
    assert.ok(owner, 'the owner waits for its blocking dependent');
    assert.deepEqual(owner.metadata?.finalizers, ['foregroundDeletion']);
    await h.core.patchNamespacedPod({
      name: 'db-0',
      namespace: NS,
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });
    await h.until(() => !stored(h, 'apps/statefulsets', 'db'));
    assert.equal(stored(h, '/pods', 'db-0'), undefined);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('orphan deletion removes the owner and leaves its dependents without the reference', async () => {
  const h = await harness();
  try {
    const sts = await h.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet('cache') });
    const other = await h.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'other-owner' } },
    });
    await h.core.createNamespacedPod({ namespace: NS, body: newPod('cache-0', [ownerRef(sts)]) });
    await h.core.createNamespacedPod({
      namespace: NS,
      body: newPod('cache-1', [ownerRef(sts), ownerRef(other, 'ConfigMap', 'v1', false)]),
    });
    await h.apps.deleteNamespacedStatefulSet({ name: 'cache', namespace: NS, propagationPolicy: 'Orphan' });
    await h.until(() => !stored(h, 'apps/statefulsets', 'cache'));
    assert.deepEqual(stored(h, '/pods', 'cache-0')?.metadata?.ownerReferences ?? [], []);
    assert.deepEqual(
      stored(h, '/pods', 'cache-1')?.metadata?.ownerReferences?.map((r) => r.name),
      ['other-owner'],
    );
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a custom resource defined after start owns a ConfigMap, at any of its versions', async () => {
  const h = await harness();
  try {
    await createRaw(h.api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd());
    const custom = h.api.kc.makeApiClient(CustomObjectsApi);
    const widget = (await custom.createNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: NS,
      plural: 'widgets',
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { image: 'nginx' } },
    })) as V1Pod;
    await h.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'w-config', ownerReferences: [ownerRef(widget, 'Widget', 'example.com/v1')] } },
    });
    await h.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'w-beta', ownerReferences: [ownerRef(widget, 'Widget', 'example.com/v1beta1')] } },
    });
    await custom.deleteNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: NS,
      plural: 'widgets',
      name: 'w',
    });
    await h.until(() => !stored(h, '/configmaps', 'w-config') && !stored(h, '/configmaps', 'w-beta'));
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('the custom resources of a CRD present at start are watched, and its deletion takes their dependents', async () => {
  const h = await harness(
    async (api) => void (await createRaw(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd())),
  );
  try {
    const custom = h.api.kc.makeApiClient(CustomObjectsApi);
    const widget = (await custom.createNamespacedCustomObject({
      group: 'example.com',
      version: 'v1',
      namespace: NS,
      plural: 'widgets',
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { image: 'nginx' } },
    })) as V1Pod;
    await h.core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'w-config', ownerReferences: [ownerRef(widget, 'Widget', 'example.com/v1')] } },
    });
    await h.core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'bystander' } } });
    await h.api.kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'widgets.example.com' });
    await h.until(() => !stored(h, '/configmaps', 'w-config'));
    assert.ok(stored(h, '/configmaps', 'bystander'));
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('a dependent with two owners survives the first and goes with the second', async () => {
  const h = await harness();
  try {
    const a = await h.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet('a') });
    const b = await h.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet('b') });
    await h.core.createNamespacedPod({ namespace: NS, body: newPod('shared', [ownerRef(a), ownerRef(b)]) });
    await h.apps.deleteNamespacedStatefulSet({ name: 'a', namespace: NS });
    // The reference to the gone owner is dropped; the pod stays for the live one.
    await h.until(() => stored(h, '/pods', 'shared')?.metadata?.ownerReferences?.length === 1);
    assert.deepEqual(
      stored(h, '/pods', 'shared')?.metadata?.ownerReferences?.map((r) => r.name),
      ['b'],
    );
    await h.apps.deleteNamespacedStatefulSet({ name: 'b', namespace: NS });
    await h.until(() => !stored(h, '/pods', 'shared'));
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('close() can be called three times, and before start', async () => {
  const h = await harness();
  await h.gc.close();
  await h.gc.close();
  await h.gc.close();
  const unstarted = new GarbageCollector({ kc: h.api.kc });
  await unstarted.close();
  await unstarted.close();
  await h.api.close();
  assert.throws(() => new GarbageCollector({ kc: h.api.kc, resyncMs: 0 }), RangeError);
});
