import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRingDocument } from '../ring/index.js';
import { edited } from './support/ring-edits.js';

test('a document without a policy block gets the default policy', () => {
  const result = parseRingDocument(
    edited((d) => {
      delete d.policy;
    }),
  );
  assert.ok(result.ok);
  assert.deepEqual(result.document.policy, {
    migrateRatePerSecond: 500,
    handoffWindowMs: 2000,
    moveDeadlineMs: 10_000,
  });
});

test('a policy written before moveDeadlineMs existed means the default deadline; a given one is kept', () => {
  const older = parseRingDocument(
    edited((d) => {
      delete d.policy.moveDeadlineMs;
    }),
  );
  assert.ok(older.ok);
  assert.equal(older.document.policy.moveDeadlineMs, 10_000);
  const given = parseRingDocument(
    edited((d) => {
      d.policy.moveDeadlineMs = 2500;
    }),
  );
  assert.ok(given.ok);
  assert.equal(given.document.policy.moveDeadlineMs, 2500);
});
