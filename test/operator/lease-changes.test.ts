import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaseChanges } from '../../operator/lease-changes.js';

const T0 = Date.parse('2026-12-06T00:00:00Z');
const KEY = 'default/im';

/** A gateway Lease renewed at `renewedMs` for 15 s, reporting `annotations`. */
function lease(renewedMs: number, annotations: Record<string, string> = { 'imring.dev/version': '3' }): V1Lease {
  return {
    metadata: { name: 'im-gateway-im-0', namespace: 'default', uid: 'u-0', labels: { g: 'im' }, annotations },
    spec: { holderIdentity: 'im-0', leaseDurationSeconds: 15, renewTime: new Date(renewedMs) },
  };
}

test('a renewal of a live Lease that changes nothing else is not followed; a new Lease is', () => {
  const changes = new LeaseChanges();
  assert.equal(changes.matters(lease(T0), KEY, T0), true, 'first seen');
  assert.equal(changes.matters(lease(T0 + 5_000), KEY, T0 + 5_000), false, 'renewal only');
  assert.equal(changes.matters(lease(T0 + 10_000), KEY, T0 + 10_000), false, 'renewal only, again');
});

test('a change of what a runtime reports, its holder or its duration is followed', () => {
  const changes = new LeaseChanges();
  changes.matters(lease(T0), KEY, T0);
  assert.equal(changes.matters(lease(T0 + 1, { 'imring.dev/version': '4' }), KEY, T0 + 1), true, 'annotations');
  const moved = lease(T0 + 2, { 'imring.dev/version': '4' });
  moved.spec!.holderIdentity = 'im-1';
  assert.equal(changes.matters(moved, KEY, T0 + 2), true, 'holder');
  const longer = lease(T0 + 3, { 'imring.dev/version': '4' });
  longer.spec!.holderIdentity = 'im-1';
  longer.spec!.leaseDurationSeconds = 30;
  assert.equal(changes.matters(longer, KEY, T0 + 3), true, 'duration');
});

test('a Lease renewed after it lapsed is followed, and each lapse is reported once', () => {
  const changes = new LeaseChanges();
  changes.matters(lease(T0), KEY, T0);
  assert.deepEqual([...changes.lapsed(T0 + 14_999)], [], 'still live');
  assert.deepEqual([...changes.lapsed(T0 + 15_000)], [KEY], 'lapsed at its expiry');
  assert.deepEqual([...changes.lapsed(T0 + 16_000)], [], 'reported once');
  assert.equal(changes.matters(lease(T0 + 20_000), KEY, T0 + 20_000), true, 'back after the lapse');
  assert.deepEqual([...changes.lapsed(T0 + 20_001)], []);
});

test('a forgotten (deleted) Lease is new again, and no longer reported as lapsed', () => {
  const changes = new LeaseChanges();
  changes.matters(lease(T0), KEY, T0);
  changes.forget(lease(T0));
  assert.deepEqual([...changes.lapsed(T0 + 60_000)], []);
  assert.equal(changes.matters(lease(T0 + 1), KEY, T0 + 1), true);
});
