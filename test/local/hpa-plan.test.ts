import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpuReplicas,
  type CpuPod,
  type CpuReplicasInput,
  type CpuSample,
} from '../../local/controllers/hpa-replicas.js';
import {
  newHistory,
  normalizeReplicas,
  recordRescale,
  type NormalizeInput,
} from '../../local/controllers/hpa-scaling.js';
import { cpuMilli } from '../../local/controllers/hpa-inputs.js';
import { hpaV1, hpaV2 } from '../../local/apiserver/store/hpa-versions.js';
import { cpuQuantity, goDuration, memoryQuantity } from '../../local/apiserver/http/resource-metrics.js';

/** The HPA controller's pure parts: the replica calculator, stabilization and rate limits, conversions, quantities. */

const NOW = 1_000_000_000;

function pod(name: string, init: Partial<CpuPod> = {}): CpuPod {
  return {
    name,
    phase: 'Running',
    deleting: false,
    ready: { status: 'True', since: NOW - 600_000 },
    startedAt: NOW - 600_000,
    requestMilli: 100,
    ...init,
  };
}

function sample(milli: number): CpuSample {
  return { milli, at: NOW, windowMs: 15_000 };
}

function input(pods: CpuPod[], usage: Record<string, number>, init: Partial<CpuReplicasInput> = {}): CpuReplicasInput {
  return {
    currentReplicas: pods.length,
    targetUtilization: 50,
    pods,
    samples: new Map(Object.entries(usage).map(([name, milli]) => [name, sample(milli)])),
    tolerance: 0.1,
    cpuInitializationPeriodMs: 300_000,
    initialReadinessDelayMs: 30_000,
    now: NOW,
    ...init,
  };
}

test('the replica calculator: ceil(ready × utilization / target) outside the tolerance, errors as the controller words them', () => {
  const cases: [string, CpuReplicasInput, unknown][] = [
    ['doubles at twice the target', input([pod('a'), pod('b')], { a: 100, b: 100 }), 4],
    ['keeps the count within 10 %', input([pod('a'), pod('b')], { a: 54, b: 54 }), 2],
    ['halves at half the target', input([pod('a'), pod('b'), pod('c'), pod('d')], { a: 25, b: 25, c: 25, d: 25 }), 2],
    ['a pod without figures counts as its whole request on a scale-down', input([pod('a'), pod('b')], { a: 10 }), 2],
    ['a pod without figures counts as nothing on a scale-up', input([pod('a'), pod('b')], { a: 200 }), 4],
    ['a pending pod counts as nothing on a scale-up', input([pod('a'), pod('b', { phase: 'Pending' })], { a: 200 }), 4],
    [
      'a just-started pod sampled before a window of readiness is set aside',
      input([pod('a'), pod('b', { startedAt: NOW - 1000, ready: { status: 'True', since: NOW - 500 } })], {
        a: 100,
        b: 200,
      }),
      2,
    ],
    ['no pods', input([], {}), 'no pods returned by selector while calculating replica count'],
    [
      'a container without a request',
      input([pod('a', { missingRequest: 'app' })], { a: 10 }),
      'missing request for cpu in container app of Pod a',
    ],
    [
      'no figures for ready pods',
      input([pod('a', { phase: 'Pending' })], { a: 10 }),
      'did not receive metrics for targeted pods (pods might be unready)',
    ],
  ];
  for (const [name, given, expected] of cases) {
    const result = cpuReplicas(given);
    assert.deepEqual('error' in result ? result.error : result.replicas, expected, name);
  }
  assert.deepEqual(cpuReplicas(input([pod('a'), pod('b')], { a: 30, b: 90 })), {
    replicas: 3,
    utilization: 60,
    averageMilli: 60,
  });
});

function normalize(init: Partial<NormalizeInput>): NormalizeInput {
  return {
    current: 2,
    proposed: 2,
    min: 1,
    max: 10,
    behavior: undefined,
    downscaleStabilizationMs: 300_000,
    now: NOW,
    ...init,
  };
}

