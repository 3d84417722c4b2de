import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { backoffMs, EventRecorder, ResilientInformer, WorkQueue } from '../kube/controller-kit.js';
import { startLocalApi, until } from './support/local-api.js';

test('backoff doubles from the base up to the cap', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5].map((a) => backoffMs(a, 1000, 10_000)),
    [1000, 2000, 4000, 8000, 10_000, 10_000],
  );
  assert.deepEqual(
    [0, 1, 2].map((a) => backoffMs(a, 5, 300_000)),
    [5, 10, 20],
  );
});

test('the work queue handles a key once however often it is added while queued', async () => {
  const handled: string[] = [];
  let release = (): void => undefined;
  const queue = new WorkQueue(
    async (key) => {
      handled.push(key);
      if (key === 'first') await new Promise<void>((resolve) => (release = resolve));
    },
    { concurrency: 1 },
  );
  queue.add('first');
  for (const key of ['b', 'b', 'c', 'b', 'c']) queue.add(key);
  release();
  await queue.idle();
  assert.deepEqual(handled, ['first', 'b', 'c']);
  await queue.close();
});

test('a key added while it is handled is handled again afterwards, never twice at once', async () => {
  let running = 0;
  let maxRunning = 0;
  let calls = 0;
  let release = (): void => undefined;
  const queue = new WorkQueue(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    calls++;
    if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
    running--;
  });
  queue.add('k');
  queue.add('k'); // while the first run waits
  release();
  await queue.idle();
  assert.equal(calls, 2);
  assert.equal(maxRunning, 1);
  await queue.close();
});

test('a failing key is retried with backoff until it succeeds, and errors are reported', async () => {
  const errors: string[] = [];
  let attempts = 0;
  let done = (): void => undefined;
  const succeeded = new Promise<void>((resolve) => (done = resolve));
  const queue = new WorkQueue(
    // eslint-disable-next-line @typescript-eslint/require-await -- the handler contract is async
    async () => {
      attempts++;
      if (attempts < 3) throw new Error(`attempt ${attempts}`);
      done();
    },
    { retryBaseMs: 1, onError: (key, error) => errors.push(`${key}: ${(error as Error).message}`) },
  );
  queue.add('flaky');
  await succeeded;
  assert.equal(attempts, 3);
  assert.deepEqual(errors, ['flaky: attempt 1', 'flaky: attempt 2']);
  await queue.close();
  await queue.close();
  await queue.close();
});

test('the informer restarts after the API fails and misses no change', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  const errors: unknown[] = [];
  let notify = (): void => undefined;
  const informer = new ResilientInformer<V1ConfigMap>({
    kc: api.kc,
    path: '/api/v1/namespaces/default/configmaps',
    list: () => core.listNamespacedConfigMap({ namespace: 'default' }),
    retryBaseMs: 5,
    onError: (e) => {
      errors.push(e);
      notify();
    },
  });
  for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => notify());
  const signal = (n: () => void): (() => void) => ((notify = n), () => (notify = () => undefined));
  try {
    api.faults.set({ failureRate: 1, failureCodes: [500] });
    const started = informer.start();
    await until(signal, () => (errors.length > 0 ? true : undefined));
    api.faults.clear();
    await started;
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' } } });
    await until(signal, () => (informer.get('a', 'default') ? true : undefined));
    // A watch that ends with an error (not a clean close) stops client-node's ListWatch.
    api.faults.set({ failureRate: 1, failureCodes: [500] });
    api.faults.dropWatches();
    await core
      .createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'b' } } })
      .catch(() => undefined);
    api.faults.clear();
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'c' } } });
    await until(signal, () => (informer.get('c', 'default') ? true : undefined));
    assert.ok(errors.length > 0, 'errors were reported');
  } finally {
    await informer.close();
    await informer.close();
    await api.close();
  }
});

test('the event recorder writes an Event about an object, counts repeats on it, and never throws', async () => {
  const api = await startLocalApi();
  const core = api.kc.makeApiClient(CoreV1Api);
  const failures: unknown[] = [];
  try {
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });
    const recorder = new EventRecorder(api.kc, 'test-controller', (e) => failures.push(e));
    const target = { apiVersion: 'v1', kind: 'ConfigMap', metadata: cm.metadata! };
    await recorder.record(target, 'Normal', 'Tested', 'it works');
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.uid=${cm.metadata!.uid}`,
    });
    assert.deepEqual(
      events.items.map((e) => [e.reason, e.message, e.type, e.source?.component]),
      [['Tested', 'it works', 'Normal', 'test-controller']],
    );
    await Promise.all([1, 2].map(() => recorder.record(target, 'Normal', 'Tested', 'it works')));
    const again = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.uid=${cm.metadata!.uid}`,
    });
    assert.deepEqual(
      again.items.map((e) => [e.metadata?.name, e.count]),
      [[events.items[0]!.metadata?.name, 3]],
      'the same event again counts on the one Event',
    );
    await recorder.record(
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y', namespace: 'missing' } },
      'Warning',
      'Nowhere',
      'no namespace',
    );
    assert.equal(failures.length, 1);
  } finally {
    await api.close();
  }
});

test('WorkQueue: of two delayed adds of one key, the earlier wins', { timeout: 10_000 }, async () => {
  const handled: string[] = [];
  let resolveHandled!: () => void;
  const done = new Promise<void>((resolve) => (resolveHandled = resolve));
  const queue = new WorkQueue((key) => {
    handled.push(key);
    resolveHandled();
    return Promise.resolve();
  });
  queue.add('k', 60_000);
  queue.add('k', 5);
  await done;
  assert.deepEqual(handled, ['k']);
  await queue.close();
});
