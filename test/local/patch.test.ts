import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../local/apiserver/errors.js';
import {
  applyJsonPatch,
  applyMergePatch,
  MAX_JSON_PATCH_OPERATIONS,
  patchObject,
  patchTypeOf,
  type JsonPatchOperation,
} from '../../local/apiserver/patch/patch.js';
import { newContext, newDeployment, newPod } from './patch-fixtures.js';

/** Asserts `fn` throws an ApiError with this code (and reason, and message when given). */
function assertApiError(fn: () => unknown, code: number, reason: string, message?: string | RegExp): ApiError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.reason, reason);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else if (message) assert.match(caught.message, message);
  return caught;
}

test('patchTypeOf maps the four patch media types, ignoring parameters and case', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['application/json-patch+json', 'json'],
    ['application/merge-patch+json; charset=utf-8', 'merge'],
    ['Application/Strategic-Merge-Patch+JSON', 'strategic'],
    ['application/apply-patch+yaml', 'apply'],
    ['application/json', undefined],
    ['application/apply-patch+cbor', undefined],
    [undefined, undefined],
  ];
  for (const [header, want] of cases) assert.equal(patchTypeOf(header), want, String(header));
});

// RFC 7386 Appendix A, every example.
test('applyMergePatch reproduces every example of RFC 7386 Appendix A', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, want] of cases) {
    assert.deepEqual(applyMergePatch(target, patch), want, JSON.stringify([target, patch]));
  }
});

test('applyMergePatch leaves its target untouched', () => {
  const target = { a: { b: 1 } };
  applyMergePatch(target, { a: { b: 2, c: 3 } });
  assert.deepEqual(target, { a: { b: 1 } });
});

// RFC 6902 Appendix A.1–A.16, the examples that succeed.
test('applyJsonPatch reproduces the successful examples of RFC 6902 Appendix A', () => {
  const cases: [string, unknown, JsonPatchOperation[], unknown][] = [
    [
      'A.1 add an object member',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz', value: 'qux' }],
      { baz: 'qux', foo: 'bar' },
    ],
    [
      'A.2 add an array element',
      { foo: ['bar', 'baz'] },
      [{ op: 'add', path: '/foo/1', value: 'qux' }],
      { foo: ['bar', 'qux', 'baz'] },
    ],
    ['A.3 remove an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
    [
      'A.4 remove an array element',
      { foo: ['bar', 'qux', 'baz'] },
      [{ op: 'remove', path: '/foo/1' }],
      { foo: ['bar', 'baz'] },
    ],
    [
      'A.5 replace a value',
      { baz: 'qux', foo: 'bar' },
      [{ op: 'replace', path: '/baz', value: 'boo' }],
      { baz: 'boo', foo: 'bar' },
    ],
    [
      'A.6 move a value',
      { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
      [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
      { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
    ],
    [
      'A.7 move an array element',
      { foo: ['all', 'grass', 'cows', 'eat'] },
      [{ op: 'move', from: '/foo/1', path: '/foo/3' }],
      { foo: ['all', 'cows', 'eat', 'grass'] },
    ],
    [
      'A.8 test a value: success',
      { baz: 'qux', foo: ['a', 2, 'c'] },
      [
        { op: 'test', path: '/baz', value: 'qux' },
        { op: 'test', path: '/foo/1', value: 2 },
      ],
      { baz: 'qux', foo: ['a', 2, 'c'] },
    ],
    [
      'A.10 add a nested member object',
      { foo: 'bar' },
      [{ op: 'add', path: '/child', value: { grandchild: {} } }],
      { foo: 'bar', child: { grandchild: {} } },
    ],
    [
      'A.11 ignore unrecognized elements',
      { foo: 'bar' },
      [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 } as JsonPatchOperation],
      { foo: 'bar', baz: 'qux' },
    ],
    ['A.14 ~ escape ordering', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
    [
      'A.16 add an array value',
      { foo: ['bar'] },
      [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }],
      { foo: ['bar', ['abc', 'def']] },
    ],
    ['copy a subtree', { a: { b: 1 } }, [{ op: 'copy', from: '/a', path: '/c' }], { a: { b: 1 }, c: { b: 1 } }],
    [
      '~1 addresses a key with a slash',
      { metadata: { labels: {} } },
      [{ op: 'add', path: '/metadata/labels/app.kubernetes.io~1name', value: 'x' }],
      { metadata: { labels: { 'app.kubernetes.io/name': 'x' } } },
    ],
  ];
  for (const [name, doc, ops, want] of cases) assert.deepEqual(applyJsonPatch(doc, ops), want, name);
});

test('applyJsonPatch answers 422 Invalid with the generic apiserver message when an operation does not apply', () => {
  const cases: [string, unknown, JsonPatchOperation[]][] = [
    ['A.9 a failed test', { baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }]],
    ['A.12 add to a nonexistent target', { foo: 'bar' }, [{ op: 'add', path: '/baz/bat', value: 'qux' }]],
    ['A.15 a string is not a number', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }]],
    ['remove a missing member', { foo: 'bar' }, [{ op: 'remove', path: '/baz' }]],
    ['replace a missing member', { foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 1 }]],
    ['an array index past the end', { a: [1] }, [{ op: 'add', path: '/a/2', value: 1 }]],
    ['an index with a leading zero', { a: [1, 2] }, [{ op: 'remove', path: '/a/01' }]],
    ['move into its own child', { a: { b: {} } }, [{ op: 'move', from: '/a', path: '/a/b/c' }]],
    ['an unknown op', { a: 1 }, [{ op: 'frobnicate', path: '/a' }]],
    ['a path without a leading slash', { a: 1 }, [{ op: 'remove', path: 'a' }]],
    ['add without a value', { a: 1 }, [{ op: 'add', path: '/b' }]],
  ];
  for (const [name, doc, ops] of cases) {
    const err = assertApiError(
      () => applyJsonPatch(doc, ops),
      422,
      'Invalid',
      'the server rejected our request due to an error in our request',
    );
    assert.ok(err.cause instanceof Error, name);
  }
});

