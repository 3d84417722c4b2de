import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatefulSetController } from '../../local/controllers/statefulset.js';
import { startLocalApi, until } from '../support/local-api.js';
import {
  newStatefulSet,
  NS,
  POD_POSTS,
  revisionOf,
  scale,
  setImage,
  setup,
  writesSince,
} from './statefulset-fixtures.js';

test('Parallel scales 1 → 3 → 1 at once, removing the highest ordinal first', async (t) => {
  const env = await setup(t);
  const { observer } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 1, policy: 'Parallel' }),
  });
  await observer.until(() => observer.pod('web-0'));
  await scale(env, 3);
  // None is Ready: Parallel does not wait for its predecessors.
  await observer.until(() => observer.podNames().join() === 'web-0,web-1,web-2');
  await scale(env, 1);
  await observer.until(() => observer.podNames().join() === 'web-0');
  const removed = observer.timeline.filter((e) => e.startsWith('-'));
  assert.deepEqual(removed, ['-web-2', '-web-1']);
  await observer.status({ replicas: 1, readyReplicas: 0 });
  assert.deepEqual(env.errors, []);
});

test('OrderedReady creates each pod only once the previous is Ready, and scales down one at a time', async (t) => {
  const env = await setup(t);
  const { observer, kubelet, api } = env;
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 3 }) });
  // The reconcile that reports web-0 in status has seen it Pending, and must not have gone on.
  await observer.status({ replicas: 1 });
  assert.equal(writesSince(api, 0, POD_POSTS).filter((w) => w.startsWith('POST')).length, 1);
  await kubelet.ready('web-0');
  await observer.status({ replicas: 2, readyReplicas: 1 });
  assert.deepEqual(observer.podNames(), ['web-0', 'web-1']);
  await kubelet.ready('web-1');
  await observer.until(() => observer.pod('web-2'));
  await kubelet.ready('web-2');
  await observer.status({ replicas: 3, readyReplicas: 3, availableReplicas: 3 });
  assert.deepEqual(
    observer.timeline.filter((e) => !e.startsWith('~')),
    ['+web-0', 'ready web-0', '+web-1', 'ready web-1', '+web-2', 'ready web-2'],
  );

  // Bound pods terminate gracefully, so the controller must wait for each to be gone.
  for (const name of ['web-0', 'web-1', 'web-2']) await kubelet.bind(name);
  const beforeScaleDown = api.requestLog.length;
  await scale(env, 1);
  await observer.until(() => observer.pod('web-2')?.metadata?.deletionTimestamp);
  await observer.status({ replicas: 2 });
  const deletes = (): string[] => writesSince(api, beforeScaleDown, POD_POSTS).filter((w) => w.startsWith('DELETE'));
  assert.deepEqual(deletes(), [`DELETE ${POD_POSTS}/web-2`], 'web-1 waits while web-2 terminates');
  await kubelet.finish('web-2');
  await observer.until(() => observer.pod('web-1')?.metadata?.deletionTimestamp);
  await kubelet.finish('web-1');
  await observer.status({ replicas: 1, readyReplicas: 1 });
  assert.deepEqual(
    observer.timeline.filter((e) => e.startsWith('~') || e.startsWith('-')),
    ['~web-2', '-web-2', '~web-1', '-web-1'],
  );
  assert.deepEqual(env.errors, []);
});

test('pods carry the template, identity labels, hostname, subdomain and a controller owner reference', async (t) => {
  const env = await setup(t);
  const { observer } = env;
  const set = await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 1 }) });
  const pod = await observer.until(() => observer.pod('web-0'));
  const status = await observer.status({ replicas: 1 });
  const revision = status.status?.updateRevision;
  assert.match(revision ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.deepEqual(pod.metadata?.labels, {
    app: 'web',
    'statefulset.kubernetes.io/pod-name': 'web-0',
    'apps.kubernetes.io/pod-index': '0',
    'controller-revision-hash': revision,
  });
  assert.deepEqual(pod.metadata?.annotations, { 'example.com/note': 'kept' });
  assert.equal(pod.spec?.hostname, 'web-0');
  assert.equal(pod.spec?.subdomain, 'web-headless');
  assert.equal(pod.spec?.containers[0]?.image, 'web:1');
  const refs = pod.metadata?.ownerReferences?.map((r) => ({ ...r }));
  assert.deepEqual(refs, [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'web',
      uid: set.metadata?.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
});

test('status reports the pods and the observed generation', async (t) => {
  const env = await setup(t);
  const { observer, kubelet } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 3, policy: 'Parallel' }),
  });
  await observer.until(() => observer.podNames().length === 3);
  await kubelet.ready('web-0', 'web-2');
  const set = await observer.status({
    replicas: 3,
    readyReplicas: 2,
    availableReplicas: 2,
    currentReplicas: 3,
    updatedReplicas: 3,
  });
  assert.equal(set.status?.currentRevision, set.status?.updateRevision);
  assert.equal(set.status?.collisionCount, 0);
  assert.equal(set.status?.observedGeneration, 1);
  await scale(env, 2);
  const scaled = await observer.status({ replicas: 2, readyReplicas: 1 });
  assert.equal(scaled.status?.observedGeneration, 2);
});

