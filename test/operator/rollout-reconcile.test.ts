import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { V1StatefulSet } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { convergedAt, imGateway } from '../support/operator-system.js';
import { ReconcileWorld } from '../support/reconcile-world.js';

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

/** The operator's reconciler on in-memory caches; the StatefulSet controller recreates deleted pods at once. */
const world = new ReconcileWorld({ runtimes: ['proxy', 'push'] });

const membersOf = (g: IMGateway): string => (g.status?.ring?.members ?? []).join(',');
const rolledOut = (replicas: number) => (g: IMGateway) =>
  convergedAt(replicas)(g) && g.status?.phase === 'Stable' && g.status?.updatedReplicas === replicas;
const reasons = (from: number): string[] =>
  world
    .events('im')
    .slice(from)
    .map((e) => e.reason ?? '');

before(async () => {
  world.apply(imGateway('im', { replicas: 3 }));
  await world.until('im', rolledOut(3));
});

test('a rollout restart replaces each pod once, highest ordinal first, each member leaving the ring before', async () => {
  const events = world.events('im').length;
  const history = world.ringHistory.length;
  world.editStatefulSet('im', (set) => withTemplateAnnotation(set, RESTARTED_AT, '2030-01-01T00:00:00Z'));
  const rolling = await world.until('im', (g) => g.status?.phase === 'RollingUpdate');
  assert.equal(rolling.status?.conditions?.find((c) => c.type === 'Progressing')?.reason, 'RollingUpdate');
  const done = await world.until('im', rolledOut(3));
  assert.deepEqual(world.deletedPods, ['im-2', 'im-1', 'im-0']);
  assert.equal(membersOf(done), 'im-0,im-1,im-2');
  const steps = reasons(events).filter((r) => r.startsWith('Rollout'));
  assert.deepEqual(steps, [
    ...['im-2', 'im-1', 'im-0'].flatMap(() => ['RolloutMemberLeaving', 'RolloutPodReplaced', 'RolloutMemberJoined']),
    'RolloutComplete',
  ]);
  // Each member out and back: two ring versions per pod, never two members out at once.
  assert.equal(world.ringHistory.length - history, 12, world.ringHistory.slice(history).join(', '));
  await world.reconcile('im'); // the status's message after the converging step
  const writes = world.writes();
  await world.reconcile('im');
  assert.equal(world.writes(), writes, 'a finished rollout writes nothing more');
});

test('a scale after the rollout restarts no pod and keeps the restartedAt annotation', async () => {
  world.patch('im', { spec: { replicas: 2 } });
  await world.until('im', rolledOut(2));
  assert.deepEqual(world.deletedPods, ['im-2', 'im-1', 'im-0']);
  const set = world.object<V1StatefulSet>('StatefulSet', 'im')!;
  assert.equal(set.spec?.template.metadata?.annotations?.[RESTARTED_AT], '2030-01-01T00:00:00Z');
  assert.equal(set.spec?.replicas, 2);
});

test('kubectl set image on the StatefulSet is reverted with a Warning naming the field, and no pod is replaced', async () => {
  const events = world.events('im').length;
  world.editStatefulSet('im', (set) => {
    set.spec!.template.spec!.containers[0]!.image = 'evil:latest';
    return set;
  });
  await world.until('im', (g) => rolledOut(2)(g) && imageOf() === 'imring:dev');
  assert.deepEqual(world.deletedPods, ['im-2', 'im-1', 'im-0']);
  const warnings = world
    .events('im')
    .slice(events)
    .filter((e) => e.type === 'Warning');
  assert.equal(warnings.length, 1, warnings.map((e) => e.message).join('\n'));
  assert.equal(warnings[0]!.reason, 'OwnedFieldReverted');
  assert.match(warnings[0]!.message!, /spec\.template\.spec\.containers\[gateway\]\.image/);
  assert.match(warnings[0]!.message!, /set spec\.image on imgw\/im/);
});

test('a deleted pod leaves the ring at once, before it is gone, and its replacement joins when Ready', async () => {
  world.terminate('im-1');
  const out = await world.until('im', (g) => membersOf(g) === 'im-0');
  assert.ok(world.object('Pod', 'im-1')?.metadata?.deletionTimestamp, 'the pod is still terminating');
  assert.notEqual(out.status?.phase, 'Degraded');
  world.remove('im-1');
  await world.until('im', (g) => rolledOut(2)(g) && membersOf(g) === 'im-0,im-1');
});

function imageOf(): string | undefined {
  return world.object<V1StatefulSet>('StatefulSet', 'im')?.spec?.template.spec?.containers[0]?.image;
}

function withTemplateAnnotation(set: V1StatefulSet, key: string, value: string): V1StatefulSet {
  const metadata = set.spec!.template.metadata ?? {};
  set.spec!.template.metadata = { ...metadata, annotations: { ...metadata.annotations, [key]: value } };
  return set;
}