test('without a behavior: scale-up to max(2 × current, 4), min and max, scale-down only after the stabilization window', () => {
  const history = newHistory(2, NOW - 1000);
  const up = normalizeReplicas(history, normalize({ proposed: 9 }));
  assert.equal(up.desired, 4);
  assert.deepEqual(up.scalingLimited.reason, 'ScaleUpLimit');
  assert.equal(normalizeReplicas(history, normalize({ current: 4, proposed: 20, max: 6 })).desired, 6);

  const settled = newHistory(6, NOW);
  const down = normalizeReplicas(settled, normalize({ current: 6, proposed: 1, now: NOW + 1000 }));
  assert.equal(down.desired, 6, 'a recent higher recommendation holds the count');
  assert.equal(down.ableToScale.reason, 'ScaleDownStabilized');
  const later = normalizeReplicas(settled, normalize({ current: 6, proposed: 1, min: 2, now: NOW + 400_000 }));
  assert.equal(later.desired, 2);
  assert.equal(later.scalingLimited.reason, 'TooFewReplicas');
});

test('with a behavior: the policies limit each period, counting the rescales already made in it', () => {
  const behavior = {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }],
    },
    scaleDown: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Min',
      policies: [
        { type: 'Percent', value: 50, periodSeconds: 60 },
        { type: 'Pods', value: 1, periodSeconds: 60 },
      ],
    },
  };
  const history = newHistory(2, NOW);
  assert.equal(normalizeReplicas(history, normalize({ behavior, proposed: 9 })).desired, 4);
  recordRescale(history, 2, 4, NOW);
  const held = normalizeReplicas(history, normalize({ behavior, current: 4, proposed: 9, now: NOW + 1000 }));
  assert.equal(held.desired, 4, 'two pods were already added in this period');
  assert.equal(held.scalingLimited.reason, 'ScaleUpLimit');
  assert.equal(
    normalizeReplicas(history, normalize({ behavior, current: 4, proposed: 9, now: NOW + 61_000 })).desired,
    6,
  );
  // Min of the scale-down policies is the smaller change: 1 pod rather than 50 %.
  assert.equal(
    normalizeReplicas(history, normalize({ behavior, current: 8, proposed: 1, now: NOW + 62_000 })).desired,
    7,
  );
  const disabled = { ...behavior, scaleDown: { ...behavior.scaleDown, selectPolicy: 'Disabled' } };
  assert.equal(
    normalizeReplicas(history, normalize({ behavior: disabled, current: 8, proposed: 1, now: NOW + 63_000 })).desired,
    8,
  );
});

test('HPA conversion: v2 cpu utilization is v1 targetCPUUtilizationPercentage, and what v1 cannot hold round-trips', () => {
  const v2 = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
    },
    status: {
      currentReplicas: 2,
      desiredReplicas: 2,
      currentMetrics: [
        { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 40, averageValue: '40m' } } },
      ],
      conditions: [
        { type: 'AbleToScale', status: 'True', reason: 'ReadyForNewScale', message: 'm', lastTransitionTime: 't' },
      ],
    },
  };
  const v1 = hpaV1(v2);
  assert.deepEqual(v1.spec, {
    scaleTargetRef: v2.spec.scaleTargetRef,
    minReplicas: 2,
    maxReplicas: 5,
    targetCPUUtilizationPercentage: 60,
  });
  assert.deepEqual(v1.status, { currentReplicas: 2, desiredReplicas: 2, currentCPUUtilizationPercentage: 40 });
  const back = hpaV2(v1);
  assert.deepEqual(back.spec, v2.spec);
  assert.deepEqual((back.status as { conditions: unknown }).conditions, v2.status.conditions);
  assert.equal(back.metadata?.annotations, undefined);
});

test('quantities: cpu in canonical nanocores, memory in binary units, windows as Go durations, cpu parsed to millicores', () => {
  assert.deepEqual([0, 1_234_567, 250_000_000, 2_000_000_000, 1_500].map(cpuQuantity), [
    '0',
    '1234567n',
    '250m',
    '2',
    '1500n',
  ]);
  assert.deepEqual([0, 1536, 5 * 1024 * 1024, 1000].map(memoryQuantity), ['0', '1536', '5Mi', '1000']);
  assert.deepEqual([200, 15_000, 15_250, 61_000].map(goDuration), ['200ms', '15s', '15.25s', '1m1s']);
  assert.deepEqual(['250m', '0.5', '2', '1234567n', '1u', 'x'].map(cpuMilli), [250, 500, 2000, 2, 1, undefined]);
});