test('a deleted or Failed pod is recreated under the same name, a terminating one only once gone', async (t) => {
  const env = await setup(t);
  const { observer, kubelet, api } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 2, policy: 'Parallel' }),
  });
  await observer.until(() => observer.podNames().length === 2);
  await kubelet.ready('web-0', 'web-1');
  await observer.status({ readyReplicas: 2 });

  const first = observer.pod('web-1')?.metadata?.uid;
  await kubelet.delete('web-1');
  const second = await observer.until(() => observer.pod('web-1')?.metadata?.uid !== first && observer.pod('web-1'));
  assert.equal(second.status?.phase, 'Pending');

  await kubelet.bind('web-1');
  const from = api.requestLog.length;
  await kubelet.delete('web-1');
  await observer.status({ replicas: 1, readyReplicas: 1 });
  assert.deepEqual(
    writesSince(api, from, POD_POSTS).filter((w) => w.startsWith('POST')),
    [],
    'no create while web-1 terminates',
  );
  await kubelet.finish('web-1');
  await observer.until(() => observer.pod('web-1') && observer.pod('web-1')?.metadata?.uid !== second.metadata?.uid);

  const zero = observer.pod('web-0')?.metadata?.uid;
  await kubelet.fail('web-0');
  const again = await observer.until(() => observer.pod('web-0')?.metadata?.uid !== zero && observer.pod('web-0'));
  assert.equal(again.status?.phase, 'Pending');
  assert.deepEqual(env.errors, []);
});

test('a rolling update replaces the highest ordinal first, one at a time once Ready, down to the partition', async (t) => {
  const env = await setup(t);
  const { observer, kubelet } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 3, policy: 'Parallel', partition: 1 }),
  });
  await observer.until(() => observer.podNames().length === 3);
  await kubelet.ready('web-0', 'web-1', 'web-2');
  const before = await observer.status({ readyReplicas: 3 });
  const oldRevision = before.status?.currentRevision;

  const beforeUpdate = env.api.requestLog.length;
  await setImage(env, 'web:2');
  const rolling = await observer.status({ updatedReplicas: 1, replicas: 3, readyReplicas: 2 });
  const newRevision = rolling.status?.updateRevision;
  assert.notEqual(newRevision, oldRevision);
  assert.equal(rolling.status?.currentRevision, oldRevision);
  assert.equal(revisionOf(observer.pod('web-2')), newRevision);
  assert.equal(observer.pod('web-2')?.spec?.containers[0]?.image, 'web:2');
  assert.deepEqual(
    writesSince(env.api, beforeUpdate, POD_POSTS).filter((w) => w.startsWith('DELETE')),
    [`DELETE ${POD_POSTS}/web-2`],
    'web-1 waits until web-2 is Ready',
  );

  await kubelet.ready('web-2');
  await observer.until(() => revisionOf(observer.pod('web-1')) === newRevision);
  await kubelet.ready('web-1');
  const done = await observer.status({ updatedReplicas: 2, currentReplicas: 1, readyReplicas: 3 });
  assert.equal(revisionOf(observer.pod('web-0')), oldRevision, 'web-0 is below the partition');
  assert.equal(done.status?.currentRevision, oldRevision);
  const replaced = observer.timeline.filter((e) => e.startsWith('-'));
  assert.deepEqual(replaced, ['-web-2', '-web-1']);

  // Below the partition, a recreated pod keeps the current revision.
  await kubelet.delete('web-0');
  await observer.until(() => observer.pod('web-0')?.status?.phase === 'Pending');
  assert.equal(revisionOf(observer.pod('web-0')), oldRevision);
  assert.equal(observer.pod('web-0')?.spec?.containers[0]?.image, 'web:1');

  await env.apps.patchNamespacedStatefulSet({
    name: 'web',
    namespace: NS,
    body: [{ op: 'replace', path: '/spec/updateStrategy/rollingUpdate/partition', value: 0 }],
  });
  await observer.until(() => revisionOf(observer.pod('web-0')) === newRevision);
  await kubelet.ready('web-0');
  const complete = await observer.status({ updatedReplicas: 3, currentReplicas: 3, readyReplicas: 3 });
  assert.equal(complete.status?.currentRevision, newRevision);
  assert.deepEqual(env.errors, []);
});

