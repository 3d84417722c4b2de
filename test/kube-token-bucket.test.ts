import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../kube/token-bucket.js';

test('tryTake takes a full bucket, then refills at the rate up to the burst', () => {
  let clock = 0;
  const bucket = new TokenBucket(2, { burst: 3, now: () => clock });
  assert.deepEqual(
    [1, 2, 3, 4].map(() => bucket.tryTake()),
    [true, true, true, false],
  );
  clock += 500;
  assert.deepEqual([bucket.tryTake(), bucket.tryTake()], [true, false]);
  clock += 60_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => bucket.tryTake()),
    [true, true, true, false],
  );
});

test('take waits for a token and serves callers in order', async () => {
  const bucket = new TokenBucket(200, { burst: 1 });
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((n) => bucket.take().then(() => order.push(n))));
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(bucket.tryTake(), false, 'the bucket is empty right after the last take');
});
