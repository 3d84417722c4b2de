import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { withCluster } from './cluster-fixtures.js';
import { ClusterKubectl, burnCpu, cpuDeployment, topRows, untilEachWindow } from './hpa-fixtures.js';

/**
 * metrics.k8s.io on the local control plane, read by the real kubectl: `kubectl top` shows
 * the pods' processes' measured CPU and memory, per pod, per container and per node.
 */

const WINDOW_MS = 200;
const PODS = '/api/v1/namespaces/default/pods';

test('kubectl top pods, pod --containers, -A and nodes show the measured CPU and memory of pod processes', async () => {
  await withCluster(
    async (cluster) => {
      const k = new ClusterKubectl(cluster);
      const core = cluster.kc.makeApiClient(CoreV1Api);
      await cluster.kc
        .makeApiClient(AppsV1Api)
        .createNamespacedDeployment({ namespace: 'default', body: cpuDeployment(2, '100m') });
      const pods = await untilEachWindow(cluster, PODS, WINDOW_MS, async () => {
        const items = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
        return items.length === 2 && items.every(isReady) ? items : undefined;
      });
      const [busy, idle] = pods.map((p) => p.metadata!.name!) as [string, string];
      await burnCpu(pods[0]!, 300);

      // The busy pod's window shows its spin; the idle one stays near nothing.
      const rows = await untilEachWindow(cluster, PODS, WINDOW_MS, async (observe) => {
        const result = topRows(await k.ok('top', 'pods', '-l', 'app=web'));
        observe([...result]);
        return (result.get(busy)?.[0] ?? 0) >= 150 && result.has(idle) ? result : undefined;
      });
      assert.ok(rows.get(idle)![0] < 100, `the idle pod uses little CPU: ${rows.get(idle)![0]}m`);
      assert.ok(rows.get(busy)![1] > 5, 'a node process holds more than 5 MiB');

      const containers = await k.ok('top', 'pod', busy, '--containers');
      assert.match(containers, /^POD\s+NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/m);
      assert.match(containers, new RegExp(`^${busy}\\s+server\\s+\\d+m\\s+\\d+Mi\\s*$`, 'm'));
      assert.match(await k.ok('top', 'pods', '-A'), new RegExp(`^default\\s+${idle}\\s+\\d+m\\s+\\d+Mi\\s*$`, 'm'));

      const nodes = await k.ok('top', 'nodes');
      assert.match(nodes, /^NAME\s+CPU\(cores\)\s+CPU\(%\)\s+MEMORY\(bytes\)\s+MEMORY\(%\)\s*$/m);
      const node = pods[0]!.spec!.nodeName!;
      const nodeCpu = Number(new RegExp(`^${node}\\s+(\\d+)m`, 'm').exec(nodes)?.[1]);
      assert.ok(nodeCpu >= 100, `the busy pod's node counts its CPU: ${nodes}`);

      const path = '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods';
      const raw = JSON.parse(await k.ok('get', '--raw', `${path}/${idle}`)) as PodMetrics;
      assert.equal(raw.kind, 'PodMetrics');
      assert.match(raw.window, /^\d+(\.\d+)?m?s$/);
      assert.match(raw.containers[0]!.usage.cpu, /^\d+[num]?$/);
      assert.deepEqual(raw.metadata.labels, pods[1]!.metadata!.labels);
      const gone = await k.fails('get', '--raw', `${path}/nothing`);
      assert.match(gone, /podmetrics.metrics.k8s.io "default\/nothing" not found/);
      await burnCpu(pods[0]!, 0);
    },
    { metricsResolutionMs: WINDOW_MS },
  );
});

interface PodMetrics {
  kind: string;
  window: string;
  metadata: { labels?: Record<string, string> };
  containers: { usage: { cpu: string } }[];
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}
