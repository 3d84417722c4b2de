/** IMGateways for resolveSpec()'s tests (test/operator/spec*.test.ts). */
import assert from 'node:assert/strict';
import type { SpecProblem, SpecResult } from '../../operator/spec.js';

/** A valid IMGateway `im` whose spec is `spec` (auth filled in unless `spec` sets it). */
export function newGateway(
  spec: Record<string, unknown> = {},
  name = 'im',
): { metadata: { name: string }; spec: Record<string, unknown> } {
  return { metadata: { name }, spec: { auth: { secretName: 'im-token' }, ...spec } };
}

/** The problems of `result`, which must be a refusal. */
export function problems(result: SpecResult): SpecProblem[] {
  assert.ok(!result.ok, `expected problems, got ${JSON.stringify(result)}`);
  return result.problems;
}
