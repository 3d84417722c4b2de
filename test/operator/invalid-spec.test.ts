import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1ConfigMap, V1StatefulSet } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { imGateway } from '../support/operator-system.js';
import { ReconcileWorld } from '../support/reconcile-world.js';

const conditionOf = (g: IMGateway, type: string) => g.status?.conditions?.find((c) => c.type === type);
const isCurrent = (g: IMGateway): boolean => g.status?.observedGeneration === g.metadata.generation;
const isInvalid = (g: IMGateway): boolean => isCurrent(g) && conditionOf(g, 'InvalidSpec')?.status === 'True';
const isConverged =
  (replicas: number) =>
  (g: IMGateway): boolean =>
    isCurrent(g) &&
    conditionOf(g, 'InvalidSpec')?.status === 'False' &&
    conditionOf(g, 'RingConverged')?.status === 'True' &&
    g.status?.ring?.members?.length === replicas;

/** The operator's reconciler on in-memory caches: the tests run in order, on one world. */
const world = new ReconcileWorld();

// Specs the CRD's structural schema accepts and only the operator can judge (the ports rule is CEL, which the
// local control plane does not run).
const CASES: { name: string; why: string; spec: Record<string, unknown>; field: RegExp }[] = [
  {
    name: 'not-prime',
    why: 'a table size that is not prime',
    spec: { ring: { tableSize: 65536 } },
    field: /spec\.ring\.tableSize: must be a prime number, got 65536/,
  },
  {
    name: 'small-table',
    why: 'a table size not greater than replicas',
    spec: { replicas: 5, ring: { tableSize: 5 } },
    field: /spec\.ring\.tableSize: must be greater than spec\.replicas \(5\), got 5/,
  },
  {
    name: 'same-ports',
    why: 'equal ports (a CEL rule the local API server does not run)',
    spec: { ports: { ws: 9000, grpc: 9000 } },
    field: /spec\.ports: ports\.ws, ports\.grpc and ports\.http must differ/,
  },
  {
    name: 'port-clash',
    why: 'ports.http equal to the default ports.ws (conflicting ports)',
    spec: { ports: { http: 10001 } },
    field: /spec\.ports: ports\.ws, ports\.grpc and ports\.http must differ/,
  },
  {
    name: 'a'.repeat(53),
    why: 'a name longer than 52 characters',
    spec: {},
    field: /metadata\.name: must be no more than 52 characters, got 53/,
  },
];

for (const c of CASES) {
  test(`${c.why} is reported as InvalidSpec with a Warning naming the field, and no ring or StatefulSet is created`, async () => {
    world.apply(imGateway(c.name, c.spec));
    const gateway = await world.until(c.name, isInvalid);
    assert.match(conditionOf(gateway, 'InvalidSpec')?.message ?? '', c.field);
    assert.equal(conditionOf(gateway, 'InvalidSpec')?.reason, 'InvalidSpec');
    assert.equal(gateway.status?.phase, 'Degraded');
    const warnings = world.events(c.name).filter((e) => e.reason === 'InvalidSpec');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.type, 'Warning');
    assert.match(warnings[0]?.message ?? '', c.field);
    // A resync finds nothing new: no second Warning, and still nothing created.
    await world.reconcile(c.name);
    assert.equal(world.events(c.name).filter((e) => e.reason === 'InvalidSpec').length, 1);
    assert.deepEqual(ownedObjects(c.name), { configMap: false, statefulSet: false, service: false });
  });
}

test('fixing an invalid spec clears InvalidSpec and the gateway gets its ring', async () => {
  world.patch('same-ports', { spec: { ports: { grpc: 9001, http: 9002 } } });
  const gateway = await world.until('same-ports', isConverged(1));
  assert.equal(conditionOf(gateway, 'InvalidSpec')?.reason, 'SpecValid');
  assert.equal(gateway.status?.phase, 'Stable');
  const ring = world.ring('same-ports');
  assert.deepEqual(
    ring?.members.map((m) => m.ports),
    [{ ws: 9000, grpc: 9001 }],
  );
});

test('an existing gateway edited to an invalid spec keeps its ring ConfigMap and StatefulSet untouched until the spec is fixed', async () => {
  world.apply(imGateway('im', { replicas: 1 }));
  const before = await world.until('im', isConverged(1));
  const snapshot = versions('im');
  world.patch('im', { spec: { replicas: 2, ring: { tableSize: 65536 } } });
  const invalid = await world.until('im', isInvalid);
  assert.match(
    conditionOf(invalid, 'InvalidSpec')?.message ?? '',
    /spec\.ring\.tableSize: must be a prime number, got 65536/,
  );
  assert.equal(conditionOf(invalid, 'Degraded')?.status, 'True');
  // The ring block is the last valid one, and nothing the operator owns was written.
  assert.deepEqual(invalid.status?.ring, before.status?.ring);
  assert.deepEqual(versions('im'), snapshot);
  const warning = world.events('im').find((e) => e.reason === 'InvalidSpec');
  assert.equal(warning?.type, 'Warning');
  assert.match(warning?.message ?? '', /spec\.ring\.tableSize/);

  world.patch('im', { spec: { ring: { tableSize: 65537 } } });
  const fixed = await world.until('im', isConverged(2));
  assert.deepEqual(fixed.status?.ring?.members, ['im-0', 'im-1']);
  assert.equal(fixed.status?.ring?.version, before.status!.ring!.version! + 1);
  assert.notDeepEqual(versions('im'), snapshot);
});

function ownedObjects(name: string): { configMap: boolean; statefulSet: boolean; service: boolean } {
  return {
    configMap: world.object('ConfigMap', `${name}-ring`) !== undefined,
    statefulSet: world.object('StatefulSet', name) !== undefined,
    service: world.object('Service', `${name}-headless`) !== undefined,
  };
}

/** The ring ConfigMap's resourceVersion and the StatefulSet's generation (its status changes with its pods). */
function versions(name: string): { configMap: string | undefined; statefulSet: number | undefined } {
  const configMap = world.object<V1ConfigMap>('ConfigMap', `${name}-ring`);
  const statefulSet = world.object<V1StatefulSet>('StatefulSet', name);
  return { configMap: configMap?.metadata?.resourceVersion, statefulSet: statefulSet?.metadata?.generation };
}