test('applyJsonPatch is all or nothing: a later failure leaves the input as it was', () => {
  const doc = { a: 1 };
  assert.throws(() =>
    applyJsonPatch(doc, [
      { op: 'replace', path: '/a', value: 2 },
      { op: 'test', path: '/a', value: 3 },
    ]),
  );
  assert.deepEqual(doc, { a: 1 });
});

test('applyJsonPatch bounds how much copy operations may duplicate', () => {
  const ops: JsonPatchOperation[] = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '', path: `/x${i}` }));
  assertApiError(() => applyJsonPatch({ a: [1, 2, 3] }, ops), 422, 'Invalid');
});

test('patchObject applies a JSON patch and refuses more than 10000 operations with 413', () => {
  const live = newDeployment(1);
  const out = patchObject(
    live,
    JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 3 }]),
    'json',
    newContext(),
  );
  assert.equal((out.spec as { replicas: number }).replicas, 3);
  assert.equal((live.spec as { replicas: number }).replicas, 1, 'live is never modified');
  const many = JSON.stringify(
    Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '/kind', value: 'Deployment' })),
  );
  assertApiError(
    () => patchObject(live, many, 'json', newContext()),
    413,
    'RequestEntityTooLarge',
    'The allowed maximum operations in a JSON patch is 10000, got 10001',
  );
});

test('patchObject answers 400 for bodies that do not parse or have the wrong shape', () => {
  const live = newDeployment();
  const cases: [string, 'json' | 'merge' | 'strategic' | 'apply'][] = [
    ['{not json', 'json'],
    ['{"op":"add"}', 'json'],
    ['[1]', 'json'],
    ['{"a":', 'merge'],
    ['[1,2]', 'merge'],
    ['[]', 'strategic'],
    ['{', 'strategic'],
    ['a: [b', 'apply'],
    ['- a\n- b', 'apply'],
    [`${'['.repeat(300)}${']'.repeat(300)}`, 'merge'],
  ];
  for (const [body, type] of cases) {
    assertApiError(() => patchObject(live, body, type, newContext({ manager: 'm' })), 400, 'BadRequest');
  }
});

test('patchObject refuses strategic merge on a custom resource with the apiserver 415', () => {
  const live = { apiVersion: 'imring.dev/v1', kind: 'IMGateway', metadata: { name: 'im' }, spec: { replicas: 1 } };
  assertApiError(
    () =>
      patchObject(
        live,
        '{"spec":{"replicas":2}}',
        'strategic',
        newContext({ kind: 'IMGateway', group: 'imring.dev', custom: true }),
      ),
    415,
    'UnsupportedMediaType',
    'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
  );
  const merged = patchObject(
    live,
    '{"spec":{"replicas":2}}',
    'merge',
    newContext({ kind: 'IMGateway', group: 'imring.dev', custom: true }),
  );
  assert.deepEqual(merged.spec, { replicas: 2 });
});

test('patchObject merges strategically for built-ins and replaces lists for merge patches', () => {
  const live = newPod();
  const body = JSON.stringify({ spec: { containers: [{ name: 'side', image: 'side:1' }] } });
  const smp = patchObject(live, body, 'strategic', newContext({ kind: 'Pod', group: '' }));
  assert.deepEqual(
    (smp.spec as { containers: { name: string }[] }).containers.map((c) => c.name),
    ['side', 'app'],
  );
  const merge = patchObject(live, body, 'merge', newContext({ kind: 'Pod', group: '' }));
  assert.deepEqual((merge.spec as { containers: unknown[] }).containers, [{ name: 'side', image: 'side:1' }]);
});

test('patchObject parses an apply body as YAML and creates the object when there is none', () => {
  const body = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  k: v\n';
  const out = patchObject(undefined, body, 'apply', newContext({ kind: 'ConfigMap', group: '', manager: 'kubectl' }));
  assert.deepEqual(out.data, { k: 'v' });
  assert.equal(out.metadata?.managedFields?.[0]?.manager, 'kubectl');
});

test('patchObject refuses YAML alias bombs in an apply body', () => {
  const bomb = [
    'a: &a [x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 12 },
      (_, i) =>
        `${'b'.repeat(i + 1)}: &${'b'.repeat(i + 1)} [${Array(9)
          .fill(i === 0 ? '*a' : `*${'b'.repeat(i)}`)
          .join(', ')}]`,
    ),
  ].join('\n');
  assertApiError(
    () => patchObject(undefined, bomb, 'apply', newContext({ kind: 'ConfigMap', group: '', manager: 'm' })),
    400,
    'BadRequest',
  );
});
