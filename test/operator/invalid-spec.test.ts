import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { imGateway, NAMESPACE, OperatorSystem } from '../support/operator-system.js';

const conditionOf = (g: IMGateway, type: string) => g.status?.conditions?.find((c) => c.type === type);
const isCurrent = (g: IMGateway): boolean => g.status?.observedGeneration === g.metadata.generation;
const isInvalid = (g: IMGateway): boolean => isCurrent(g) && conditionOf(g, 'InvalidSpec')?.status === 'True';
const isConverged = (replicas: number) => (g: IMGateway): boolean =>
  isCurrent(g) && conditionOf(g, 'InvalidSpec')?.status === 'False' && conditionOf(g, 'RingConverged')?.status === 'True' && g.status?.ring?.members?.length === replicas;

let system: OperatorSystem;

before(async () => {
  system = await OperatorSystem.start();
  await system.startOperator('op-a');
});

after(async () => {
  await system?.close();
});

// Specs the schema served by the local control plane accepts (no CEL there) and only the operator can judge.
const CASES: { name: string; why: string; spec: Record<string, unknown>; field: RegExp }[] = [
  { name: 'not-prime', why: 'a table size that is not prime', spec: { ring: { tableSize: 65536 } }, field: /spec\.ring\.tableSize: must be a prime number, got 65536/ },
  { name: 'small-table', why: 'a table size not greater than replicas', spec: { replicas: 5, ring: { tableSize: 5 } }, field: /spec\.ring\.tableSize: must be greater than spec\.replicas \(5\), got 5/ },
  { name: 'same-ports', why: 'equal ports (a CEL rule the local API server does not run)', spec: { ports: { ws: 9000, grpc: 9000 } }, field: /spec\.ports: ports\.ws, ports\.grpc and ports\.http must differ/ },
  { name: 'port-clash', why: 'ports.http equal to the default ports.ws (conflicting ports)', spec: { ports: { http: 10001 } }, field: /spec\.ports: ports\.ws, ports\.grpc and ports\.http must differ/ },
  { name: 'a'.repeat(53), why: 'a name longer than 52 characters', spec: {}, field: /metadata\.name: must be no more than 52 characters, got 53/ },
];

for (const c of CASES) {
  test(`${c.why} is reported as InvalidSpec with a Warning naming the field, and no ring or StatefulSet is created`, async () => {
    await apply(imGateway(c.name, c.spec));
    const gateway = await system.untilGateway(c.name, isInvalid);
    assert.match(conditionOf(gateway, 'InvalidSpec')?.message ?? '', c.field);
    assert.equal(conditionOf(gateway, 'InvalidSpec')?.reason, 'InvalidSpec');
    assert.equal(gateway.status?.phase, 'Degraded');
    const warnings = (await system.events(c.name)).filter((e) => e.reason === 'InvalidSpec');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.type, 'Warning');
    assert.match(warnings[0]?.message ?? '', c.field);
    // The reconcile that wrote InvalidSpec is the only one that has run for it.
    assert.deepEqual(await ownedObjects(c.name), { configMap: false, statefulSet: false, service: false });
  });
}

test('fixing an invalid spec clears InvalidSpec and the gateway gets its ring', async () => {
  await system.kubectlOk(['patch', 'imgw/same-ports', '--type=merge', '-p', JSON.stringify({ spec: { ports: { grpc: 9001, http: 9002 } } })]);
  const gateway = await system.untilGateway('same-ports', isConverged(1));
  assert.equal(conditionOf(gateway, 'InvalidSpec')?.reason, 'SpecValid');
  assert.equal(gateway.status?.phase, 'Stable');
  const ring = await system.ring('same-ports');
  assert.deepEqual(ring?.members.map((m) => m.ports), [{ ws: 9000, grpc: 9001 }]);
});

test('an existing gateway edited to an invalid spec keeps its ring ConfigMap and StatefulSet untouched until the spec is fixed', async () => {
  await apply(imGateway('im', { replicas: 1 }));
  const before = await system.untilGateway('im', isConverged(1));
  const snapshot = await versions('im');
  await system.kubectlOk(['patch', 'imgw/im', '--type=merge', '-p', JSON.stringify({ spec: { replicas: 2, ring: { tableSize: 65536 } } })]);
  const invalid = await system.untilGateway('im', isInvalid);
  assert.match(conditionOf(invalid, 'InvalidSpec')?.message ?? '', /spec\.ring\.tableSize: must be a prime number, got 65536/);
  assert.equal(conditionOf(invalid, 'Degraded')?.status, 'True');
  // The ring block is the last valid one, and nothing the operator owns was written.
  assert.deepEqual(invalid.status?.ring, before.status?.ring);
  assert.deepEqual(await versions('im'), snapshot);
  const warning = (await system.events('im')).find((e) => e.reason === 'InvalidSpec');
  assert.equal(warning?.type, 'Warning');
  assert.match(warning?.message ?? '', /spec\.ring\.tableSize/);

  await system.kubectlOk(['patch', 'imgw/im', '--type=merge', '-p', JSON.stringify({ spec: { ring: { tableSize: 65537 } } })]);
  const fixed = await system.untilGateway('im', isConverged(2));
  assert.deepEqual(fixed.status?.ring?.members, ['im-0', 'im-1']);
  assert.equal(fixed.status?.ring?.version, before.status!.ring!.version! + 1);
  assert.notDeepEqual(await versions('im'), snapshot);
});

async function apply(gateway: IMGateway): Promise<void> {
  const path = join(system.dir, `${gateway.metadata.name}.json`);
  await writeFile(path, JSON.stringify(gateway));
  await system.kubectlOk(['apply', '-f', path]);
}

async function ownedObjects(name: string): Promise<{ configMap: boolean; statefulSet: boolean; service: boolean }> {
  const apps = system.cluster.kc.makeApiClient(AppsV1Api);
  const exists = (read: Promise<unknown>): Promise<boolean> => read.then(() => true, () => false);
  return {
    configMap: await exists(system.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: `${name}-ring` })),
    statefulSet: await exists(apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name })),
    service: await exists(system.core.readNamespacedService({ namespace: NAMESPACE, name: `${name}-headless` })),
  };
}

/** The ring ConfigMap's resourceVersion and the StatefulSet's generation (its status changes with its pods). */
async function versions(name: string): Promise<{ configMap: string | undefined; statefulSet: number | undefined }> {
  const apps = system.cluster.kc.makeApiClient(AppsV1Api);
  const configMap = await system.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: `${name}-ring` });
  const statefulSet = await apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name });
  return { configMap: configMap.metadata?.resourceVersion, statefulSet: statefulSet.metadata?.generation };
}
