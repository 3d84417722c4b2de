import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSpec } from '../../operator/spec.js';
import { maxUnavailableMembers, type MaxUnavailable } from '../../operator/spec-rollout.js';
import { newGateway } from './spec-fixtures.js';

/** spec.rollout.maxUnavailable: what it resolves to, and how many members a batch takes at a given replicas. */

const batches: { maxUnavailable: MaxUnavailable; replicas: number; members: number }[] = [
  { maxUnavailable: 1, replicas: 1000, members: 1 },
  { maxUnavailable: 2, replicas: 6, members: 2 },
  { maxUnavailable: 3, replicas: 10, members: 3 },
  { maxUnavailable: '10%', replicas: 1000, members: 100 },
  { maxUnavailable: '10%', replicas: 25, members: 2 }, // 2.5 rounds down
  { maxUnavailable: '10%', replicas: 19, members: 1 }, // 1.9 rounds down
  { maxUnavailable: '10%', replicas: 9, members: 1 }, // 0.9: at least one member
  { maxUnavailable: '1%', replicas: 3, members: 1 },
  { maxUnavailable: '50%', replicas: 7, members: 3 },
  { maxUnavailable: '100%', replicas: 6, members: 5 }, // never the whole ring
  { maxUnavailable: 10, replicas: 4, members: 3 },
  { maxUnavailable: 1, replicas: 1, members: 1 }, // one gateway: it leaves, as with the default
  { maxUnavailable: '100%', replicas: 1, members: 1 },
  { maxUnavailable: 5, replicas: 0, members: 1 },
];

for (const c of batches) {
  test(`maxUnavailable ${JSON.stringify(c.maxUnavailable)} at ${c.replicas} replicas takes ${c.members} member(s) per batch`, () => {
    assert.equal(maxUnavailableMembers({ maxUnavailable: c.maxUnavailable }, c.replicas), c.members);
  });
}

test('spec.rollout resolves to maxUnavailable 1 when absent, null or empty, and keeps an integer or a percentage', () => {
  const rollout = (spec: Record<string, unknown>): unknown => {
    const result = resolveSpec(newGateway(spec));
    assert.ok(result.ok, JSON.stringify(result));
    return result.spec.rollout;
  };
  assert.deepEqual(rollout({}), { maxUnavailable: 1 });
  assert.deepEqual(rollout({ rollout: null }), { maxUnavailable: 1 });
  assert.deepEqual(rollout({ rollout: {} }), { maxUnavailable: 1 });
  assert.deepEqual(rollout({ rollout: { maxUnavailable: 1000 } }), { maxUnavailable: 1000 });
  assert.deepEqual(rollout({ rollout: { maxUnavailable: '100%' } }), { maxUnavailable: '100%' });
  assert.deepEqual(rollout({ rollout: { maxUnavailable: '1%' } }), { maxUnavailable: '1%' });
});

test('an unknown field under spec.rollout is a warning, as the API server would prune it', () => {
  const result = resolveSpec(newGateway({ rollout: { maxSurge: 1 } }));
  assert.ok(result.ok);
  assert.deepEqual(result.warnings, ['spec.rollout.maxSurge: unknown field, ignored']);
});
