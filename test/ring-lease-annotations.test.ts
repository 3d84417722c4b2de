import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Annotations,
  describeRefusal,
  leaseAnnotations,
  parseLeaseAnnotations,
  Ring,
  type RuntimeReport,
} from '../ring/index.js';
import { newMembers } from './support/fixtures.js';

test('the reported annotations name the ring, its error and, for gateways, the counts', () => {
  const ring = new Ring({ members: newMembers(2), version: 4, state: 'Prepared', tableSize: 251 });
  assert.deepEqual(leaseAnnotations({}), {});
  const ringError = describeRefusal({ code: 'IMRING_RING_STALE_VERSION', message: 'version: is 3' });
  const report = { version: ring.version, state: ring.state, connections: 5, misplaced: 1, ringError };
  assert.deepEqual(leaseAnnotations(report), {
    [Annotations.ringVersion]: '4',
    [Annotations.ringState]: 'Prepared',
    [Annotations.connections]: '5',
    [Annotations.misplaced]: '1',
    [Annotations.ringError]: 'IMRING_RING_STALE_VERSION: version: is 3',
  });
});

const roundTrips: [string, RuntimeReport][] = [
  ['nothing reported yet', {}],
  ['a proxy serving a ring', { version: 7, state: 'Committed' }],
  ['a gateway with connections', { version: 1, state: 'Prepared', connections: 12, misplaced: 0 }],
  ['a gateway that has moved everyone', { version: 9, state: 'Committed', connections: 0, misplaced: 0 }],
  ['a refusal before any ring', { ringError: 'IMRING_RING_INVALID_JSON: not valid JSON' }],
  ['a draining gateway', { version: 3, state: 'Committed', connections: 4, misplaced: 0, draining: true }],
  ['the largest count written exactly', { version: 999_999_999_999_999, connections: 999_999_999_999_999 }],
];

for (const [what, report] of roundTrips) {
  test(`a Lease report round-trips through its annotations: ${what}`, () => {
    assert.deepEqual(parseLeaseAnnotations(leaseAnnotations(report)), report);
  });
}

const badValues: [string, Record<string, string>, RuntimeReport][] = [
  ['a version with a prefix', { [Annotations.ringVersion]: 'v7' }, {}],
  ['a negative count', { [Annotations.connections]: '-1' }, {}],
  ['a fractional count', { [Annotations.misplaced]: '1.5' }, {}],
  ['a count in exponent form', { [Annotations.connections]: '1e3' }, {}],
  ['an empty count', { [Annotations.ringVersion]: '' }, {}],
  ['a count too long to be exact', { [Annotations.ringVersion]: '1234567890123456' }, {}],
  ['a count with spaces', { [Annotations.misplaced]: ' 3' }, {}],
  ['an unknown state', { [Annotations.ringState]: 'Draining' }, {}],
  ['a state in other case', { [Annotations.ringState]: 'committed' }, {}],
  [
    'one bad value among good ones',
    { [Annotations.ringVersion]: '3', [Annotations.ringState]: 'Committed', [Annotations.connections]: 'many' },
    { version: 3, state: 'Committed' },
  ],
  ['a draining value other than "true"', { [Annotations.draining]: 'True' }, {}],
  ['an empty draining value', { [Annotations.draining]: '' }, {}],
  ['annotations that are not ours', { 'example.com/other': '5' }, {}],
];

for (const [what, annotations, expected] of badValues) {
  test(`a Lease's annotations with ${what} are read without it`, () => {
    assert.deepEqual(parseLeaseAnnotations(annotations), expected);
  });
}

test('a gateway that is not draining writes no draining annotation', () => {
  assert.deepEqual(leaseAnnotations({ connections: 1, draining: false }), { [Annotations.connections]: '1' });
  assert.deepEqual(leaseAnnotations({ draining: true }), { [Annotations.draining]: 'true' });
});

test('a Lease without annotations reports nothing', () => {
  assert.deepEqual(parseLeaseAnnotations(undefined), {});
});
