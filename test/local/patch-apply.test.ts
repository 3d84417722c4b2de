import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../local/apiserver/errors.js';
import { decodeFields, encodeFields } from '../../local/apiserver/patch/patch-fields.js';
import { applyServerSideApply, recordUpdate } from '../../local/apiserver/patch/server-side-apply.js';
import type { KubeObject, ManagedFieldsEntry } from '../../local/apiserver/types.js';
import { clockAt, newContext, newDeployment } from './patch-fixtures.js';

type Obj = Record<string, any>;

const CSA = 'kubectl-client-side-apply';

function entries(obj: KubeObject): ManagedFieldsEntry[] {
  return obj.metadata?.managedFields ?? [];
}

function entryOf(obj: KubeObject, manager: string): ManagedFieldsEntry | undefined {
  return entries(obj).find((e) => e.manager === manager);
}

function applyAs(live: KubeObject | undefined, config: KubeObject, manager: string, extra: Obj = {}): KubeObject {
  return applyServerSideApply(live, config, newContext({ manager, ...extra }));
}

function conflictOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  assert.fail('expected a conflict');
}

test('an apply that creates records FieldsV1 as structured-merge-diff encodes it', () => {
  const out = applyAs(undefined, newDeployment(2), 'kubectl');
  assert.equal((out.spec as Obj).replicas, 2);
  assert.deepEqual(entries(out), [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: '2026-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
          },
        },
      },
    },
  ]);
});

test('re-applying the same configuration returns an equal object, time included', () => {
  const first = applyAs(undefined, newDeployment(2), 'kubectl');
  const again = applyServerSideApply(
    first,
    newDeployment(2),
    newContext({ manager: 'kubectl', now: clockAt('2026-06-01T00:00:00Z') }),
  );
  assert.deepEqual(again, first);
});

test('changing a field an Update manager owns is a 409 worded like the apiserver', () => {
  const created = recordUpdate(undefined, newDeployment(1), CSA, newContext());
  const err = conflictOf(() => applyAs(created, newDeployment(3), 'kubectl'));
  assert.equal(err.code, 409);
  assert.equal(err.reason, 'Conflict');
  assert.equal(
    err.message,
    'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
  );
  assert.deepEqual(err.details?.causes, [
    {
      reason: 'FieldManagerConflict',
      message: 'conflict with "kubectl-client-side-apply" using apps/v1',
      field: '.spec.replicas',
    },
  ]);
});

test('several conflicts are listed per manager, and keyed list elements print their key', () => {
  const created = applyAs(undefined, newDeployment(1, 'nginx:1'), 'ci');
  const byHand = recordUpdate(
    created,
    { ...created, metadata: { ...created.metadata, labels: { team: 'a' } } },
    'editor',
    newContext(),
  );
  const config = newDeployment(4, 'nginx:2');
  config.metadata = { ...config.metadata, labels: { team: 'b' } };
  const err = conflictOf(() => applyAs(byHand, config, 'kubectl'));
  assert.equal(
    err.message,
    'Apply failed with 3 conflicts: conflicts with "ci":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image\n' +
      'conflicts with "editor" using apps/v1:\n- .metadata.labels.team',
  );
  assert.equal(err.details?.causes?.length, 3);
});

test('force takes the conflicting fields over from their previous owner', () => {
  const created = recordUpdate(undefined, newDeployment(1), CSA, newContext());
  const out = applyAs(created, newDeployment(3), 'kubectl', { force: true });
  assert.equal((out.spec as Obj).replicas, 3);
  assert.equal(Object.hasOwn(entryOf(out, CSA)!.fieldsV1['f:spec'] as Obj, 'f:replicas'), false);
  assert.ok(Object.hasOwn(entryOf(out, 'kubectl')!.fieldsV1['f:spec'] as Obj, 'f:replicas'));
});

test('two appliers setting the same value share the field without a conflict', () => {
  const one = applyAs(undefined, newDeployment(2), 'a');
  const two = applyAs(one, newDeployment(2), 'b');
  assert.deepEqual(
    entries(two).map((e) => e.manager),
    ['a', 'b'],
  );
  assert.deepEqual(entryOf(two, 'a')!.fieldsV1, entryOf(two, 'b')!.fieldsV1);
});

test('a field the manager stops applying is removed, unless another manager owns it', () => {
  const config = newDeployment(1);
  config.metadata = { ...config.metadata, labels: { a: '1', b: '2' } };
  const applied = applyAs(undefined, config, 'kubectl');
  const withoutB = newDeployment(1);
  withoutB.metadata = { ...withoutB.metadata, labels: { a: '1' } };
  assert.deepEqual(applyAs(applied, withoutB, 'kubectl').metadata?.labels, { a: '1' });

  const shared = applyAs(applied, config, 'other');
  const kept = applyAs(shared, withoutB, 'kubectl');
  assert.deepEqual(kept.metadata?.labels, { a: '1', b: '2' });
});

test('dropping a container from the applied list removes that element', () => {
  const two = newDeployment(1);
  (two.spec as Obj).template.spec.containers.push({ name: 'side', image: 's' });
  const applied = applyAs(undefined, two, 'kubectl');
  const out = applyAs(applied, newDeployment(1), 'kubectl');
  assert.deepEqual(
    ((out.spec as Obj).template.spec.containers as Obj[]).map((c) => String(c.name)),
    ['nginx'],
  );
});

