import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { LocalCluster } from '../../local/cluster.js';
import { readyWebPods, webStatefulSet, withCluster } from './cluster-fixtures.js';
import { isGone, watchUntil } from '../support/wait.js';

function pidOf(pod: V1Pod): number {
  return Number(pod.status?.containerStatuses?.[0]?.containerID?.replace('local://', ''));
}

test('a StatefulSet of real processes scales 1 → 3 → 1, each pod serving on its own address', async () => {
  await withCluster(async (cluster) => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedService({
      namespace: 'default',
      body: {
        metadata: { name: 'web' },
        spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 8080 }] },
      },
    });
    await apps.createNamespacedStatefulSet({ namespace: 'default', body: webStatefulSet(1) });
    const one = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', readyWebPods(cluster, 1));
    assert.deepEqual(
      one.map((p) => p.metadata?.name),
      ['web-0'],
    );

    await apps.patchNamespacedStatefulSetScale(
      { name: 'web', namespace: 'default', body: { spec: { replicas: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const three = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', readyWebPods(cluster, 3));
    assert.deepEqual(
      three.map((p) => p.metadata?.name),
      ['web-0', 'web-1', 'web-2'],
    );
    const ips = three.map((p) => p.status?.podIP);
    assert.equal(new Set(ips).size, 3);
    for (const ip of ips) {
      assert.match(ip ?? '', /^127\.\d+\.\d+\.\d+$/);
      const response = await fetch(`http://${ip}:8080/healthz`);
      assert.equal(response.status, 200, `the pod at ${ip} serves`);
    }
    const hosts = await readFile(cluster.hostsFile, 'utf8');
    for (const pod of three)
      assert.match(
        hosts,
        new RegExp(
          `^${pod.status!.podIP!.replaceAll('.', '\\.')}\\s+${pod.metadata!.name}\\.web\\.default\\.svc\\.cluster\\.local$`,
          'm',
        ),
      );

    const scale = await apps.readNamespacedStatefulSetScale({ name: 'web', namespace: 'default' });
    await apps.replaceNamespacedStatefulSetScale({
      name: 'web',
      namespace: 'default',
      body: { ...scale, spec: { replicas: 1 } },
    });
    const back = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', readyWebPods(cluster, 1));
    assert.deepEqual(
      back.map((p) => p.metadata?.name),
      ['web-0'],
    );
    for (const removed of three.slice(1))
      assert.ok(isGone(pidOf(removed)), `${removed.metadata?.name}'s process stopped`);
    assert.ok(!isGone(pidOf(back[0]!)), 'web-0 keeps running');
  });
});

// firstPodAddress lets two clusters on one machine hand out different addresses, and so different ports.
test('pods get their addresses from firstPodAddress, and the hosts file under hostsFileEnv', async () => {
  await withCluster(
    async (cluster) => {
      const apps = cluster.kc.makeApiClient(AppsV1Api);
      await apps.createNamespacedStatefulSet({ namespace: 'default', body: webStatefulSet(1) });
      const [pod] = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', readyWebPods(cluster, 1));
      assert.equal(pod?.status?.podIP, '127.42.7.1');
      assert.equal((await fetch('http://127.42.7.1:8080/healthz')).status, 200);
      const { env } = (await (await fetch('http://127.42.7.1:8080/env')).json()) as { env: Record<string, string> };
      assert.equal(env.CLUSTER_HOSTS, cluster.hostsFile);
      assert.equal(env.KUBECONFIG, cluster.kubeconfigPath);
    },
    { firstPodAddress: '127.42.7.1', hostsFileEnv: 'CLUSTER_HOSTS' },
  );
});

test('a cluster refuses a hostsFileEnv that is no variable name, naming the option', () => {
  for (const hostsFileEnv of ['', '1X', 'A-B', 'KUBECONFIG']) {
    const refused = { name: 'TypeError', message: /^hostsFileEnv must be/ };
    assert.throws(() => new LocalCluster({ stateDir: tmpdir(), hostsFileEnv }), refused, hostsFileEnv);
  }
});

test('deleting a StatefulSet takes its pods and their processes with it', async () => {
  await withCluster(async (cluster) => {
    const apps = cluster.kc.makeApiClient(AppsV1Api);
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await apps.createNamespacedStatefulSet({ namespace: 'default', body: webStatefulSet(2) });
    const pods = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', readyWebPods(cluster, 2));
    await apps.deleteNamespacedStatefulSet({ name: 'web', namespace: 'default' });
    await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', async () =>
      (await core.listNamespacedPod({ namespace: 'default' })).items.length === 0 ? true : undefined,
    );
    for (const pod of pods) assert.ok(isGone(pidOf(pod)), `${pod.metadata?.name}'s process stopped`);
  });
});
