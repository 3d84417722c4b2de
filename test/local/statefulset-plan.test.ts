import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import {
  hasStatusChanged,
  nextStatus,
  planActions,
  revisionFor,
  statusOf,
  type PodAction,
} from '../../local/controllers/statefulset-plan.js';
import {
  desiredPod,
  isOwnedBy,
  msUntilAvailable,
  ordinalOf,
  ownerKeyOf,
  templateHash,
  updateRevisionOf,
  type Revision,
} from '../../local/controllers/statefulset-pods.js';

const NOW = Date.parse('2025-01-01T00:10:00Z');

interface SetFixture {
  replicas?: number;
  policy?: 'OrderedReady' | 'Parallel';
  strategy?: 'RollingUpdate' | 'OnDelete';
  partition?: number;
  minReadySeconds?: number;
  image?: string;
}

function newSet(f: SetFixture = {}): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web', generation: 4 },
    spec: {
      replicas: f.replicas ?? 3,
      serviceName: 'web-headless',
      podManagementPolicy: f.policy ?? 'OrderedReady',
      minReadySeconds: f.minReadySeconds ?? 0,
      updateStrategy:
        f.strategy === 'OnDelete'
          ? { type: 'OnDelete' }
          : { type: 'RollingUpdate', rollingUpdate: { partition: f.partition ?? 0 } },
      selector: { matchLabels: { app: 'web' } },
      template: newTemplate(f.image ?? 'web:1'),
    },
  };
}

function newTemplate(image: string): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'web' }, annotations: { note: 'kept' } },
    spec: { containers: [{ name: 'main', image }] },
  };
}

interface PodFixture {
  state?: 'Pending' | 'Ready' | 'Failed' | 'Terminating';
  revision?: Revision;
  readySince?: string;
}

/** Member `ordinal` of `set`, made as the controller would, then in the given state. */
function newPod(set: V1StatefulSet, ordinal: number, f: PodFixture = {}): V1Pod {
  const pod = desiredPod(set, ordinal, f.revision ?? updateRevisionOf(set));
  pod.metadata!.uid = `uid-${ordinal}`;
  const state = f.state ?? 'Ready';
  if (state === 'Terminating') pod.metadata!.deletionTimestamp = new Date(NOW);
  pod.status =
    state === 'Pending'
      ? { phase: 'Pending' }
      : state === 'Failed'
        ? { phase: 'Failed' }
        : {
            phase: 'Running',
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                lastTransitionTime: (f.readySince ?? '2025-01-01T00:00:00Z') as unknown as Date,
              },
            ],
          };
  return pod;
}

function plan(set: V1StatefulSet, pods: V1Pod[], current?: Revision): string[] {
  const update = updateRevisionOf(set);
  return planActions({ set, pods, update, current: current ?? update }).map(describe);
}

function describe(action: PodAction): string {
  return action.kind === 'create'
    ? `create ${action.pod.metadata?.name}`
    : `delete ${action.pod.metadata?.name} (${action.why})`;
}

const old = updateRevisionOf(newSet({ image: 'web:0' }));

test('pod names map to ordinals only when they are <set>-<n>', () => {
  const table: [string, number | undefined][] = [
    ['web-0', 0],
    ['web-12', 12],
    ['web-', undefined],
    ['web-01', undefined],
    ['web-a', undefined],
    ['webx-1', undefined],
    ['web-1-2', undefined],
  ];
  for (const [name, ordinal] of table) assert.equal(ordinalOf(name, 'web'), ordinal, name);
});

