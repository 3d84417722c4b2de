import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type CoreV1Event, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { ResilientInformer } from '../../kube/controller-kit.js';
import { StatefulSetController, type StatefulSetControllerOptions } from '../../local/controllers/statefulset.js';
import { startLocalApi, until, type LocalApi } from '../support/local-api.js';

const NS = 'default';

interface SetFixture {
  replicas: number;
  policy?: 'OrderedReady' | 'Parallel';
  strategy?: 'RollingUpdate' | 'OnDelete';
  partition?: number;
}

function newStatefulSet(f: SetFixture): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: f.replicas,
      serviceName: 'web-headless',
      podManagementPolicy: f.policy ?? 'OrderedReady',
      updateStrategy: f.strategy === 'OnDelete' ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { partition: f.partition ?? 0 } },
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' }, annotations: { 'example.com/note': 'kept' } }, spec: { containers: [{ name: 'main', image: 'web:1' }] } },
    },
  };
}

/**
 * What the tests watch: pods, the set and events through informers, with a timeline of pod
 * changes (`+web-0` created, `ready web-0`, `~web-0` terminating, `-web-0` gone).
 */
class Observer {
  readonly pods: ResilientInformer<V1Pod>;
  readonly sets: ResilientInformer<V1StatefulSet>;
  readonly events: ResilientInformer<CoreV1Event>;
  readonly timeline: string[] = [];
  readonly #listeners = new Set<() => void>();

  constructor(api: LocalApi) {
    const core = api.kc.makeApiClient(CoreV1Api);
    const apps = api.kc.makeApiClient(AppsV1Api);
    this.pods = new ResilientInformer<V1Pod>({ kc: api.kc, path: `/api/v1/namespaces/${NS}/pods`, list: () => core.listNamespacedPod({ namespace: NS }) });
    this.sets = new ResilientInformer<V1StatefulSet>({ kc: api.kc, path: `/apis/apps/v1/namespaces/${NS}/statefulsets`, list: () => apps.listNamespacedStatefulSet({ namespace: NS }) });
    this.events = new ResilientInformer<CoreV1Event>({ kc: api.kc, path: `/api/v1/namespaces/${NS}/events`, list: () => core.listNamespacedEvent({ namespace: NS }) });
    const seen = new Map<string, Set<string>>();
    const note = (pod: V1Pod, mark: string): void => {
      const name = pod.metadata?.name ?? '';
      const marks = seen.get(`${name}/${pod.metadata?.uid}`) ?? new Set<string>();
      seen.set(`${name}/${pod.metadata?.uid}`, marks);
      if (!marks.has(mark)) this.timeline.push(`${mark}${name}`);
      marks.add(mark);
    };
    const onPod = (pod: V1Pod): void => {
      note(pod, '+');
      if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) note(pod, 'ready ');
      if (pod.metadata?.deletionTimestamp) note(pod, '~');
    };
    this.pods.on('add', onPod);
    this.pods.on('update', onPod);
    this.pods.on('delete', (pod) => note(pod, '-'));
    for (const informer of [this.pods, this.sets, this.events] as ResilientInformer<never>[]) {
      for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => this.#listeners.forEach((notify) => notify()));
    }
  }

  start(): Promise<unknown> {
    return Promise.all([this.pods.start(), this.sets.start(), this.events.start()]);
  }

  /** Resolves when `predicate` holds, checked on every change the informers see. */
  until<T>(predicate: () => T | undefined | false): Promise<T> {
    return until((notify) => {
      this.#listeners.add(notify);
      return () => this.#listeners.delete(notify);
    }, () => predicate() || undefined);
  }

  pod(name: string): V1Pod | undefined {
    return this.pods.get(name, NS);
  }

  podNames(): string[] {
    return this.pods.list(NS).map((p) => p.metadata?.name ?? '').sort();
  }

  set(): V1StatefulSet | undefined {
    return this.sets.get('web', NS);
  }

  /** Waits until the set's status (for the latest generation) has these figures. */
  status(figures: Record<string, unknown>): Promise<V1StatefulSet> {
    return this.until(() => {
      const set = this.set();
      const status = (set?.status ?? {}) as Record<string, unknown>;
      const fresh = status.observedGeneration === set?.metadata?.generation;
      return fresh && Object.entries(figures).every(([k, v]) => (status[k] ?? 0) === v) ? set : undefined;
    });
  }

  close(): Promise<unknown> {
    return Promise.all([this.pods.close(), this.sets.close(), this.events.close()]);
  }
}

/** Plays the kubelet, which these tests do without: binds pods, makes them Ready or Failed, finishes deletions. */
class FakeKubelet {
  readonly #core: CoreV1Api;

