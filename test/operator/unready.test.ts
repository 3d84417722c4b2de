import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { imGateway, NAMESPACE, OperatorSystem } from '../support/operator-system.js';
import { watchUntil } from '../support/wait.js';

const conditionOf = (g: IMGateway, type: string) => g.status?.conditions?.find((c) => c.type === type);
const isConverged = (g: IMGateway): boolean => conditionOf(g, 'RingConverged')?.status === 'True' && g.status?.observedGeneration === g.metadata.generation;
const membersOf = (g: IMGateway): string => (g.status?.ring?.members ?? []).join(',');

let system: OperatorSystem;

before(async () => {
  system = await OperatorSystem.start();
  await system.startOperator('op-a');
  await system.startRuntimes('im');
  // A short grace period; a short ack timeout because the stopped gateway's Lease stays live
  // (15 s) without acknowledging, and the liveness probe (3 × 10 s) must not restart it first.
  const manifest = join(system.dir, 'im.json');
  await writeFile(manifest, JSON.stringify(imGateway('im', { replicas: 3, unreadyGraceSeconds: 2, ring: { ackTimeoutSeconds: 3 } })));
  await system.kubectlOk(['apply', '-f', manifest]);
  await system.untilGateway('im', (g) => isConverged(g) && membersOf(g) === 'im-0,im-1,im-2' && g.status?.readyReplicas === 3);
});

after(async () => {
  await system?.close();
});

test('a gateway pod that stops being Ready leaves the ring after the grace period and returns', async () => {
  const start = (await system.gateway('im')).status!.ring!.version!;
  const eventsBefore = (await system.events('im')).length;
  const historyBefore = system.ringHistory.length;
  const pid = containerPid(await system.core.readNamespacedPod({ namespace: NAMESPACE, name: 'im-1' }));
  // Frozen, not killed: the process and its pod stay, only its readiness probe fails.
  process.kill(-pid, 'SIGSTOP');
  let resumed = false;
  try {
    await untilPodReady('im-1', false);
    const degraded = await system.untilGateway('im', (g) => isConverged(g) && membersOf(g) === 'im-0,im-2' && g.status?.phase === 'Degraded');
    assert.equal(degraded.status?.ring?.version, start + 1, system.ringHistory.join(', '));
    assert.equal(conditionOf(degraded, 'Degraded')?.status, 'True');
    assert.equal(conditionOf(degraded, 'Degraded')?.reason, 'MembersUnready');
    assert.match(conditionOf(degraded, 'Degraded')?.message ?? '', /unready past the grace period: im-1/);
    assert.equal(conditionOf(degraded, 'Ready')?.status, 'False');
    // The same pod process comes back: nothing restarted it.
    process.kill(-pid, 'SIGCONT');
    resumed = true;
    const back = await system.untilGateway('im', (g) => isConverged(g) && membersOf(g) === 'im-0,im-1,im-2');
    assert.equal(back.status?.ring?.version, start + 2);
    assert.equal(back.status?.phase, 'Stable');
    assert.equal(conditionOf(back, 'Degraded')?.status, 'False');
    assert.equal(containerPid(await system.core.readNamespacedPod({ namespace: NAMESPACE, name: 'im-1' })), pid);
  } finally {
    if (!resumed) process.kill(-pid, 'SIGCONT');
  }
  assert.deepEqual(system.ringHistory.slice(historyBefore), [`v${start + 1} Prepared`, `v${start + 1} Committed`, `v${start + 2} Prepared`, `v${start + 2} Committed`]);
  const events = (await system.events('im')).slice(eventsBefore);
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

function untilPodReady(name: string, ready: boolean): Promise<true> {
  return watchUntil(system.cluster.kc, `/api/v1/namespaces/${NAMESPACE}/pods`, async () => {
    const pod = await system.core.readNamespacedPod({ namespace: NAMESPACE, name });
    const isReady = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    return isReady === ready ? true : undefined;
  });
}
