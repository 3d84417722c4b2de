import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AppsV1Api, CoreV1Api, Watch, type V1Pod } from '@kubernetes/client-node';
import { LocalCluster } from '../../local/cluster.js';
import { runKubectl } from '../support/kubectl.js';
import { watchUntil } from '../support/wait.js';
import { images, webPodTemplate, webStatefulSet } from './cluster-fixtures.js';

/**
 * Deployments on the local control plane driven by the real kubectl: rollout status, restart
 * (surge and unavailability bounds held throughout), history, undo, scale, Recreate, the
 * printer columns, and cascading deletion.
 */

const PODS = '/api/v1/namespaces/default/pods';

/** A cluster and a kubectl pointed at it; both closed afterwards. */
async function withKubectlCluster(body: (k: Kubectl) => Promise<void>): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-deploy-'));
  const errors: string[] = [];
  const cluster = new LocalCluster({ stateDir, images, onError: (c, e) => errors.push(`${c}: ${String(e)}`) });
  try {
    await cluster.start();
    await body(new Kubectl(cluster, stateDir));
    assert.deepEqual(
      errors.filter((e) => !/409|conflict/i.test(e)),
      [],
      'no controller failed',
    );
  } finally {
    await cluster.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

class Kubectl {
  readonly cluster: LocalCluster;
  readonly #dir: string;

  constructor(cluster: LocalCluster, dir: string) {
    this.cluster = cluster;
    this.#dir = dir;
  }

  async ok(...args: string[]): Promise<string> {
    const result = await runKubectl(this.cluster.kubeconfigPath, this.#dir, args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  async apply(object: unknown): Promise<string> {
    const path = join(this.#dir, 'manifest.yaml');
    await writeFile(path, stringify(object));
    return this.ok('apply', '-f', path);
  }
}

/** A Deployment of the test server with a readiness probe. */
function webDeployment(replicas: number, strategy: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      replicas,
      strategy,
      selector: { matchLabels: { app: 'web' } },
      template: webPodTemplate(),
    },
  };
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** The pods of app=web as a watch sees them, and the extremes of live and Ready pods over time. */
class PodCensus {
  readonly pods = new Map<string, V1Pod>();
  maxLive = 0;
  minReady = Number.POSITIVE_INFINITY;
  /** Template hashes seen starting while a pod of another hash was still there (Recreate must see none). */
  readonly overlaps: string[] = [];
  #abort: AbortController | undefined;

  /** Starts from a list, so the extremes count from the state before the change under test. */
  async start(cluster: LocalCluster): Promise<void> {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    for (const pod of list.items) this.pods.set(pod.metadata!.name!, pod);
    this.#abort = await new Watch(cluster.kc).watch(
      PODS,
      { labelSelector: 'app=web', resourceVersion: list.metadata?.resourceVersion },
      (type: string, pod: V1Pod) => this.#observe(type, pod),
      () => undefined,
    );
  }

  stop(): void {
    this.#abort?.abort();
  }

  #observe(type: string, pod: V1Pod): void {
    const name = pod.metadata!.name!;
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (type === 'ADDED' && [...this.pods.values()].some((p) => p.metadata?.labels?.['pod-template-hash'] !== hash))
      this.overlaps.push(name);
    if (type === 'DELETED') this.pods.delete(name);
    else this.pods.set(name, pod);
    const live = [...this.pods.values()].filter((p) => !p.metadata?.deletionTimestamp);
    this.maxLive = Math.max(this.maxLive, live.length);
    this.minReady = Math.min(this.minReady, live.filter(isReady).length);
  }
}

/** Resolves once app=web has exactly `count` pods, all Ready, of one template hash other than `not`. */
function settledPods(k: Kubectl, count: number, not?: string): Promise<V1Pod[]> {
  const core = k.cluster.kc.makeApiClient(CoreV1Api);
  return watchUntil(k.cluster.kc, PODS, async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
    const hashes = new Set(pods.map((p) => p.metadata?.labels?.['pod-template-hash']));
    const settled = pods.length === count && pods.every(isReady) && hashes.size === 1 && !hashes.has(not);
    return settled ? pods : undefined;
  });
}

function rows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

