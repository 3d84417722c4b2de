import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { imGateway } from '../support/operator-system.js';
import { ReconcileWorld } from '../support/reconcile-world.js';

const conditionOf = (g: IMGateway, type: string) => g.status?.conditions?.find((c) => c.type === type);
const isConverged = (g: IMGateway): boolean =>
  conditionOf(g, 'RingConverged')?.status === 'True' && g.status?.observedGeneration === g.metadata.generation;
const membersOf = (g: IMGateway): string => (g.status?.ring?.members ?? []).join(',');

/** The operator's reconciler on in-memory caches, with a proxy and a push whose Leases take part in the barrier. */
const world = new ReconcileWorld({ runtimes: ['proxy', 'push'] });

before(async () => {
  // A short grace period; a short ack timeout because the stopped gateway's Lease stays live
  // (15 s) without acknowledging.
  world.apply(imGateway('im', { replicas: 3, unreadyGraceSeconds: 2, ring: { ackTimeoutSeconds: 3 } }));
  await world.until('im', (g) => isConverged(g) && membersOf(g) === 'im-0,im-1,im-2' && g.status?.readyReplicas === 3);
});

test('a gateway pod that stops being Ready leaves the ring after the grace period and returns', async () => {
  const start = world.gateway('im')!.status!.ring!.version!;
  const eventsBefore = world.events('im').length;
  const historyBefore = world.ringHistory.length;
  const pid = containerPid(world.object<V1Pod>('Pod', 'im-1')!);
  // Frozen, not killed (as SIGSTOP): the pod stays, its readiness probe fails, its runtime stops renewing.
  world.freeze('im-1');
  const degraded = await world.until(
    'im',
    (g) => isConverged(g) && membersOf(g) === 'im-0,im-2' && g.status?.phase === 'Degraded',
  );
  assert.equal(degraded.status?.ring?.version, start + 1, world.ringHistory.join(', '));
  assert.equal(conditionOf(degraded, 'Degraded')?.status, 'True');
  assert.equal(conditionOf(degraded, 'Degraded')?.reason, 'MembersUnready');
  assert.match(conditionOf(degraded, 'Degraded')?.message ?? '', /unready past the grace period: im-1/);
  assert.equal(conditionOf(degraded, 'Ready')?.status, 'False');
  // The same pod comes back: nothing restarted it.
  world.thaw('im-1');
  const back = await world.until('im', (g) => isConverged(g) && membersOf(g) === 'im-0,im-1,im-2');
  assert.equal(back.status?.ring?.version, start + 2);
  assert.equal(back.status?.phase, 'Stable');
  assert.equal(conditionOf(back, 'Degraded')?.status, 'False');
  assert.equal(containerPid(world.object<V1Pod>('Pod', 'im-1')!), pid);
  assert.deepEqual(world.ringHistory.slice(historyBefore), [
    `v${start + 1} Prepared`,
    `v${start + 1} Committed`,
    `v${start + 2} Prepared`,
    `v${start + 2} Committed`,
  ]);
  const events = world.events('im').slice(eventsBefore);
  const prepared = events.filter((e) => e.reason === 'RingPrepared').map((e) => e.message ?? '');
  assert.equal(prepared.length, 2, events.map((e) => `${e.reason}: ${e.message}`).join('\n'));
  assert.match(prepared[0]!, new RegExp(`Ring version ${start + 1} prepared \\(removing im-1\\)`));
  assert.match(prepared[1]!, new RegExp(`Ring version ${start + 2} prepared \\(adding im-1\\)`));
  assert.equal(events.filter((e) => e.reason === 'RingConverged').length, 2);
});

/** The pid of the pod's container process (the local pod runner's container ID is `local://<pid>`). */
function containerPid(pod: V1Pod): number {
  const id = pod.status?.containerStatuses?.[0]?.containerID ?? '';
  const match = /^local:\/\/(\d+)$/.exec(id);
  if (!match) throw new Error(`pod ${pod.metadata?.name} has no local container id: ${JSON.stringify(id)}`);
  return Number(match[1]);
}