  constructor(api: LocalApi) {
    this.#core = api.kc.makeApiClient(CoreV1Api);
  }

  async ready(...names: string[]): Promise<void> {
    const now = new Date().toISOString();
    for (const name of names) {
      const status = {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }, { type: 'ContainersReady', status: 'True', lastTransitionTime: now }],
        containerStatuses: [{ name: 'main', image: 'web', imageID: '', ready: true, restartCount: 0, started: true, state: { running: { startedAt: now } } }],
      };
      await this.#core.patchNamespacedPodStatus({ name, namespace: NS, body: [{ op: 'replace', path: '/status', value: status }] });
    }
  }

  async fail(name: string): Promise<void> {
    await this.#core.patchNamespacedPodStatus({ name, namespace: NS, body: [{ op: 'replace', path: '/status', value: { phase: 'Failed' } }] });
  }

  /** Binds a pod to a node, so that deleting it is graceful (it terminates until {@link finish}). */
  async bind(name: string): Promise<void> {
    await this.#core.patchNamespacedPod({ name, namespace: NS, body: [{ op: 'add', path: '/spec/nodeName', value: 'local' }] });
  }

  async delete(name: string): Promise<void> {
    await this.#core.deleteNamespacedPod({ name, namespace: NS });
  }

  /** Ends a graceful deletion, as the kubelet does once the containers are gone. */
  async finish(name: string): Promise<void> {
    await this.#core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 });
  }
}

interface Env {
  api: LocalApi;
  apps: AppsV1Api;
  controller: StatefulSetController;
  observer: Observer;
  kubelet: FakeKubelet;
  reconciles: () => number;
  /** Subscribes to the controller's reconciles, for {@link until}. */
  onReconciled: (notify: () => void) => () => void;
  errors: unknown[];
}

/** A server, a started controller and observer; all stopped after the test. */
async function setup(t: TestContext, options: Partial<StatefulSetControllerOptions> = {}): Promise<Env> {
  const api = await startLocalApi();
  const errors: unknown[] = [];
  let reconciles = 0;
  const listeners = new Set<() => void>();
  const onReconciled = (): void => {
    reconciles++;
    for (const notify of listeners) notify();
  };
  const controller = new StatefulSetController({ kc: api.kc, namespace: NS, onError: (e) => errors.push(e), onReconciled, ...options });
  const observer = new Observer(api);
  t.after(async () => {
    await controller.close();
    await observer.close();
    await api.close();
  });
  await Promise.all([controller.start(), observer.start()]);
  return { api, apps: api.kc.makeApiClient(AppsV1Api), controller, observer, kubelet: new FakeKubelet(api), reconciles: () => reconciles, onReconciled: (notify) => {
    listeners.add(notify);
    return () => listeners.delete(notify);
  }, errors };
}

async function scale(env: Env, replicas: number): Promise<void> {
  await env.apps.patchNamespacedStatefulSet({ name: 'web', namespace: NS, body: [{ op: 'replace', path: '/spec/replicas', value: replicas }] });
}

async function setImage(env: Env, image: string): Promise<void> {
  await env.apps.patchNamespacedStatefulSet({ name: 'web', namespace: NS, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }] });
}

/** Writes (anything but GET) in the server's request log since `from`, as `METHOD path`. */
function writesSince(api: LocalApi, from: number, pathPart = ''): string[] {
  return api.requestLog.slice(from).filter((r) => r.method !== 'GET' && r.path.includes(pathPart)).map((r) => `${r.method} ${r.path}`);
}

const POD_POSTS = `/api/v1/namespaces/${NS}/pods`;
const revisionOf = (pod: V1Pod | undefined): string | undefined => pod?.metadata?.labels?.['controller-revision-hash'];

test('Parallel scales 1 → 3 → 1 at once, removing the highest ordinal first', async (t) => {
  const env = await setup(t);
  const { observer } = env;
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 1, policy: 'Parallel' }) });
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
  assert.deepEqual(observer.timeline.filter((e) => !e.startsWith('~')), ['+web-0', 'ready web-0', '+web-1', 'ready web-1', '+web-2', 'ready web-2']);

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
  assert.deepEqual(observer.timeline.filter((e) => e.startsWith('~') || e.startsWith('-')), ['~web-2', '-web-2', '~web-1', '-web-1']);
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
  assert.deepEqual(pod.metadata?.labels, { app: 'web', 'statefulset.kubernetes.io/pod-name': 'web-0', 'apps.kubernetes.io/pod-index': '0', 'controller-revision-hash': revision });
  assert.deepEqual(pod.metadata?.annotations, { 'example.com/note': 'kept' });
  assert.equal(pod.spec?.hostname, 'web-0');
  assert.equal(pod.spec?.subdomain, 'web-headless');
  assert.equal(pod.spec?.containers[0]?.image, 'web:1');
  const refs = pod.metadata?.ownerReferences?.map((r) => ({ ...r }));
  assert.deepEqual(refs, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: set.metadata?.uid, controller: true, blockOwnerDeletion: true }]);
});

