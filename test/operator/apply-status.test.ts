import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import { isSubset, planWrite } from '../../operator/apply.js';
import { desiredStatefulSet } from '../../operator/desired.js';
import { resolveSpec } from '../../operator/spec.js';
import { computeStatus, isSameStatus, type StatusInput } from '../../operator/status.js';
import { decideTransition } from '../../operator/transition.js';

const OWNER = { namespace: 'chat', name: 'im', uid: 'uid-1' };

test('isSubset: desired fields must match, server-added fields are ignored', () => {
  const cases: [unknown, unknown, boolean][] = [
    [{ a: 1 }, { a: 1, b: 2 }, true],
    [{ a: 1 }, { a: 2 }, false],
    [{ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2, d: 3 }] } }, true],
    [[1, 2], [1, 2, 3], false],
    [{}, undefined, true],
    [[], undefined, true],
    [{ a: {} }, {}, true],
    [{ a: 'x' }, null, false],
    [{ a: undefined }, {}, true],
  ];
  for (const [desired, observed, expected] of cases)
    assert.equal(isSubset(desired, observed), expected, JSON.stringify([desired, observed]));
});

test('planWrite: creates when absent, nothing when the server only added defaults, a server-side apply of the owned fields otherwise', () => {
  const resolved = resolveSpec({ metadata: { name: 'im' }, spec: { auth: { secretName: 's' } } });
  assert.ok(resolved.ok);
  const desired = desiredStatefulSet(OWNER, resolved.spec, 3);
  assert.equal(planWrite('StatefulSet', desired, undefined)?.verb, 'create');
  const stored: V1StatefulSet = structuredClone(desired);
  stored.metadata!.resourceVersion = '42';
  stored.spec!.revisionHistoryLimit = 10;
  stored.spec!.template.spec!.containers[0]!.imagePullPolicy = 'IfNotPresent';
  assert.equal(planWrite('StatefulSet', desired, stored), undefined);
  const scaled = planWrite('StatefulSet', desiredStatefulSet(OWNER, resolved.spec, 5), stored);
  assert.equal(scaled?.verb, 'apply');
  assert.equal(scaled?.object.spec?.replicas, 5);
  assert.equal(scaled?.object.spec?.revisionHistoryLimit, undefined, 'only the fields the operator owns are applied');
  assert.equal(scaled?.object.metadata?.resourceVersion, '42', 'optimistic concurrency on the cached version');
  assert.equal(stored.spec?.replicas, 3, 'the cached object is never mutated');
});

test('planWrite: ring ConfigMap data is compared exactly', () => {
  const desired: V1ConfigMap = { metadata: { name: 'im-ring', namespace: 'chat' }, data: { 'ring.json': '{}' } };
  assert.equal(
    planWrite('ConfigMap', desired, { ...desired, data: { 'ring.json': '{}', extra: 'x' } })?.verb,
    'update',
  );
  assert.equal(planWrite('ConfigMap', desired, structuredClone(desired)), undefined);
});

function statusInput(overrides: Partial<StatusInput> = {}): StatusInput {
  return {
    previous: undefined,
    generation: 1,
    selector: 's',
    desiredReplicas: 1,
    replicas: 1,
    readyReplicas: 1,
    configMap: 'im-ring',
    unreadyMembers: [],
    ringErrors: [],
    now: new Date(1_000_000),
    ...overrides,
  };
}

test('computeStatus keeps lastTransitionTime unless a condition flips, so an unchanged world writes nothing', () => {
  const resolved = resolveSpec({ metadata: { name: 'im' }, spec: { auth: { secretName: 's' } } });
  assert.ok(resolved.ok);
  const decision = decideTransition({
    owner: OWNER,
    spec: resolved.spec,
    clusterDomain: 'cluster.local',
    ring: undefined,
    convergedVersion: undefined,
    pods: [{ ordinal: 0, ready: true, sinceMs: 0 }],
    leases: [],
    nowMs: 1_000_000,
  });
  const first = computeStatus(statusInput(), decision, []);
  const later = computeStatus(statusInput({ previous: first, now: new Date(2_000_000) }), decision, []);
  assert.ok(isSameStatus(first, later));
  const degraded = computeStatus(
    statusInput({ previous: first, now: new Date(3_000_000), ringErrors: ['proxy/p: IMRING_RING_CHECKSUM: bad'] }),
    decision,
    [],
  );
  const condition = (s: typeof first, type: string) => s.conditions!.find((c) => c.type === type)!;
  assert.equal(condition(degraded, 'Degraded').status, 'True');
  assert.equal(condition(degraded, 'Degraded').lastTransitionTime, new Date(3_000_000).toISOString());
  assert.equal(condition(degraded, 'Ready').lastTransitionTime, condition(first, 'Ready').lastTransitionTime);
});