test('apply merges keyed lists per element and keeps what other managers added', () => {
  const applied = applyAs(undefined, newDeployment(1), 'kubectl');
  const injected = structuredClone(applied);
  (injected.spec as Obj).template.spec.containers.push({ name: 'proxy', image: 'envoy' });
  const withProxy = recordUpdate(applied, injected, 'injector', newContext());
  const out = applyAs(withProxy, newDeployment(1, 'nginx:2'), 'kubectl');
  assert.deepEqual((out.spec as Obj).template.spec.containers, [
    { name: 'nginx', image: 'nginx:2' },
    { name: 'proxy', image: 'envoy' },
  ]);
});

test('apply ignores status on the main resource and changes only status through the subresource', () => {
  const live = { ...newDeployment(1), status: { replicas: 1 } };
  const config = { ...newDeployment(5), status: { replicas: 9 } };
  const main = applyAs(live, config, 'kubectl');
  assert.deepEqual(main.status, { replicas: 1 });
  assert.equal((main.spec as Obj).replicas, 5);

  const viaStatus = applyAs(live, config, 'controller', { subresource: 'status' });
  assert.deepEqual(viaStatus.status, { replicas: 9 });
  assert.equal((viaStatus.spec as Obj).replicas, 1);
  assert.deepEqual(entryOf(viaStatus, 'controller'), {
    manager: 'controller',
    operation: 'Apply',
    apiVersion: 'apps/v1',
    time: '2026-01-01T00:00:00Z',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:status': { 'f:replicas': {} } },
    subresource: 'status',
  });
});

test('apply without a field manager is a 422', () => {
  const err = conflictOf(() => applyServerSideApply(undefined, newDeployment(), newContext()));
  assert.equal(err.code, 422);
  assert.match(err.message, /fieldManager: Required value/);
});

test('apply never modifies the live object', () => {
  const live = applyAs(undefined, newDeployment(1), 'kubectl');
  const snapshot = structuredClone(live);
  applyAs(live, newDeployment(7), 'kubectl');
  assert.deepEqual(live, snapshot);
});

test('recordUpdate gives the writer the fields it changed and takes them from the others', () => {
  const created = recordUpdate(undefined, newDeployment(1), CSA, newContext());
  assert.equal(entries(created).length, 1);
  const scaled = recordUpdate(created, newDeployment(4), 'hpa', newContext());
  assert.deepEqual(entryOf(scaled, 'hpa')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.equal(Object.hasOwn(entryOf(scaled, CSA)!.fieldsV1['f:spec'] as Obj, 'f:replicas'), false);
});

test('recordUpdate adds no entry for a write that changes nothing, and drops removed fields', () => {
  const created = recordUpdate(undefined, newDeployment(1), CSA, newContext());
  const same = recordUpdate(created, newDeployment(1), 'someone', newContext());
  assert.deepEqual(
    entries(same).map((e) => e.manager),
    [CSA],
  );

  const noSelector = newDeployment(1);
  delete (noSelector.spec as Obj).selector;
  const trimmed = recordUpdate(created, noSelector, 'editor', newContext());
  assert.equal(Object.hasOwn(entryOf(trimmed, CSA)!.fieldsV1['f:spec'] as Obj, 'f:selector'), false);
  assert.equal(entryOf(trimmed, 'editor'), undefined, 'removing a field owns nothing');
});

test('FieldsV1 encoding round-trips, with "." for a path that also has children', () => {
  const fields = {
    'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} }, 'f:finalizers': { 'v:"x"': {} } },
    'f:spec': { 'f:ports': { 'k:{"port":80}': { '.': {}, 'f:port': {} } } },
  };
  const decoded = decodeFields(fields);
  assert.equal(decoded.size, 5);
  assert.deepEqual(encodeFields(decoded), fields);
});

test('an atomic selector is owned and replaced whole by apply', () => {
  const created = applyAs(undefined, newDeployment(1), 'kubectl');
  const config = newDeployment(1);
  (config.spec as Obj).selector = { matchLabels: { tier: 'web' } };
  assert.deepEqual((applyAs(created, config, 'kubectl').spec as Obj).selector, { matchLabels: { tier: 'web' } });
  const err = conflictOf(() => applyAs(created, config, 'other'));
  assert.equal(err.message, 'Apply failed with 1 conflict: conflict with "kubectl": .spec.selector');
});

test('recordUpdate keeps the ownership an apply by the same manager just recorded', () => {
  const created = recordUpdate(undefined, newDeployment(1), CSA, newContext());
  const applied = applyAs(created, newDeployment(1, 'nginx:2'), 'kubectl', { force: true });
  const recorded = recordUpdate(created, applied, 'kubectl', newContext());
  assert.deepEqual(recorded, applied);
  assert.deepEqual(
    entries(recorded).map((e) => `${e.manager}/${e.operation}`),
    [`${CSA}/Update`, 'kubectl/Apply'],
  );
});

test('recordUpdate starts from managedFields a client replaced', () => {
  const created = recordUpdate(undefined, newDeployment(1), CSA, newContext());
  const handedOver = structuredClone(created);
  handedOver.metadata!.managedFields = [{ ...entries(created)[0]!, manager: 'new-owner' }];
  const out = recordUpdate(created, handedOver, 'someone', newContext());
  assert.deepEqual(
    entries(out).map((e) => e.manager),
    ['new-owner'],
  );
});
