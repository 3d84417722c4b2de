import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { buildRingDocument, serializeRingDocument } from '../../ring/index.js';
import { convergedAt, imGateway, NAMESPACE, OperatorSystem } from '../support/operator-system.js';
import { watchUntil } from '../support/wait.js';

let system: OperatorSystem;

before(async () => {
  system = await OperatorSystem.start();
  await system.startOperator('op-a');
  await system.startRuntimes('im');
});

after(async () => {
  await system?.close();
});

test('kubectl apply of an IMGateway creates its StatefulSet, Service, PDB and ring, and kubectl get shows the columns', async () => {
  const manifest = await writeManifest(imGateway('im', { replicas: 1 }));
  await system.kubectlOk(['apply', '-f', manifest]);
  const gateway = await system.untilGateway('im', convergedAt(1));
  assert.deepEqual(gateway.status?.ring?.members, ['im-0']);
  assert.equal(gateway.status?.phase, 'Stable');
  const ring = await system.ring('im');
  assert.equal(ring?.members[0]?.host, 'im-0.im-headless.default.svc.cluster.local');
  assert.equal(ring?.state, 'Committed');
  const table = await system.kubectlOk(['get', 'imgw']);
  const [header, row] = table.trim().split('\n');
  assert.match(header!, /^NAME\s+DESIRED\s+READY\s+RING\s+PHASE\s+CONVERGED\s+AGE$/);
  assert.match(row!, new RegExp(`^im\\s+1\\s+1\\s+${ring.version}\\s+Stable\\s+True\\s+\\S+$`));
});

test('kubectl scale to 5 goes Prepared → barrier → Committed → converged, pods first', async () => {
  const start = (await system.gateway('im')).status!.ring!.version!;
  const eventsBefore = (await system.events('im')).length;
  const historyBefore = system.ringHistory.length;
  await system.kubectlOk(['scale', 'imgw/im', '--replicas=5']);
  const gateway = await system.untilGateway('im', convergedAt(5));
  assert.equal(
    gateway.status?.ring?.version,
    start + 1,
    `one transition, one version: ${system.ringHistory.join(', ')}; ${(await system.events('im')).map((e) => `${e.reason}: ${e.message}`).join('\n')}`,
  );
  assert.deepEqual(gateway.status?.ring?.members, ['im-0', 'im-1', 'im-2', 'im-3', 'im-4']);
  assert.equal(gateway.status?.ring?.acknowledged?.gateway, '5/5');
  assert.equal(gateway.status?.ring?.acknowledged?.proxy, '1/1');
  assert.equal(gateway.status?.ring?.acknowledged?.push, '1/1');
  assert.deepEqual(system.ringHistory.slice(historyBefore), [`v${start + 1} Prepared`, `v${start + 1} Committed`]);
  const reasons = (await system.events('im')).slice(eventsBefore).map((e) => e.reason);
  assert.deepEqual(
    reasons.filter((r) =>
      ['ScalingUp', 'RingPrepared', 'AllRuntimesAcked', 'RingCommitted', 'RingConverged'].includes(r!),
    ),
    ['ScalingUp', 'RingPrepared', 'AllRuntimesAcked', 'RingCommitted', 'RingConverged'],
  );
});

test('kubectl scale to 2 drains the removed members before the StatefulSet shrinks', async () => {
  const start = (await system.gateway('im')).status!.ring!.version!;
  const eventsBefore = (await system.events('im')).length;
  const historyBefore = system.ringHistory.length;
  const apps = system.cluster.kc.makeApiClient(AppsV1Api);
  // The StatefulSet keeps 5 replicas until the ring without im-2..4 is committed and drained.
  const shrunkWhile: string[] = [];
  const watching = watchUntil(system.cluster.kc, `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`, async () => {
    const set = await apps.readNamespacedStatefulSet({ name: 'im', namespace: NAMESPACE });
    if (set.spec?.replicas !== 2) return undefined;
    const gateway = await system.gateway('im');
    shrunkWhile.push(
      `${gateway.status?.ring?.version} ${gateway.status?.ring?.state} converged=${gateway.status?.ring?.convergedVersion}`,
    );
    return true;
  });
  await system.kubectlOk(['scale', 'imgw/im', '--replicas=2']);
  await watching;
  const gateway = await system.untilGateway('im', convergedAt(2));
  assert.deepEqual(gateway.status?.ring?.members, ['im-0', 'im-1']);
  assert.deepEqual(system.ringHistory.slice(historyBefore), [`v${start + 1} Prepared`, `v${start + 1} Committed`]);
  const reasons = (await system.events('im')).slice(eventsBefore).map((e) => e.reason);
  assert.deepEqual(
    reasons.filter((r) =>
      ['RingPrepared', 'AllRuntimesAcked', 'RingCommitted', 'RingConverged', 'StatefulSetShrunk'].includes(r!),
    ),
    ['RingPrepared', 'AllRuntimesAcked', 'RingCommitted', 'RingConverged', 'StatefulSetShrunk'],
  );
  // Shrunk in the reconcile that found ring v+1 drained (its status write follows).
  assert.match(shrunkWhile[0]!, new RegExp(`^${start + 1} Committed`));
});

test('kubectl describe shows the conditions and the protocol events', async () => {
  const text = await system.kubectlOk(['describe', 'imgw/im']);
  for (const type of ['Ready', 'Progressing', 'RingConverged', 'Degraded', 'InvalidSpec'])
    assert.match(text, new RegExp(`Type:\\s+${type}`));
  assert.match(text, /RingCommitted/);
  assert.match(text, /RingConverged/);
});

async function writeManifest(gateway: IMGateway): Promise<string> {
  const path = join(system.dir, `${gateway.metadata.name}.json`);
  await writeFile(path, JSON.stringify(gateway));
  return path;
}

test('a ring ConfigMap edited by hand (invalid JSON, then an older version) is published again from the status', async () => {
  const version = (await system.gateway('im')).status!.ring!.version!;
  const restoredTo = async (): Promise<number | undefined> => (await system.ring('im'))?.version;
  await system.kubectlOk([
    'patch',
    'configmap',
    'im-ring',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ data: { 'ring.json': '{not json' } }),
  ]);
  assert.equal(
    await watchUntil(system.cluster.kc, `/api/v1/namespaces/${NAMESPACE}/configmaps`, async () =>
      (await restoredTo()) === version ? version : undefined,
    ),
    version,
  );
  const older = buildRingDocument({
    gateway: { namespace: NAMESPACE, name: 'im', uid: (await system.gateway('im')).metadata.uid! },
    version: version - 1,
    state: 'Committed',
    members: [],
    previous: { version: version - 2, members: [] },
  });
  await system.kubectlOk([
    'patch',
    'configmap',
    'im-ring',
    '--type',
    'merge',
    '-p',
    JSON.stringify({ data: { 'ring.json': serializeRingDocument(older) } }),
  ]);
  await watchUntil(system.cluster.kc, `/api/v1/namespaces/${NAMESPACE}/configmaps`, async () =>
    (await restoredTo()) === version ? true : undefined,
  );
  const restored = (await system.events('im')).filter((e) => e.reason === 'RingRestored').map((e) => e.message);
  assert.equal(restored.length, 2);
  assert.match(restored[0]!, /IMRING_RING_INVALID_JSON/);
  assert.match(restored[1]!, new RegExp(`version ${version - 1} is older than the recorded ${version}`));
  const gateway = await system.gateway('im');
  assert.equal(gateway.status?.ring?.version, version, 'no transition: the same version is published again');
});
