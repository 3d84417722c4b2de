import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import {
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  deploymentHash,
  desiredReplicaSet,
  historyToPrune,
  planDeployment,
  rolloutBounds,
  scaledValue,
  type DeploymentAction,
} from '../../local/controllers/deployment-plan.js';
import { deploymentStatus } from '../../local/controllers/deployment-status.js';
import { webPodTemplate } from './cluster-fixtures.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

function deployment(spec: Partial<NonNullable<V1Deployment['spec']>> = {}, image = 'a'): V1Deployment {
  const template = webPodTemplate();
  template.spec!.containers[0]!.image = image;
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1 },
    spec: { replicas: 4, progressDeadlineSeconds: 600, selector: { matchLabels: { app: 'web' } }, template, ...spec },
  };
}

/** A ReplicaSet of `d`'s template at `replicas`, with `available` of them available in status and as pods. */
function replicaSet(d: V1Deployment, init: { replicas: number; available?: number; revision: number; at: number }) {
  const rs = desiredReplicaSet(d, init.revision, init.replicas);
  rs.metadata!.uid = `${rs.metadata!.name}-uid`;
  rs.metadata!.creationTimestamp = new Date(NOW - 1000 * (100 - init.at));
  const available = init.available ?? init.replicas;
  rs.status = { replicas: init.replicas, readyReplicas: available, availableReplicas: available };
  return rs;
}

function podsOf(rs: V1ReplicaSet, ready: number, notReady = 0): V1Pod[] {
  const pod = (i: number, isReady: boolean): V1Pod => ({
    metadata: {
      name: `${rs.metadata!.name}-${i}`,
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: '', uid: rs.metadata!.uid!, controller: true },
      ],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: isReady ? 'True' : 'False' }] },
  });
  return [
    ...Array.from({ length: ready }, (_, i) => pod(i, true)),
    ...Array.from({ length: notReady }, (_, i) => pod(ready + i, false)),
  ];
}

function summary(actions: readonly DeploymentAction[]): string[] {
  return actions.map((a) =>
    a.kind === 'scale'
      ? `scale ${a.rs.metadata!.name} ${a.replicas}`
      : `${a.kind} ${a.rs.metadata!.name} ${a.rs.spec?.replicas ?? ''}`.trim(),
  );
}

test('maxSurge rounds up and maxUnavailable down; both 0 leaves one unavailable; Recreate has neither', () => {
  const cases: [Record<string, unknown>, number, { maxSurge: number; maxUnavailable: number }][] = [
    [{}, 2, { maxSurge: 1, maxUnavailable: 0 }],
    [{}, 10, { maxSurge: 3, maxUnavailable: 2 }],
    [
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } },
      4,
      { maxSurge: 0, maxUnavailable: 1 },
    ],
    [
      { type: 'RollingUpdate', rollingUpdate: { maxSurge: 2, maxUnavailable: '50%' } },
      5,
      { maxSurge: 2, maxUnavailable: 2 },
    ],
    [{ type: 'Recreate' }, 3, { maxSurge: 0, maxUnavailable: 0 }],
  ];
  for (const [strategy, replicas, expected] of cases) {
    const bounds = rolloutBounds(deployment({ replicas, strategy }));
    assert.deepEqual(bounds, { replicas, ...expected }, JSON.stringify(strategy));
  }
  assert.equal(scaledValue('33%', 10, true), 4);
  assert.equal(scaledValue('33%', 10, false), 3);
  assert.equal(scaledValue(7, 10, false), 7);
});

