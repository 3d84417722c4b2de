import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CoreV1Api,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { rawRequest, startLocalApi, until } from '../support/local-api.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Seen {
  type: string;
  name: string;
  rv: string;
}

test('a watch from a resourceVersion replays later changes in order; without one it starts with ADDED', async () => {
  const api = await startLocalApi({ bookmarkIntervalMs: 50 });
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const first = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'default' });
    const seen: Seen[] = [];
    const watch = new Watch(api.kc);
    let notify = (): void => undefined;
    const controller = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: first.metadata!.resourceVersion!, allowWatchBookmarks: true },
      (type, object: V1ConfigMap) => {
        seen.push({ type, name: object.metadata?.name ?? '', rv: object.metadata?.resourceVersion ?? '' });
        notify();
      },
      () => undefined,
    );
    await until(
      (n) => ((notify = n), () => (notify = () => undefined)),
      () => seen.some((s) => s.type === 'BOOKMARK') || undefined,
    );
    controller.abort();
    assert.deepEqual(
      seen.filter((s) => s.type !== 'BOOKMARK').map((s) => `${s.type} ${s.name}`),
      ['ADDED b', 'DELETED a'],
    );
    assert.equal(seen.find((s) => s.type === 'BOOKMARK')?.rv, String(api.store.resourceVersion));

    const fresh: string[] = [];
    const second = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      {},
      (type, object: V1ConfigMap) => {
        fresh.push(`${type} ${object.metadata?.name}`);
        notify();
      },
      () => undefined,
    );
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' } } });
    await until(
      (n) => ((notify = n), () => (notify = () => undefined)),
      () => fresh.length >= 2 || undefined,
    );
    second.abort();
    assert.deepEqual(fresh, ['ADDED b', 'ADDED c']);
  } finally {
    await api.close();
  }
});

test('a watch with a label selector sees objects enter and leave the selection', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'x', labels: { app: 'other' } } },
    });
    const seen: string[] = [];
    let notify = (): void => undefined;
    const controller = await new Watch(api.kc).watch(
      '/api/v1/namespaces/default/configmaps',
      { labelSelector: 'app=im' },
      (type, o: V1ConfigMap) => {
        seen.push(`${type} ${o.metadata?.name} ${o.metadata?.labels?.app}`);
        notify();
      },
      () => undefined,
    );
    const relabel = (app: string): Promise<V1ConfigMap> =>
      core.replaceNamespacedConfigMap({
        name: 'x',
        namespace: 'default',
        body: { metadata: { name: 'x', labels: { app } } },
      });
    await relabel('im');
    await core.patchNamespacedConfigMap({ name: 'x', namespace: 'default', body: { data: { k: 'v' } } }, merge);
    await relabel('other');
    await until(
      (n) => ((notify = n), () => (notify = () => undefined)),
      () => seen.some((s) => s.startsWith('DELETED')) || undefined,
    );
    controller.abort();
    assert.equal(seen[0], 'ADDED x im');
    assert.equal(seen[seen.length - 1], 'DELETED x other');
  } finally {
    await api.close();
  }
});

test('a watch from a version older than the kept history gets a 410 ERROR event', async () => {
  const api = await startLocalApi({ historyLimit: 2 });
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    for (const name of ['a', 'b', 'c', 'd'])
      await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name } } });
    const response = await rawRequest(api, '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1');
    assert.equal(response.status, 200);
    const event = JSON.parse(response.text.trim()) as { type: string; object: { code: number; reason: string } };
    assert.equal(event.type, 'ERROR');
    assert.deepEqual([event.object.code, event.object.reason], [410, 'Expired']);
  } finally {
    await api.close();
  }
});

test('an informer survives dropped watches and expired history without missing a change', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  const path = '/api/v1/namespaces/default/configmaps';
  const informer = makeInformer(api.kc, path, () => core.listNamespacedConfigMap({ namespace: 'default' }));
  const added = new Set<string>();
  const errors: unknown[] = [];
  let notify = (): void => undefined;
  for (const event of ['add', 'update', 'delete'] as const) {
    informer.on(event, (o: V1ConfigMap) => {
      if (event === 'add') added.add(o.metadata!.name!);
      notify();
    });
  }
  informer.on('error', (e) => errors.push(e));
  const signal = (n: () => void): (() => void) => ((notify = n), () => (notify = () => undefined));
  const inSync = (): true | undefined => {
    const server = api.store
      .list('/configmaps', 'default')
      .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
      .sort();
    const cached = informer
      .list()
      .map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`)
      .sort();
    return server.join() === cached.join() ? true : undefined;
  };
  try {
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'one' } } });
    await until(signal, () => (added.has('one') ? true : undefined));
    api.faults.dropWatches();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'two' } } });
    await core.patchNamespacedConfigMap({ name: 'one', namespace: 'default', body: { data: { v: '1' } } }, merge);
    await until(signal, inSync);
    api.faults.expireHistory();
    api.faults.dropWatches();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'three' } } });
    await core.deleteNamespacedConfigMap({ name: 'two', namespace: 'default' });
    await until(signal, inSync);
    assert.deepEqual([...added].sort(), ['one', 'three', 'two']);
    assert.deepEqual(
      informer
        .list()
        .map((o) => o.metadata!.name)
        .sort(),
      ['one', 'three'],
    );
    assert.deepEqual(errors, []);
    const watches = api.requestLog.filter((e) => e.verb === 'watch').length;
    assert.ok(watches >= 3, `the informer re-watched (${watches} watches)`);
  } finally {
    await informer.stop();
    await api.close();
  }
});

test('a watch ends by itself after timeoutSeconds', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const watching = rawRequest(api, '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'during' } } });
    const response = await watching; // resolves only when the server ends the stream
    assert.equal(response.status, 200);
    const events = response.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string } } });
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ['ADDED during'],
    );
  } finally {
    await api.close();
  }
});
