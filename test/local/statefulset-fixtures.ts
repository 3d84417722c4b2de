/** Fixtures of the StatefulSet controller's tests: the set, an observer of what it does, a fake kubelet. */
import type { TestContext } from 'node:test';
import { AppsV1Api, CoreV1Api, type CoreV1Event, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { ResilientInformer } from '../../kube/controller-kit.js';
import { StatefulSetController, type StatefulSetControllerOptions } from '../../local/controllers/statefulset.js';
import { startLocalApi, until, type LocalApi } from '../support/local-api.js';

/** The namespace the StatefulSet tests run in. */
export const NS = 'default';

/** What a test's StatefulSet `web` differs in. */
export interface SetFixture {
  replicas: number;
  policy?: 'OrderedReady' | 'Parallel';
  strategy?: 'RollingUpdate' | 'OnDelete';
  partition?: number;
}

/** StatefulSet `web` (app=web, one container `main`) as the fixture says. */
export function newStatefulSet(f: SetFixture): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: NS },
    spec: {
      replicas: f.replicas,
      serviceName: 'web-headless',
      podManagementPolicy: f.policy ?? 'OrderedReady',
      updateStrategy:
        f.strategy === 'OnDelete'
          ? { type: 'OnDelete' }
          : { type: 'RollingUpdate', rollingUpdate: { partition: f.partition ?? 0 } },
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' }, annotations: { 'example.com/note': 'kept' } },
        spec: { containers: [{ name: 'main', image: 'web:1' }] },
      },
    },
  };
}

/**
 * What the tests watch: pods, the set and events through informers, with a timeline of pod
 * changes (`+web-0` created, `ready web-0`, `~web-0` terminating, `-web-0` gone).
 */
export class Observer {
  readonly pods: ResilientInformer<V1Pod>;
  readonly sets: ResilientInformer<V1StatefulSet>;
  readonly events: ResilientInformer<CoreV1Event>;
  readonly timeline: string[] = [];
  readonly #listeners = new Set<() => void>();

  constructor(api: LocalApi) {
    const core = api.kc.makeApiClient(CoreV1Api);
    const apps = api.kc.makeApiClient(AppsV1Api);
    this.pods = new ResilientInformer<V1Pod>({
      kc: api.kc,
      path: `/api/v1/namespaces/${NS}/pods`,
      list: () => core.listNamespacedPod({ namespace: NS }),
    });
    this.sets = new ResilientInformer<V1StatefulSet>({
      kc: api.kc,
      path: `/apis/apps/v1/namespaces/${NS}/statefulsets`,
      list: () => apps.listNamespacedStatefulSet({ namespace: NS }),
    });
    this.events = new ResilientInformer<CoreV1Event>({
      kc: api.kc,
      path: `/api/v1/namespaces/${NS}/events`,
      list: () => core.listNamespacedEvent({ namespace: NS }),
    });
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
      for (const event of ['add', 'update', 'delete'] as const)
        informer.on(event, () => this.#listeners.forEach((notify) => notify()));
    }
  }

  start(): Promise<unknown> {
    return Promise.all([this.pods.start(), this.sets.start(), this.events.start()]);
  }

  /** Resolves when `predicate` holds, checked on every change the informers see. */
  until<T>(predicate: () => T | undefined | false): Promise<T> {
    return until(
      (notify) => {
        this.#listeners.add(notify);
        return () => this.#listeners.delete(notify);
      },
      () => predicate() || undefined,
    );
  }

  pod(name: string): V1Pod | undefined {
    return this.pods.get(name, NS);
  }

  podNames(): string[] {
    return this.pods
      .list(NS)
      .map((p) => p.metadata?.name ?? '')
      .sort();
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
export class FakeKubelet {
  readonly #core: CoreV1Api;

  constructor(api: LocalApi) {
    this.#core = api.kc.makeApiClient(CoreV1Api);
  }

  async ready(...names: string[]): Promise<void> {
    const now = new Date().toISOString();
    for (const name of names) {
      const status = {
        phase: 'Running',
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
        ],
        containerStatuses: [
          {
            name: 'main',
            image: 'web',
            imageID: '',
            ready: true,
            restartCount: 0,
            started: true,
            state: { running: { startedAt: now } },
          },
        ],
      };
      await this.#core.patchNamespacedPodStatus({
        name,
        namespace: NS,
        body: [{ op: 'replace', path: '/status', value: status }],
      });
    }
  }

  async fail(name: string): Promise<void> {
    await this.#core.patchNamespacedPodStatus({
      name,
      namespace: NS,
      body: [{ op: 'replace', path: '/status', value: { phase: 'Failed' } }],
    });
  }

  /** Binds a pod to a node, so that deleting it is graceful (it terminates until {@link finish}). */
  async bind(name: string): Promise<void> {
    await this.#core.patchNamespacedPod({
      name,
      namespace: NS,
      body: [{ op: 'add', path: '/spec/nodeName', value: 'local' }],
    });
  }

  async delete(name: string): Promise<void> {
    await this.#core.deleteNamespacedPod({ name, namespace: NS });
  }

  /** Ends a graceful deletion, as the kubelet does once the containers are gone. */
  async finish(name: string): Promise<void> {
    await this.#core.deleteNamespacedPod({ name, namespace: NS, gracePeriodSeconds: 0 });
  }
}

/** A test's server, controller, observer and fake kubelet. */
export interface Env {
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
export async function setup(t: TestContext, options: Partial<StatefulSetControllerOptions> = {}): Promise<Env> {
  const api = await startLocalApi();
  const errors: unknown[] = [];
  let reconciles = 0;
  const listeners = new Set<() => void>();
  const onReconciled = (): void => {
    reconciles++;
    for (const notify of listeners) notify();
  };
  const controller = new StatefulSetController({
    kc: api.kc,
    namespace: NS,
    onError: (e) => errors.push(e),
    onReconciled,
    ...options,
  });
  const observer = new Observer(api);
  t.after(async () => {
    await controller.close();
    await observer.close();
    await api.close();
  });
  await Promise.all([controller.start(), observer.start()]);
  return {
    api,
    apps: api.kc.makeApiClient(AppsV1Api),
    controller,
    observer,
    kubelet: new FakeKubelet(api),
    reconciles: () => reconciles,
    onReconciled: (notify) => {
      listeners.add(notify);
      return () => listeners.delete(notify);
    },
    errors,
  };
}

/** Sets `spec.replicas` of `web`. */
export async function scale(env: Env, replicas: number): Promise<void> {
  await env.apps.patchNamespacedStatefulSet({
    name: 'web',
    namespace: NS,
    body: [{ op: 'replace', path: '/spec/replicas', value: replicas }],
  });
}

/** Sets the image of `web`'s container (a new revision). */
export async function setImage(env: Env, image: string): Promise<void> {
  await env.apps.patchNamespacedStatefulSet({
    name: 'web',
    namespace: NS,
    body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
  });
}

/** Writes (anything but GET) in the server's request log since `from`, as `METHOD path`. */
export function writesSince(api: LocalApi, from: number, pathPart = ''): string[] {
  return api.requestLog
    .slice(from)
    .filter((r) => r.method !== 'GET' && r.path.includes(pathPart))
    .map((r) => `${r.method} ${r.path}`);
}

/** Where pods are created. */
export const POD_POSTS = `/api/v1/namespaces/${NS}/pods`;
/** The revision label of a pod. */
export const revisionOf = (pod: V1Pod | undefined): string | undefined =>
  pod?.metadata?.labels?.['controller-revision-hash'];