test('status reports the pods and the observed generation', async (t) => {
  const env = await setup(t);
  const { observer, kubelet } = env;
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 3, policy: 'Parallel' }) });
  await observer.until(() => observer.podNames().length === 3);
  await kubelet.ready('web-0', 'web-2');
  const set = await observer.status({ replicas: 3, readyReplicas: 2, availableReplicas: 2, currentReplicas: 3, updatedReplicas: 3 });
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
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 2, policy: 'Parallel' }) });
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
  assert.deepEqual(writesSince(api, from, POD_POSTS).filter((w) => w.startsWith('POST')), [], 'no create while web-1 terminates');
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
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 3, policy: 'Parallel', partition: 1 }) });
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
  assert.deepEqual(writesSince(env.api, beforeUpdate, POD_POSTS).filter((w) => w.startsWith('DELETE')), [`DELETE ${POD_POSTS}/web-2`], 'web-1 waits until web-2 is Ready');

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

  await env.apps.patchNamespacedStatefulSet({ name: 'web', namespace: NS, body: [{ op: 'replace', path: '/spec/updateStrategy/rollingUpdate/partition', value: 0 }] });
  await observer.until(() => revisionOf(observer.pod('web-0')) === newRevision);
  await kubelet.ready('web-0');
  const complete = await observer.status({ updatedReplicas: 3, currentReplicas: 3, readyReplicas: 3 });
  assert.equal(complete.status?.currentRevision, newRevision);
  assert.deepEqual(env.errors, []);
});

test('OnDelete never replaces pods, and a pod deleted by hand comes back at the new revision', async (t) => {
  const env = await setup(t);
  const { observer, kubelet } = env;
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 2, policy: 'Parallel', strategy: 'OnDelete' }) });
  await observer.until(() => observer.podNames().length === 2);
  await kubelet.ready('web-0', 'web-1');
  const before = await observer.status({ readyReplicas: 2 });
  const uids = observer.pods.list(NS).map((p) => p.metadata?.uid);

  await setImage(env, 'web:2');
  const after = await observer.status({ updatedReplicas: 0, currentReplicas: 2, readyReplicas: 2 });
  assert.notEqual(after.status?.updateRevision, before.status?.updateRevision);
  assert.deepEqual(observer.pods.list(NS).map((p) => p.metadata?.uid), uids);

  await kubelet.delete('web-1');
  await observer.until(() => revisionOf(observer.pod('web-1')) === after.status?.updateRevision);
  assert.equal(revisionOf(observer.pod('web-0')), before.status?.updateRevision);
  await observer.status({ updatedReplicas: 1, currentReplicas: 1 });
});

test('a resync that finds nothing changed writes nothing', async (t) => {
  const env = await setup(t, { resyncMs: 20 });
  const { observer, kubelet, api } = env;
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 2, policy: 'Parallel' }) });
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
  await env.apps.createNamespacedStatefulSet({ namespace: NS, body: newStatefulSet({ replicas: 2, policy: 'Parallel' }) });
  await observer.until(() => observer.podNames().length === 2);
  await scale(env, 1);
  const event = await observer.until(() => observer.events.list(NS).find((e) => e.reason === 'SuccessfulDelete'));
  assert.equal(event.message, 'delete Pod web-1 in StatefulSet web successful');
  assert.equal(event.type, 'Normal');
  assert.deepEqual([event.involvedObject.kind, event.involvedObject.name], ['StatefulSet', 'web']);
  assert.equal(event.source?.component, 'statefulset-controller');
  const created = observer.events.list(NS).filter((e) => e.reason === 'SuccessfulCreate').map((e) => e.message).sort();
  assert.deepEqual(created, ['create Pod web-0 in StatefulSet web successful', 'create Pod web-1 in StatefulSet web successful']);
});

test('bad options are refused at construction, naming the option', async () => {
  const api = await startLocalApi();
  try {
    assert.throws(() => new StatefulSetController({ kc: api.kc, resyncMs: 0 }), { name: 'RangeError', message: /resyncMs/ });
    assert.throws(() => new StatefulSetController({ kc: api.kc, conflictRetryMs: Number.NaN }), { name: 'RangeError', message: /conflictRetryMs/ });
    assert.throws(() => new StatefulSetController({ kc: api.kc, namespace: '' }), { name: 'TypeError', message: /namespace/ });
  } finally {
    await api.close();
  }
});