test('OnDelete never replaces pods, and a pod deleted by hand comes back at the new revision', async (t) => {
  const env = await setup(t);
  const { observer, kubelet } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 2, policy: 'Parallel', strategy: 'OnDelete' }),
  });
  await observer.until(() => observer.podNames().length === 2);
  await kubelet.ready('web-0', 'web-1');
  const before = await observer.status({ readyReplicas: 2 });
  const uids = observer.pods.list(NS).map((p) => p.metadata?.uid);

  await setImage(env, 'web:2');
  const after = await observer.status({ updatedReplicas: 0, currentReplicas: 2, readyReplicas: 2 });
  assert.notEqual(after.status?.updateRevision, before.status?.updateRevision);
  assert.deepEqual(
    observer.pods.list(NS).map((p) => p.metadata?.uid),
    uids,
  );

  await kubelet.delete('web-1');
  await observer.until(() => revisionOf(observer.pod('web-1')) === after.status?.updateRevision);
  assert.equal(revisionOf(observer.pod('web-0')), before.status?.updateRevision);
  await observer.status({ updatedReplicas: 1, currentReplicas: 1 });
});

test('a resync that finds nothing changed writes nothing', async (t) => {
  const env = await setup(t, { resyncMs: 20 });
  const { observer, kubelet, api } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 2, policy: 'Parallel' }),
  });
  await observer.until(() => observer.podNames().length === 2);
  await kubelet.ready('web-0', 'web-1');
  await observer.status({ readyReplicas: 2, availableReplicas: 2 });
  const from = api.requestLog.length;
  const target = env.reconciles() + 5;
  await until(env.onReconciled, () => env.reconciles() >= target || undefined);
  assert.deepEqual(writesSince(api, from), []);
});

test('creations and deletions are recorded as Events on the StatefulSet', async (t) => {
  const env = await setup(t);
  const { observer } = env;
  await env.apps.createNamespacedStatefulSet({
    namespace: NS,
    body: newStatefulSet({ replicas: 2, policy: 'Parallel' }),
  });
  await observer.until(() => observer.podNames().length === 2);
  await scale(env, 1);
  const event = await observer.until(() => observer.events.list(NS).find((e) => e.reason === 'SuccessfulDelete'));
  assert.equal(event.message, 'delete Pod web-1 in StatefulSet web successful');
  assert.equal(event.type, 'Normal');
  assert.deepEqual([event.involvedObject.kind, event.involvedObject.name], ['StatefulSet', 'web']);
  assert.equal(event.source?.component, 'statefulset-controller');
  const created = observer.events
    .list(NS)
    .filter((e) => e.reason === 'SuccessfulCreate')
    .map((e) => e.message)
    .sort();
  assert.deepEqual(created, [
    'create Pod web-0 in StatefulSet web successful',
    'create Pod web-1 in StatefulSet web successful',
  ]);
});

test('bad options are refused at construction, naming the option', async () => {
  const api = await startLocalApi();
  try {
    assert.throws(() => new StatefulSetController({ kc: api.kc, resyncMs: 0 }), {
      name: 'RangeError',
      message: /resyncMs/,
    });
    assert.throws(() => new StatefulSetController({ kc: api.kc, conflictRetryMs: Number.NaN }), {
      name: 'RangeError',
      message: /conflictRetryMs/,
    });
    assert.throws(() => new StatefulSetController({ kc: api.kc, namespace: '' }), {
      name: 'TypeError',
      message: /namespace/,
    });
  } finally {
    await api.close();
  }
});
