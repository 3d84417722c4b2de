import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppsV1Api, type V1ControllerRevision, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { planReplicas, replicaFigures } from '../../local/controllers/replicaset-plan.js';
import { planHistory, revisionData, templateOfRevision } from '../../local/controllers/statefulset-revisions.js';
import { updateRevisionOf } from '../../local/controllers/statefulset-pods.js';
import { statusOf, startLocalApi } from '../support/local-api.js';
import { webPodTemplate, webStatefulSet } from './cluster-fixtures.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function replicaSet(replicas: number, minReadySeconds = 0): V1ReplicaSet {
  return {
    metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-uid', generation: 3 },
    spec: { replicas, minReadySeconds, selector: { matchLabels: { app: 'web' } }, template: webPodTemplate() },
  };
}

interface PodInit {
  node?: string;
  phase?: string;
  readySince?: number;
  created: number;
  terminating?: boolean;
  labels?: Record<string, string>;
}

function pod(name: string, init: PodInit): V1Pod {
  return {
    metadata: {
      name,
      labels: init.labels ?? { app: 'web' },
      creationTimestamp: new Date(init.created),
      ...(init.terminating ? { deletionTimestamp: new Date(NOW) } : {}),
    },
    spec: { containers: [], ...(init.node ? { nodeName: init.node } : {}) },
    status: {
      phase: init.phase ?? 'Running',
      conditions:
        init.readySince === undefined
          ? [{ type: 'Ready', status: 'False' }]
          : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(init.readySince) }],
    },
  };
}

test('a scale-down deletes unscheduled, then pending, then not-Ready, then most recently Ready pods first', () => {
  const pods = [
    pod('old-ready', { node: 'n', readySince: NOW - 60_000, created: NOW - 90_000 }),
    pod('new-ready', { node: 'n', readySince: NOW - 1_000, created: NOW - 80_000 }),
    pod('not-ready', { node: 'n', created: NOW - 70_000 }),
    pod('pending', { node: 'n', phase: 'Pending', created: NOW - 60_000 }),
    pod('unscheduled', { phase: 'Pending', created: NOW - 95_000 }),
  ];
  const names = (replicas: number): (string | undefined)[] =>
    planReplicas(replicaSet(replicas), pods).delete.map((p) => p.metadata?.name);
  assert.deepEqual(names(1), ['unscheduled', 'pending', 'not-ready', 'new-ready']);
  assert.deepEqual(names(4), ['unscheduled']);
  assert.deepEqual(names(5), []);
});

test('terminating and Failed pods are not counted: replacements are created for them', () => {
  const pods = [
    pod('a', { node: 'n', readySince: NOW, created: NOW }),
    pod('b', { node: 'n', created: NOW, terminating: true }),
    pod('c', { node: 'n', phase: 'Failed', created: NOW }),
  ];
  assert.deepEqual(planReplicas(replicaSet(3), pods), { create: 2, delete: [] });
});

test('status counts fully labelled, Ready and available (minReadySeconds) pods, and when to look again', () => {
  const pods = [
    pod('a', { node: 'n', readySince: NOW - 20_000, created: NOW }),
    pod('b', { node: 'n', readySince: NOW - 4_000, created: NOW }),
    pod('c', { node: 'n', created: NOW, labels: { other: 'x' } }),
    pod('d', { node: 'n', readySince: NOW, created: NOW, terminating: true }),
  ];
  const { figures, recheckAfterMs } = replicaFigures(replicaSet(3, 10), pods, NOW);
  assert.deepEqual(figures, {
    replicas: 3,
    fullyLabeledReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 1,
    observedGeneration: 3,
  });
  assert.equal(recheckAfterMs, 6_000);
});

function revision(name: string, number: number): V1ControllerRevision {
  return { metadata: { name }, revision: number };
}

test('StatefulSet history: a new template gets the next revision, a rollback renumbers, old ones are pruned to the limit', () => {
  const set = { ...webStatefulSet(1), metadata: { name: 'web', namespace: 'default', uid: 'set-uid' } };
  set.spec!.revisionHistoryLimit = 1;
  const update = updateRevisionOf(set);
  const base = { set, update, currentName: update.name, pods: [] };
  const created = planHistory({ ...base, revisions: [revision('web-a', 1), revision('web-b', 2)] });
  assert.equal(created.create?.metadata?.name, update.name);
  assert.equal(created.create?.revision, 3);
  assert.equal(created.create?.metadata?.labels?.['controller-revision-hash'], update.name.slice('web-'.length));
  assert.equal(created.create?.metadata?.labels?.app, 'web');
  assert.deepEqual(created.create?.data, { spec: { template: { ...webPodTemplate(), $patch: 'replace' } } });
  assert.deepEqual(
    created.prune.map((r) => r.metadata?.name),
    ['web-a'],
  );

  const rolledBack = planHistory({ ...base, revisions: [revision(update.name, 1), revision('web-b', 2)] });
  assert.deepEqual([rolledBack.create, rolledBack.renumber?.to], [undefined, 3]);
  const pods = [{ metadata: { labels: { 'controller-revision-hash': 'web-a' } } }];
  const kept = planHistory({
    ...base,
    pods,
    revisions: [revision('web-a', 1), revision('web-b', 2), revision(update.name, 3)],
  });
  assert.deepEqual(kept, { prune: [] });
  assert.deepEqual(templateOfRevision({ revision: 1, data: revisionData(webPodTemplate()) }), webPodTemplate());
});

test('the API server defaults Deployments as a cluster does and refuses maxSurge and maxUnavailable both 0 (422)', async () => {
  const api = await startLocalApi();
  try {
    const apps = api.kc.makeApiClient(AppsV1Api);
    const body = {
      metadata: { name: 'web' },
      spec: { selector: { matchLabels: { app: 'web' } }, template: webPodTemplate() },
    };
    const created = await apps.createNamespacedDeployment({ namespace: 'default', body });
    assert.equal(created.spec?.replicas, 1);
    assert.deepEqual(
      { ...created.spec?.strategy, rollingUpdate: { ...created.spec?.strategy?.rollingUpdate } },
      {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
    );
    assert.deepEqual([created.spec?.revisionHistoryLimit, created.spec?.progressDeadlineSeconds], [10, 600]);
    const zero = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } };
    const refused = await statusOf(
      apps.createNamespacedDeployment({
        namespace: 'default',
        body: { ...body, metadata: { name: 'zero' }, spec: { ...body.spec, strategy: zero } },
      }),
    );
    assert.equal(refused.code, 422);
    assert.equal(refused.details?.causes?.[0]?.field, 'spec.strategy.rollingUpdate.maxUnavailable');
    const mismatched = { ...body.spec, selector: { matchLabels: { app: 'other' } } };
    const rs = await statusOf(
      apps.createNamespacedReplicaSet({ namespace: 'default', body: { metadata: { name: 'x' }, spec: mismatched } }),
    );
    assert.equal(rs.code, 422);
  } finally {
    await api.close();
  }
});