test('kubectl rollout status, restart (bounds held), history, undo and scale drive a 2-replica Deployment', async () => {
  await withKubectlCluster(async (k) => {
    assert.match(await k.apply(webDeployment(2)), /deployment.apps\/web created/);
    assert.match(await k.ok('rollout', 'status', 'deploy/web', '--timeout=60s'), /successfully rolled out/);
    const first = await settledPods(k, 2);
    const firstHash = first[0]!.metadata!.labels!['pod-template-hash']!;
    assert.ok(first.every((p) => p.metadata!.name!.startsWith(`web-${firstHash}-`)));

    const table = rows(await k.ok('get', 'deploy,rs'));
    assert.deepEqual(table[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
    assert.deepEqual(table[1]!.slice(0, 4), ['deployment.apps/web', '2/2', '2', '2']);
    assert.deepEqual(table[3], ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    assert.deepEqual(table[4]!.slice(0, 4), [`replicaset.apps/web-${firstHash}`, '2', '2', '2']);

    const census = new PodCensus();
    await census.start(k.cluster);
    try {
      await k.ok('rollout', 'restart', 'deploy/web');
      assert.match(await k.ok('rollout', 'status', 'deploy/web', '--timeout=60s'), /successfully rolled out/);
      await settledPods(k, 2, firstHash);
    } finally {
      census.stop();
    }
    // 25% of 2: maxSurge rounds up to 1, maxUnavailable down to 0.
    assert.equal(census.maxLive, 3, 'one pod above replicas at most, and the surge used');
    assert.equal(census.minReady, 2, 'never below replicas Ready');

    const history = await k.ok('rollout', 'history', 'deploy/web');
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    await k.ok('rollout', 'undo', 'deploy/web');
    assert.match(await k.ok('rollout', 'status', 'deploy/web', '--timeout=60s'), /successfully rolled out/);
    const undone = await settledPods(k, 2);
    assert.equal(undone[0]!.metadata!.labels!['pod-template-hash'], firstHash, 'back on the first template');
    const apps = k.cluster.kc.makeApiClient(AppsV1Api);
    const rs = await apps.readNamespacedReplicaSet({ name: `web-${firstHash}`, namespace: 'default' });
    assert.equal(rs.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');

    await k.ok('scale', 'deploy/web', '--replicas=3');
    assert.match(await k.ok('rollout', 'status', 'deploy/web', '--timeout=60s'), /successfully rolled out/);
    await settledPods(k, 3);
    const events = await k.ok('get', 'events', '--field-selector', 'involvedObject.kind=Deployment');
    assert.match(events, new RegExp(`Scaled up replica set web-${firstHash} from 0 to 2`));
    assert.match(events, new RegExp(`Scaled up replica set web-${firstHash} from 2 to 3`));

    await k.ok('delete', 'deploy/web', '--wait=true', '--cascade=foreground');
    assert.equal(await k.ok('get', 'rs,pods', '-l', 'app=web', '-o', 'name'), '');
  });
});

test('a Recreate Deployment stops every old pod before the new ReplicaSet starts one', async () => {
  await withKubectlCluster(async (k) => {
    await k.apply(webDeployment(2, { type: 'Recreate' }));
    assert.match(await k.ok('rollout', 'status', 'deploy/web', '--timeout=60s'), /successfully rolled out/);
    const first = await settledPods(k, 2);
    const census = new PodCensus();
    await census.start(k.cluster);
    try {
      await k.ok('rollout', 'restart', 'deploy/web');
      assert.match(await k.ok('rollout', 'status', 'deploy/web', '--timeout=60s'), /successfully rolled out/);
      await settledPods(k, 2, first[0]!.metadata!.labels!['pod-template-hash']);
    } finally {
      census.stop();
    }
    assert.deepEqual(census.overlaps, [], 'no new pod while an old one was there');
    assert.equal(census.maxLive, 2);
  });
});

test('kubectl rollout history sts lists the StatefulSet ControllerRevisions and shows a revision template', async () => {
  await withKubectlCluster(async (k) => {
    await k.apply({ apiVersion: 'apps/v1', kind: 'StatefulSet', ...webStatefulSet(1) });
    assert.match(await k.ok('rollout', 'status', 'sts/web', '--timeout=60s'), /roll out complete/);
    await k.ok('rollout', 'restart', 'sts/web');
    assert.match(await k.ok('rollout', 'status', 'sts/web', '--timeout=60s'), /roll out complete/);

    assert.match(await k.ok('rollout', 'history', 'sts/web'), /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    const first = await k.ok('rollout', 'history', 'sts/web', '--revision=1');
    assert.match(first, /with revision #1\nPod Template:\n\s+Labels:\s+app=web/);
    assert.doesNotMatch(first, /restartedAt/);
    assert.match(await k.ok('rollout', 'history', 'sts/web', '--revision=2'), /kubectl.kubernetes.io\/restartedAt/);

    const table = rows(await k.ok('get', 'controllerrevisions'));
    assert.deepEqual(table[0], ['NAME', 'CONTROLLER', 'REVISION', 'AGE']);
    const revisions = table.slice(1).map((row) => row.slice(1, 3));
    assert.deepEqual(
      revisions.sort((a, b) => Number(a[1]) - Number(b[1])),
      [
        ['statefulset.apps/web', '1'],
        ['statefulset.apps/web', '2'],
      ],
    );
    const set = await k.cluster.kc
      .makeApiClient(AppsV1Api)
      .readNamespacedStatefulSet({ name: 'web', namespace: 'default' });
    const names = table.slice(1).map((row) => row[0]);
    assert.ok(names.includes(set.status!.currentRevision) && names.includes(set.status!.updateRevision));
  });
});