test('a new Deployment gets ReplicaSet <name>-<hash> at full size, the hash on its selector, template and revision 1', () => {
  const d = deployment();
  const [action] = planDeployment({ deployment: d, replicaSets: [], pods: [], nowMs: NOW });
  assert.equal(action?.kind, 'create');
  const { metadata, spec } = action.rs as Required<V1ReplicaSet>;
  const hash = deploymentHash(d);
  assert.deepEqual([metadata.name, spec.replicas, metadata.ownerReferences?.[0]?.uid], [`web-${hash}`, 4, 'd-uid']);
  assert.equal(spec.selector.matchLabels?.[POD_TEMPLATE_HASH_LABEL], hash);
  assert.equal(spec.template?.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL], hash);
  const annotations = metadata.annotations ?? {};
  assert.deepEqual(
    [annotations[REVISION_ANNOTATION], annotations['deployment.kubernetes.io/max-replicas']],
    ['1', '5'],
  );
});

test('a RollingUpdate of 4 (surge 1, unavailable 1) surges, then scales the old set down as pods become available', () => {
  const oldD = deployment({}, 'a');
  const d = deployment({}, 'b');
  const old = replicaSet(oldD, { replicas: 4, revision: 1, at: 0 });
  const steps: [V1ReplicaSet[], V1Pod[], string[]][] = [];
  // No new set yet: 4 pods run, room for 1 more.
  steps.push([[old], podsOf(old, 4), [`create web-${deploymentHash(d)} 1`]]);
  const fresh = replicaSet(d, { replicas: 1, available: 0, revision: 2, at: 1 });
  // The surge is used and the new pod is not available: the old set may lose one (4 + 1 - 3 - 1).
  steps.push([[old, fresh], [...podsOf(old, 4), ...podsOf(fresh, 0, 1)], [`scale ${old.metadata!.name} 3`]]);
  const old3 = { ...old, spec: { ...old.spec!, replicas: 3 } };
  // 3 old + 1 new = 4 < 5: the new set grows by one.
  steps.push([[old3, fresh], [...podsOf(old3, 3), ...podsOf(fresh, 0, 1)], [`scale ${fresh.metadata!.name} 2`]]);
  const fresh2 = { ...fresh, spec: { ...fresh.spec!, replicas: 2 } };
  // Nothing new available: 5 pods, floor 3, 2 new unavailable: no old pod may go.
  steps.push([[old3, fresh2], [...podsOf(old3, 3), ...podsOf(fresh2, 0, 2)], []]);
  // Both new pods available: 5 available, floor 3: two old pods go.
  steps.push([[old3, fresh2], [...podsOf(old3, 3), ...podsOf(fresh2, 2)], [`scale ${old.metadata!.name} 1`]]);
  for (const [replicaSets, pods, expected] of steps) {
    const actions = planDeployment({ deployment: d, replicaSets, pods, nowMs: NOW });
    assert.deepEqual(summary(actions), expected);
  }
});

test('unhealthy old pods are scaled away first, even below what availability alone would allow', () => {
  const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
  const oldD = deployment({ replicas: 2, strategy }, 'a');
  const d = deployment({ replicas: 2, strategy }, 'b');
  const old = replicaSet(oldD, { replicas: 2, available: 0, revision: 1, at: 0 });
  const fresh = replicaSet(d, { replicas: 0, revision: 2, at: 1 });
  const actions = planDeployment({ deployment: d, replicaSets: [old, fresh], pods: podsOf(old, 0, 2), nowMs: NOW });
  assert.deepEqual(summary(actions), [`scale ${old.metadata!.name} 1`]);
});

test('Recreate scales old sets to 0, waits for their pods to be gone, then creates the new set at full size', () => {
  const oldD = deployment({ strategy: { type: 'Recreate' } }, 'a');
  const d = deployment({ strategy: { type: 'Recreate' } }, 'b');
  const old = replicaSet(oldD, { replicas: 4, revision: 1, at: 0 });
  assert.deepEqual(summary(planDeployment({ deployment: d, replicaSets: [old], pods: podsOf(old, 4), nowMs: NOW })), [
    `scale ${old.metadata!.name} 0`,
  ]);
  const stopped = { ...old, spec: { ...old.spec!, replicas: 0 }, status: { replicas: 0 } };
  const stopping = podsOf(old, 1).map((p) => ({ ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(NOW) } }));
  assert.deepEqual(planDeployment({ deployment: d, replicaSets: [stopped], pods: stopping, nowMs: NOW }), []);
  assert.deepEqual(summary(planDeployment({ deployment: d, replicaSets: [stopped], pods: [], nowMs: NOW })), [
    `create web-${deploymentHash(d)} 4`,
  ]);
});

