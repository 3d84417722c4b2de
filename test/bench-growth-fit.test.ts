import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeSlope, growthOf } from '../bench/lib/growth-fit.js';

const SIZES = [10, 100, 1000];

test('a linear series has factors equal to the N ratio and slope 1', () => {
  const growth = growthOf(SIZES, [5, 50, 500]);
  assert.deepEqual(growth.factors, [undefined, 10, 10]);
  assert.deepEqual(
    growth.slopes.map((s) => s?.toFixed(6)),
    [undefined, '1.000000', '1.000000'],
  );
  assert.equal(growth.slope?.toFixed(6), '1.000000');
});

test('a quadratic series has slope 2 and a constant one slope 0', () => {
  assert.equal(growthOf(SIZES, [1, 100, 10_000]).slope?.toFixed(6), '2.000000');
  assert.equal(growthOf(SIZES, [7, 7, 7]).slope?.toFixed(6), '0.000000');
});

test('missing and zero values are left out of the factors and the fit', () => {
  const growth = growthOf(SIZES, [0, 100, undefined]);
  assert.deepEqual(growth.factors, [undefined, undefined, undefined]);
  assert.equal(growth.slope, undefined);
  assert.equal(growthOf([10, 100, 1000, 10_000], [1, undefined, 100, 1000]).slope?.toFixed(6), '1.000000');
});

test('sizes and values of different lengths are refused', () => {
  assert.throws(() => growthOf(SIZES, [1, 2]), RangeError);
});

test('slopes are named by the growth they show', () => {
  assert.deepEqual([0.1, 0.5, 1, 1.5, 2, undefined].map(describeSlope), [
    'constant',
    'sublinear',
    'linear',
    'superlinear',
    'quadratic or worse',
    'n/a',
  ]);
});
