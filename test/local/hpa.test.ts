import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import type { LocalCluster } from '../../local/cluster.js';
import { withCluster } from './cluster-fixtures.js';
import { ClusterKubectl, burnCpu, cpuDeployment, topRows, untilEachWindow } from './hpa-fixtures.js';

/**
 * The horizontal pod autoscaler on the local control plane, driven and read by the real kubectl:
 * a Deployment of the test server scales out under CPU load and back in once the load stops and
 * the scale-down stabilization window has passed, with the status, conditions, Events and
 * columns a cluster shows.
 */

const WINDOW_MS = 200;
const STABILIZATION_MS = 1_500;
const HPAS = '/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers';
const EVENTS = '/api/v1/namespaces/default/events';

const CLUSTER = {
  metricsResolutionMs: WINDOW_MS,
  autoscaler: { syncPeriodMs: WINDOW_MS, downscaleStabilizationMs: STABILIZATION_MS },
};

/** An autoscaling/v2 HPA of Deployment web between `min` and `max` at a CPU target of `percent`. */
function webHpa(min: number, max: number, percent: number): Record<string, unknown> {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: min,
      maxReplicas: max,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: percent } } },
      ],
    },
  };
}

interface HpaJson {
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: { resource?: { current?: { averageUtilization?: number } } }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

async function readHpa(cluster: LocalCluster): Promise<HpaJson> {
  return (await new ClusterKubectl(cluster).ok('get', 'hpa', 'web', '-o', 'json').then(JSON.parse)) as HpaJson;
}

function condition(hpa: HpaJson, type: string): { status: string; reason: string; message: string } | undefined {
  return hpa.status?.conditions?.find((c) => c.type === type);
}

async function readyPods(cluster: LocalCluster, count: number): Promise<V1Pod[]> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  return untilEachWindow(cluster, '/api/v1/namespaces/default/pods', WINDOW_MS, async (observe) => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
    observe(pods.map((p) => `${p.metadata?.name} ${p.status?.phase}`));
    const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    return ready.length === count && pods.length === count ? ready : undefined;
  });
}

/** The messages of the HPA Events with `reason`, oldest first. */
async function eventMessages(cluster: LocalCluster, reason: string): Promise<string[]> {
  const events = await cluster.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
  return events.items
    .filter((e) => e.reason === reason && e.involvedObject.kind === 'HorizontalPodAutoscaler')
    .sort((a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion))
    .map((e) => e.message ?? '');
}

test('an HPA scales a Deployment out under CPU load up to max, and back in to min after the stabilization window', async () => {
  await withCluster(async (cluster) => {
    const k = new ClusterKubectl(cluster);
    await cluster.kc
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace: 'default', body: cpuDeployment(1, '20m') });
    const [pod] = await readyPods(cluster, 1);
    await k.apply(webHpa(1, 3, 50));

    // Idle: the utilization is measured and nothing moves.
    const idle = await untilEachWindow(cluster, HPAS, WINDOW_MS, async () => {
      const hpa = await readHpa(cluster);
      return condition(hpa, 'ScalingActive')?.status === 'True' ? hpa : undefined;
    });
    assert.equal(idle.status?.currentReplicas, 1);
    assert.equal(condition(idle, 'ScalingActive')?.reason, 'ValidMetricFound');

    // 60m against a 20m request is 300 %: ceil(1 × 300 / 50) = 6, held at maxReplicas 3. A first
    // window that caught the load only in part may step through 2 on the way, as on a cluster.
    await burnCpu(pod!, 60);
    const out = await untilEachWindow(cluster, EVENTS, WINDOW_MS, async (observe) => {
      const messages = await eventMessages(cluster, 'SuccessfulRescale');
      observe(messages);
      return messages.some((m) => m.startsWith('New size: 3;')) ? messages : undefined;
    });
    const above = 'reason: cpu resource utilization (percentage of request) above target';
    assert.ok(
      out.at(-1) === `New size: 3; ${above}` && out.every((m, i) => m === `New size: ${i + 4 - out.length}; ${above}`),
      `scaled out to 3 in increasing steps, each above target: ${JSON.stringify(out)}`,
    );
    await readyPods(cluster, 3);
    const limited = await untilEachWindow(cluster, HPAS, WINDOW_MS, async () => {
      const hpa = await readHpa(cluster);
      return hpa.status?.currentReplicas === 3 && condition(hpa, 'ScalingLimited')?.status === 'True' ? hpa : undefined;
    });
    assert.equal(condition(limited, 'ScalingLimited')?.reason, 'TooManyReplicas');
    assert.equal(limited.status?.desiredReplicas, 3);

    const table = await k.ok('get', 'hpa');
    assert.match(table, /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\s*$/m);
    assert.match(table, /^web\s+Deployment\/web\s+cpu: \d+%\/50%\s+1\s+3\s+3\s+\d+s\s*$/m);
    const described = await k.ok('describe', 'hpa', 'web');
    assert.match(described, /Reference:\s+Deployment\/web/);
    assert.match(described, /AbleToScale\s+True/);
    assert.match(described, /ScalingLimited\s+True\s+TooManyReplicas/);
    assert.match(described, /Normal\s+SuccessfulRescale\s+.*New size: 3; reason: cpu resource utilization/);
    assert.match(await k.ok('top', 'pods', '-l', 'app=web'), /^web-\S+\s+\d+m\s+\d+Mi\s*$/m);

    // The load stops: the count goes back to minReplicas, not before the window of higher recommendations passed.
    const stopped = Date.now();
    await burnCpu(pod!, 0);
    const back = await untilEachWindow(cluster, EVENTS, WINDOW_MS, async (observe) => {
      const messages = await eventMessages(cluster, 'SuccessfulRescale');
      observe(messages);
      return messages.length > out.length ? messages : undefined;
    });
    assert.ok(
      Date.now() - stopped >= STABILIZATION_MS - WINDOW_MS,
      'the scale-down waited for the stabilization window',
    );
    assert.deepEqual(back.slice(out.length), ['New size: 1; reason: All metrics below target']);
    await readyPods(cluster, 1);
  }, CLUSTER);
});

