import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { LEASE_RENEW_SECONDS } from '../../ring/index.js';
import { convergedAt, imGateway } from '../support/operator-system.js';
import { ReconcileWorld } from '../support/reconcile-world.js';

/** The operator's reconciler on in-memory caches, with a proxy and a push holding Leases. */
const world = new ReconcileWorld({ runtimes: ['proxy', 'push'] });

before(async () => {
  // Where test/operator/scale.test.ts leaves its gateway: scaled 1 → 5 → 2, converged.
  world.apply(imGateway('im', { replicas: 1 }));
  await world.until('im', convergedAt(1));
  for (const replicas of [5, 2]) {
    world.patch('im', { spec: { replicas } });
    await world.until('im', convergedAt(replicas));
  }
});

test('a reconcile that finds nothing to change writes nothing', async () => {
  const writes = world.writes();
  // Lease renewals (every 5 s, 4 runtimes) each trigger a reconcile: run several.
  for (let i = 0; i < 4; i++) {
    world.advance(LEASE_RENEW_SECONDS * 1000);
    await world.reconcile('im');
  }
  assert.equal(world.writes(), writes);
});
