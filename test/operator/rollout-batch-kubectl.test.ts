/**
 * A rollout in batches with the real operator process, gateway processes and kubectl on the local control plane:
 * 6 gateways at `spec.rollout.maxUnavailable: 2`, an image changed with `kubectl patch`. Each ring change removes
 * two members or adds two back, the ring never has fewer than 4, and every pod ends on the new revision.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import type { RingDocument } from '../../ring/index.js';
import { convergedAt, NAMESPACE, OperatorSystem } from '../support/operator-system.js';

const REPLICAS = 6;

let system: OperatorSystem;

before(async () => {
  system = await OperatorSystem.start();
  await system.startOperator('op-a');
  // A grace period long enough that a slow start on a busy machine never splits a batch.
  await system.createGateway('im', { replicas: REPLICAS, rollout: { maxUnavailable: 2 }, unreadyGraceSeconds: 120 });
  await system.untilGateway('im', convergedAt(REPLICAS), 120_000);
});

after(async () => {
  await system?.close();
});

/** Gateway pod name → [uid, revision]. */
async function gatewayPods(): Promise<Record<string, [string, string]>> {
  const { items } = await system.core.listNamespacedPod({ namespace: NAMESPACE });
  const gateways = items.filter((p) => /^im-\d+$/.test(p.metadata?.name ?? '') && !p.metadata?.deletionTimestamp);
  return Object.fromEntries(
    gateways.map((p): [string, [string, string]] => [
      p.metadata!.name!,
      [p.metadata!.uid!, p.metadata!.labels?.['controller-revision-hash'] ?? ''],
    ]),
  );
}

/** How each Prepared ring after `from` changed the members of the one before it. */
function changesSince(from: number): { removing: string[]; adding: string[] }[] {
  const documents = system.ringDocuments.slice(from).filter((d): d is RingDocument => d !== undefined);
  return documents
    .filter((d) => d.state === 'Prepared')
    .map((d) => {
      const before = new Set((d.previous?.members ?? []).map((m) => m.name));
      const after = new Set(d.members.map((m) => m.name));
      return {
        removing: [...before].filter((n) => !after.has(n)).sort(),
        adding: [...after].filter((n) => !before.has(n)).sort(),
      };
    });
}

test('kubectl patch of the image at maxUnavailable 2: three batches of two leave and rejoin, never fewer than 4 members', async () => {
  assert.equal(await system.kubectlOk(['get', 'imgw/im', '-o', 'jsonpath={.spec.rollout.maxUnavailable}']), '2');
  const before = await gatewayPods();
  const from = system.ringDocuments.length;
  const events = (await system.events('im')).length;
  await system.kubectlOk([
    'patch',
    'imgw/im',
    '--type=merge',
    '-p',
    '{"spec":{"image":"ghcr.io/imring/imring:0.2.0"}}',
  ]);
  const rolledOut = (g: IMGateway): boolean =>
    convergedAt(REPLICAS)(g) && g.status?.phase === 'Stable' && g.status?.updatedReplicas === REPLICAS;
  // The new template: wait for the operator to see a rollout, then for its end.
  const rolling = await system.untilGateway('im', (g) => g.status?.phase === 'RollingUpdate');
  const progressing = rolling.status?.conditions?.find((c) => c.type === 'Progressing');
  assert.match(progressing?.message ?? '', /^Rolling update: batch 1\/3, [02] of 6 pods updated; /);
  await system.untilGateway('im', rolledOut, 180_000);

  assert.deepEqual(changesSince(from), [
    { removing: ['im-4', 'im-5'], adding: [] },
    { removing: [], adding: ['im-4', 'im-5'] },
    { removing: ['im-2', 'im-3'], adding: [] },
    { removing: [], adding: ['im-2', 'im-3'] },
    { removing: ['im-0', 'im-1'], adding: [] },
    { removing: [], adding: ['im-0', 'im-1'] },
  ]);
  const sizes = system.ringDocuments.slice(from).map((d) => d?.members.length ?? 0);
  assert.equal(Math.min(...sizes), REPLICAS - 2, `ring sizes ${sizes.join(', ')}`);

  const set = await system.cluster.kc
    .makeApiClient(AppsV1Api)
    .readNamespacedStatefulSet({ name: 'im', namespace: NAMESPACE });
  const revision = set.status?.updateRevision;
  const after = await gatewayPods();
  assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
  for (const [name, [uid, podRevision]] of Object.entries(after)) {
    assert.notEqual(uid, before[name]![0], `${name} replaced`);
    assert.equal(podRevision, revision, `${name} at the update revision`);
  }

  const rollout = (await system.events('im')).slice(events).filter((e) => e.reason?.startsWith('Rollout'));
  const byReason = (reason: string): string[] => rollout.filter((e) => e.reason === reason).map((e) => e.message ?? '');
  assert.deepEqual(byReason('RolloutMemberLeaving'), [
    `im-5, im-4 leave the ring to be replaced at revision ${revision}`,
    `im-3, im-2 leave the ring to be replaced at revision ${revision}`,
    `im-1, im-0 leave the ring to be replaced at revision ${revision}`,
  ]);
  assert.deepEqual(
    byReason('RolloutPodReplaced').map((m) => m.replace(/ \(.*/, '')),
    ['pods im-5, im-4', 'pods im-3, im-2', 'pods im-1, im-0'],
  );
  assert.equal(byReason('RolloutMemberJoined').length, 3);
  assert.equal(byReason('RolloutComplete').length, 1);
});