test('an HPA of pods without a cpu request reports ScalingActive False and the Warnings a cluster records; v1 shows the target', async () => {
  await withCluster(async (cluster) => {
    const k = new ClusterKubectl(cluster);
    await cluster.kc
      .makeApiClient(AppsV1Api)
      .createNamespacedDeployment({ namespace: 'default', body: cpuDeployment(1, undefined) });
    const [pod] = await readyPods(cluster, 1);
    await k.apply(webHpa(1, 3, 50));
    const hpa = await untilEachWindow(cluster, HPAS, WINDOW_MS, async () => {
      const read = await readHpa(cluster);
      return condition(read, 'ScalingActive')?.status === 'False' ? read : undefined;
    });
    const missing = `missing request for cpu in container server of Pod ${pod!.metadata!.name}`;
    assert.deepEqual(condition(hpa, 'ScalingActive'), {
      ...condition(hpa, 'ScalingActive'),
      reason: 'FailedGetResourceMetric',
      message: `the HPA was unable to compute the replica count: failed to get cpu utilization: ${missing}`,
    });
    const warnings = await untilEachWindow(cluster, EVENTS, WINDOW_MS, async () => {
      const found = await eventMessages(cluster, 'FailedComputeMetricsReplicas');
      return found.length > 0 ? found : undefined;
    });
    assert.deepEqual(warnings, [
      `invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: failed to get cpu utilization: ${missing}`,
    ]);
    assert.match(await k.ok('get', 'hpa'), /^web\s+Deployment\/web\s+cpu: <unknown>\/50%\s+1\s+3\s+1\s+\d+s\s*$/m);

    const v1 = JSON.parse(await k.ok('get', 'horizontalpodautoscalers.v1.autoscaling', 'web', '-o', 'json')) as {
      apiVersion: string;
      spec: Record<string, unknown>;
      metadata: { annotations?: Record<string, string> };
    };
    assert.equal(v1.apiVersion, 'autoscaling/v1');
    assert.deepEqual(v1.spec, {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 1,
      maxReplicas: 3,
      targetCPUUtilizationPercentage: 50,
    });
    assert.match(
      v1.metadata.annotations?.['autoscaling.alpha.kubernetes.io/conditions'] ?? '',
      /FailedGetResourceMetric/,
    );
    // A v1 write of the target lands in the v2 metric.
    await k.ok(
      'patch',
      'horizontalpodautoscalers.v1.autoscaling',
      'web',
      '--type=merge',
      '-p',
      '{"spec":{"targetCPUUtilizationPercentage":70}}',
    );
    assert.match(
      await k.ok('get', 'hpa', 'web', '-o', 'jsonpath={.spec.metrics[0].resource.target.averageUtilization}'),
      /^70$/,
    );
    assert.deepEqual(topRows(await k.ok('top', 'pods')).size, 1);
  }, CLUSTER);
});
