import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, PolicyV1Api } from '@kubernetes/client-node';
import { LocalCluster } from '../../local/cluster.js';
import { images, readyWebPods, webStatefulSet } from './cluster-fixtures.js';
import { runKubectl } from '../support/kubectl.js';
import { postRaw, type LocalApi } from '../support/local-api.js';
import { isGone, watchUntil } from '../support/wait.js';

const PODS = '/api/v1/namespaces/default/pods';

interface Session {
  readonly cluster: LocalCluster;
  readonly kubectl: (args: readonly string[]) => Promise<string>;
}

async function withCluster(body: (s: Session) => Promise<void>): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-nodes-'));
  const cluster = new LocalCluster({ stateDir, images, nodes: 3 });
  const kubectl = async (args: readonly string[]): Promise<string> => {
    const result = await runKubectl(cluster.kubeconfigPath, stateDir, args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  };
  try {
    await cluster.start();
    await body({ cluster, kubectl });
  } finally {
    const pids = cluster.pids();
    await cluster.close();
    assert.deepEqual(
      pids.filter((pid) => !isGone(pid)),
      [],
    );
    await rm(stateDir, { recursive: true, force: true });
  }
}

test('nodes are listed Ready, pods spread over them, and cordon taints a node the scheduler then avoids', async () => {
  await withCluster(async ({ cluster, kubectl }) => {
    const table = await kubectl(['get', 'nodes']);
    assert.match(table, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
    for (const name of ['local-1', 'local-2', 'local-3']) assert.match(table, new RegExp(`${name}\\s+Ready\\s+<none>`));
    assert.match(
      await kubectl(['get', 'nodes', '-o', 'wide']),
      /local-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0\s+127\.0\.0\.1/,
    );
    assert.match(await kubectl(['describe', 'node', 'local-2']), /kubernetes\.io\/hostname=local-2/);

    await cluster.kc
      .makeApiClient(AppsV1Api)
      .createNamespacedStatefulSet({ namespace: 'default', body: webStatefulSet(3) });
    const pods = await watchUntil(cluster.kc, PODS, readyWebPods(cluster, 3));
    assert.deepEqual(pods.map((p) => p.spec?.nodeName).sort(), ['local-1', 'local-2', 'local-3']);
    assert.match(await kubectl(['get', 'pods', '-o', 'wide']), /web-0\s+1\/1\s+Running\s+0\s+\S+\s+\S+\s+local-\d/);

    assert.match(await kubectl(['cordon', 'local-1']), /node\/local-1 cordoned/);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const tainted = await watchUntil(cluster.kc, '/api/v1/nodes', async () => {
      const node = await core.readNode({ name: 'local-1' });
      return node.spec?.taints?.find((t) => t.key === 'node.kubernetes.io/unschedulable') ? node : undefined;
    });
    assert.equal(tainted.spec?.taints?.[0]?.effect, 'NoSchedule');
    assert.match(await kubectl(['get', 'nodes']), /local-1\s+Ready,SchedulingDisabled/);

    const pinned = {
      metadata: { name: 'pinned' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': 'local-1' },
        containers: [{ name: 'c', image: 'imring-test/server:1', env: [{ name: 'PORT', value: '8081' }] }],
      },
    };
    await core.createNamespacedPod({ namespace: 'default', body: pinned });
    const pending = await watchUntil(cluster.kc, PODS, async () => {
      const pod = await core.readNamespacedPod({ name: 'pinned', namespace: 'default' });
      return pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
    });
    assert.equal(
      pending.message,
      "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) didn't match Pod's node affinity/selector. " +
        'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    assert.match(await kubectl(['get', 'events', '--field-selector', 'reason=FailedScheduling']), /pod\/pinned/);

    await kubectl(['uncordon', 'local-1']);
    const bound = await watchUntil(cluster.kc, PODS, async () => {
      const pod = await core.readNamespacedPod({ name: 'pinned', namespace: 'default' });
      return pod.spec?.nodeName;
    });
    assert.equal(bound, 'local-1');
  });
});

test('a PDB status is computed, an eviction it allows is 201, the next is 429, and drain evicts and recreates elsewhere', async () => {
  await withCluster(async ({ cluster, kubectl }) => {
    await cluster.kc
      .makeApiClient(AppsV1Api)
      .createNamespacedStatefulSet({ namespace: 'default', body: webStatefulSet(3) });
    const pods = await watchUntil(cluster.kc, PODS, readyWebPods(cluster, 3));
    const policy = cluster.kc.makeApiClient(PolicyV1Api);
    await policy.createNamespacedPodDisruptionBudget({
      namespace: 'default',
      body: { metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } },
    });
    const status = await watchUntil(cluster.kc, '/apis/policy/v1/namespaces/default/poddisruptionbudgets', async () => {
      const pdb = await policy.readNamespacedPodDisruptionBudget({ name: 'web', namespace: 'default' });
      return pdb.status?.currentHealthy === 3 ? pdb.status : undefined;
    });
    assert.deepEqual(
      [status.currentHealthy, status.desiredHealthy, status.disruptionsAllowed, status.expectedPods],
      [3, 2, 1, 3],
    );
    assert.match(await kubectl(['get', 'pdb', 'web']), /web\s+2\s+N\/A\s+1\s/);

    // postRaw reads only the server of the LocalApi it is given.
    const api = { server: cluster.server } as unknown as LocalApi;
    const evict = (name: string, query = '') =>
      postRaw(api, `${PODS}/${name}/eviction${query}`, {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name, namespace: 'default' },
      });
    assert.equal((await evict('web-0', '?dryRun=All')).status, 201);
    assert.equal((await evict('web-0')).status, 201);
    const refused = await evict('web-1');
    assert.equal(refused.status, 429, JSON.stringify(refused.body));
    const body = refused.body as { message: string; reason: string; details: { causes: unknown[] } };
    assert.equal(body.message, "Cannot evict pod as it would violate the pod's disruption budget.");
    assert.equal(body.reason, 'TooManyRequests');
    // The eviction takes the disruption at once; currentHealthy drops when the controller sees web-0 go.
    assert.equal(body.details.causes.length, 1);
    assert.match(
      JSON.stringify(body.details.causes[0]),
      /^\{"reason":"DisruptionBudget","message":"The disruption budget web needs 2 healthy pods and has [23] currently"\}$/,
    );

    const drained = pods.find((p) => p.metadata?.name === 'web-2')!.spec!.nodeName!;
    await watchUntil(cluster.kc, PODS, readyWebPods(cluster, 3));
    const out = await kubectl(['drain', drained, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s']);
    assert.match(out, new RegExp(`node/${drained} drained`));
    const after = await watchUntil(cluster.kc, PODS, readyWebPods(cluster, 3));
    assert.ok(
      after.every((p) => p.spec?.nodeName !== drained),
      'no web pod is left on the drained node',
    );
  });
});