test('a paused Deployment scales its one active set and rolls nothing out', () => {
  const oldD = deployment({}, 'a');
  const d = deployment({ paused: true, replicas: 6 }, 'b');
  const old = replicaSet(oldD, { replicas: 4, revision: 1, at: 0 });
  assert.deepEqual(summary(planDeployment({ deployment: d, replicaSets: [old], pods: podsOf(old, 4), nowMs: NOW })), [
    `scale ${old.metadata!.name} 6`,
  ]);
});

test('history keeps revisionHistoryLimit empty old sets, deleting the oldest revisions first', () => {
  const d = deployment({ revisionHistoryLimit: 1 });
  const sets = [3, 1, 2].map((revision) =>
    replicaSet(deployment({}, `img-${revision}`), { replicas: 0, revision, at: revision }),
  );
  assert.deepEqual(
    historyToPrune(d, sets).map((rs) => rs.metadata?.annotations?.[REVISION_ANNOTATION]),
    ['1', '2'],
  );
});

test('status: figures from the sets, Available by the unavailability floor, Progressing complete once all is updated', () => {
  const d = deployment();
  const fresh = replicaSet(d, { replicas: 4, available: 3, revision: 1, at: 0 });
  const partial = deploymentStatus({ deployment: d, newRS: fresh, replicaSets: [fresh], nowMs: NOW });
  assert.equal(partial.status.unavailableReplicas, 1);
  assert.deepEqual(
    partial.status.conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'ReplicaSetUpdated'],
    ],
  );
  assert.equal(partial.recheckAfterMs, 600_000 + 1);
  const done = replicaSet(d, { replicas: 4, revision: 1, at: 0 });
  const later = { ...d, status: partial.status } as unknown as V1Deployment;
  const complete = deploymentStatus({ deployment: later, newRS: done, replicaSets: [done], nowMs: NOW + 1000 });
  const progressing = complete.status.conditions.find((c) => c.type === 'Progressing')!;
  assert.equal(progressing.reason, 'NewReplicaSetAvailable');
  assert.equal(progressing.message, `ReplicaSet "${done.metadata!.name}" has successfully progressed.`);
  assert.equal(progressing.lastTransitionTime, '2026-01-01T00:00:00Z', 'True to True keeps the transition time');
  assert.equal(complete.recheckAfterMs, undefined);
});

test('status: a rollout with no progress past its deadline turns Progressing False (ProgressDeadlineExceeded)', () => {
  const d = deployment({ progressDeadlineSeconds: 60 });
  const rs = replicaSet(d, { replicas: 4, available: 1, revision: 1, at: 0 });
  const first = deploymentStatus({ deployment: d, newRS: rs, replicaSets: [rs], nowMs: NOW });
  const stuck = { ...d, status: first.status } as unknown as V1Deployment;
  const before = deploymentStatus({ deployment: stuck, newRS: rs, replicaSets: [rs], nowMs: NOW + 59_000 });
  assert.equal(before.status.conditions.find((c) => c.type === 'Progressing')?.reason, 'ReplicaSetUpdated');
  const after = deploymentStatus({ deployment: stuck, newRS: rs, replicaSets: [rs], nowMs: NOW + 60_001 });
  const progressing = after.status.conditions.find((c) => c.type === 'Progressing');
  assert.deepEqual([progressing?.status, progressing?.reason], ['False', 'ProgressDeadlineExceeded']);
  assert.deepEqual(after.status.conditions.find((c) => c.type === 'Available')?.reason, 'MinimumReplicasUnavailable');
});