test('the template hash ignores key order and typed timestamps, and changes with the template', () => {
  const typed: V1PodTemplateSpec = {
    metadata: { creationTimestamp: new Date('2025-01-01T00:00:00Z'), labels: { b: '2', a: '1' } },
    spec: { containers: [{ name: 'c', image: 'x' }] },
  };
  const raw = JSON.parse(
    '{"spec":{"containers":[{"image":"x","name":"c"}]},"metadata":{"labels":{"a":"1","b":"2"},"creationTimestamp":"2025-01-01T00:00:00Z"}}',
  ) as V1PodTemplateSpec;
  assert.equal(templateHash(typed), templateHash(raw));
  assert.match(templateHash(raw), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.notEqual(templateHash(newTemplate('web:1')), templateHash(newTemplate('web:2')));
  assert.equal(updateRevisionOf(newSet()).name, `web-${templateHash(newTemplate('web:1'))}`);
});

test('a member pod carries the identity labels, hostname, subdomain, owner and template annotations', () => {
  const set = newSet();
  const revision = updateRevisionOf(set);
  const pod = desiredPod(set, 2, revision);
  assert.equal(pod.metadata?.name, 'web-2');
  assert.equal(pod.metadata?.namespace, 'default');
  assert.deepEqual(pod.metadata?.labels, {
    app: 'web',
    'statefulset.kubernetes.io/pod-name': 'web-2',
    'apps.kubernetes.io/pod-index': '2',
    'controller-revision-hash': revision.name,
  });
  assert.deepEqual(pod.metadata?.annotations, { note: 'kept' });
  assert.deepEqual(pod.metadata?.ownerReferences, [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'web',
      uid: 'uid-web',
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  assert.equal(pod.spec?.hostname, 'web-2');
  assert.equal(pod.spec?.subdomain, 'web-headless');
  assert.equal(set.spec?.template.spec?.hostname, undefined, 'the set is not mutated');
  assert.ok(isOwnedBy(pod, set));
  assert.equal(ownerKeyOf(pod), 'default/web');
  assert.ok(!isOwnedBy(pod, { metadata: { uid: 'other' } }));
});

test('planned pod writes follow the management policy', () => {
  const ordered = newSet();
  const parallel = newSet({ policy: 'Parallel' });
  const table: [string, V1StatefulSet, (set: V1StatefulSet) => V1Pod[], string[]][] = [
    ['OrderedReady creates ordinal 0 first', ordered, () => [], ['create web-0']],
    ['OrderedReady waits for a Pending pod', ordered, (s) => [newPod(s, 0, { state: 'Pending' })], []],
    ['OrderedReady creates the next once the previous is Ready', ordered, (s) => [newPod(s, 0)], ['create web-1']],
    ['OrderedReady fills a gap before going on', ordered, (s) => [newPod(s, 0), newPod(s, 2)], ['create web-1']],
    ['OrderedReady waits for a terminating member', ordered, (s) => [newPod(s, 0, { state: 'Terminating' })], []],
    [
      'a Failed pod is deleted to be recreated',
      ordered,
      (s) => [newPod(s, 0, { state: 'Failed' })],
      ['delete web-0 (Finished)'],
    ],
    [
      'OrderedReady scales down from the highest, one at a time',
      newSet({ replicas: 1 }),
      (s) => [0, 1, 2].map((i) => newPod(s, i)),
      ['delete web-2 (Condemned)'],
    ],
    [
      'OrderedReady waits until the condemned pod is gone',
      newSet({ replicas: 1 }),
      (s) => [newPod(s, 0), newPod(s, 1), newPod(s, 2, { state: 'Terminating' })],
      [],
    ],
    [
      'OrderedReady does not scale down while a member is unhealthy',
      newSet({ replicas: 1 }),
      (s) => [newPod(s, 0, { state: 'Pending' }), newPod(s, 1)],
      [],
    ],
    [
      'Parallel creates every missing ordinal at once',
      parallel,
      () => [],
      ['create web-0', 'create web-1', 'create web-2'],
    ],
    [
      'Parallel creates past a Pending pod',
      parallel,
      (s) => [newPod(s, 1, { state: 'Pending' })],
      ['create web-0', 'create web-2'],
    ],
    [
      'Parallel deletes every condemned pod, highest first',
      newSet({ policy: 'Parallel', replicas: 1 }),
      (s) => [0, 1, 2, 3].map((i) => newPod(s, i)),
      ['delete web-3 (Condemned)', 'delete web-2 (Condemned)', 'delete web-1 (Condemned)'],
    ],
    [
      'Parallel leaves terminating pods be',
      newSet({ policy: 'Parallel', replicas: 1 }),
      (s) => [newPod(s, 0), newPod(s, 1, { state: 'Terminating' })],
      [],
    ],
    ['nothing to do when all are Ready and current', ordered, (s) => [0, 1, 2].map((i) => newPod(s, i)), []],
  ];
  for (const [name, set, pods, expected] of table) assert.deepEqual(plan(set, pods(set)), expected, name);
});

test('a rolling update replaces the highest outdated pod, one at a time, down to the partition', () => {
  const set = newSet();
  const at = (s: V1StatefulSet, states: ('old' | 'new' | 'newPending')[]): V1Pod[] =>
    states.map((state, i) =>
      newPod(s, i, state === 'old' ? { revision: old } : { state: state === 'newPending' ? 'Pending' : 'Ready' }),
    );
  const table: [string, V1StatefulSet, V1Pod[], string[]][] = [
    ['starts at the highest ordinal', set, at(set, ['old', 'old', 'old']), ['delete web-2 (Outdated)']],
    [
      'waits for the replacement to be Ready',
      newSet({ policy: 'Parallel' }),
      at(set, ['old', 'old', 'newPending']),
      [],
    ],
    ['goes on once it is Ready', set, at(set, ['old', 'old', 'new']), ['delete web-1 (Outdated)']],
    ['stops at the partition', newSet({ partition: 2 }), at(set, ['old', 'old', 'new']), []],
    ['OnDelete never replaces', newSet({ strategy: 'OnDelete' }), at(set, ['old', 'old', 'old']), []],
  ];
  for (const [name, s, pods, expected] of table) assert.deepEqual(plan(s, pods, old), expected, name);
});

test('a pod recreated below the partition gets the current revision, above it the update revision', () => {
  const set = newSet({ partition: 2 });
  const update = updateRevisionOf(set);
  assert.equal(revisionFor({ set, update, current: old }, 1).name, old.name);
  assert.equal(revisionFor({ set, update, current: old }, 2).name, update.name);
  assert.equal(revisionFor({ set: newSet({ strategy: 'OnDelete' }), update, current: old }, 0).name, update.name);
  const [action] = planActions({
    set,
    pods: [newPod(set, 0, { revision: old }), newPod(set, 2)],
    update,
    current: old,
  });
  assert.equal(
    action?.kind === 'create' ? action.pod.metadata?.labels?.['controller-revision-hash'] : undefined,
    old.name,
  );
  assert.equal(action?.pod.spec?.containers[0]?.image, 'web:0');
});

test('status counts live, ready, available, current and updated pods', () => {
  const set = newSet({ minReadySeconds: 60 });
  const update = updateRevisionOf(set).name;
  const pods = [
    newPod(set, 0, { revision: old, readySince: '2025-01-01T00:00:00Z' }),
    newPod(set, 1, { readySince: '2025-01-01T00:09:30Z' }),
    newPod(set, 2, { state: 'Pending' }),
    newPod(set, 3, { state: 'Terminating' }),
  ];
  const { status, recheckAfterMs } = statusOf({
    set,
    pods,
    currentRevision: old.name,
    updateRevision: update,
    nowMs: NOW,
  });
  assert.deepEqual(status, {
    observedGeneration: 4,
    replicas: 3,
    readyReplicas: 2,
    currentReplicas: 1,
    updatedReplicas: 2,
    availableReplicas: 1,
    currentRevision: old.name,
    updateRevision: update,
    collisionCount: 0,
  });
  assert.equal(recheckAfterMs, 30_000, 'pod 1 becomes available 60 s after 00:09:30');
});

test('a rolling update whose pods are all updated and Ready makes the update revision current', () => {
  const set = newSet({ replicas: 2 });
  const update = updateRevisionOf(set).name;
  const done = statusOf({
    set,
    pods: [newPod(set, 0), newPod(set, 1)],
    currentRevision: old.name,
    updateRevision: update,
    nowMs: NOW,
  });
  assert.equal(done.status.currentRevision, update);
  assert.equal(done.status.currentReplicas, 2);
  assert.equal(done.recheckAfterMs, undefined);
  const halfway = statusOf({
    set,
    pods: [newPod(set, 0), newPod(set, 1, { state: 'Pending' })],
    currentRevision: old.name,
    updateRevision: update,
    nowMs: NOW,
  });
  assert.equal(halfway.status.currentRevision, old.name);
  const onDelete = newSet({ replicas: 2, strategy: 'OnDelete' });
  assert.equal(
    statusOf({
      set: onDelete,
      pods: [newPod(onDelete, 0), newPod(onDelete, 1)],
      currentRevision: old.name,
      updateRevision: update,
      nowMs: NOW,
    }).status.currentRevision,
    old.name,
  );
});

test('availability waits minReadySeconds from the Ready transition', () => {
  const set = newSet();
  const pod = newPod(set, 0, { readySince: '2025-01-01T00:09:50Z' });
  const table: [number, number | undefined][] = [
    [0, 0],
    [5, 0],
    [10, 0],
    [30, 20_000],
  ];
  for (const [seconds, ms] of table) assert.equal(msUntilAvailable(pod, seconds, NOW), ms, `${seconds} s`);
  assert.equal(msUntilAvailable(newPod(set, 0, { state: 'Pending' }), 0, NOW), undefined);
});

test('status changes are detected field by field, absent numbers counting as zero', () => {
  const figures = {
    observedGeneration: 1,
    replicas: 0,
    readyReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
    availableReplicas: 0,
    currentRevision: 'web-a',
    updateRevision: 'web-a',
    collisionCount: 0,
  };
  assert.equal(
    hasStatusChanged(
      { replicas: 0, observedGeneration: 1, currentRevision: 'web-a', updateRevision: 'web-a' },
      figures,
    ),
    false,
  );
  assert.equal(hasStatusChanged({ ...figures, readyReplicas: 1 }, figures), true);
  assert.equal(hasStatusChanged({ ...figures, updateRevision: 'web-b' }, figures), true);
  assert.equal(hasStatusChanged(undefined, figures), true);
  const conditions = [{ type: 'Custom', status: 'True' }];
  assert.deepEqual(nextStatus({ replicas: 5, conditions }, figures), { ...figures, conditions });
});
