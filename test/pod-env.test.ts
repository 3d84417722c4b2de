import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayHelp } from '../cli/gateway.js';
import { desiredStatefulSet } from '../operator/desired.js';
import { resolveSpec } from '../operator/spec.js';
import { PodEnv } from '../ring/index.js';

/** The names of the variables the operator sets on a gateway container. */
function operatorSets(): string[] {
  const resolved = resolveSpec({ metadata: { name: 'im' }, spec: { auth: { secretName: 's' } } });
  assert.ok(resolved.ok);
  const set = desiredStatefulSet({ namespace: 'chat', name: 'im', uid: 'u' }, resolved.spec, 1);
  return (set.spec?.template.spec?.containers[0]?.env ?? []).map((e) => e.name);
}

test('the operator sets every variable of the gateway pod contract, and nothing else of its own', () => {
  assert.deepEqual(operatorSets().sort(), Object.values(PodEnv).sort());
});

test('imring gateway reads every variable the operator sets as a flag, but the log level its logger reads', () => {
  const read = new Set([...gatewayHelp.matchAll(/\(env ([A-Z_]+)/g)].map((m) => m[1]));
  const unread = operatorSets().filter((name) => name !== PodEnv.logLevel && !read.has(name));
  assert.deepEqual(unread, []);
});
