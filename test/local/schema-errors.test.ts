import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goNumber, goQuote } from '../../local/apiserver/schema/schema-messages.js';
import type { JSONSchemaProps } from '../../local/apiserver/types.js';
import { lines, newObject, run, specSchema } from './schema-fixtures.js';

/**
 * Which values a structural schema refuses, and the causes it reports for them, worded and
 * rendered as the Kubernetes API server words them. Pruning, defaulting and the structural check
 * of a CRD's schema are test/local/schema.test.ts's.
 */

test('value errors are worded like the apiserver, with the same reasons', () => {
  const cases: {
    name: string;
    props: Record<string, JSONSchemaProps>;
    spec: unknown;
    want: string[];
    reason: string;
  }[] = [
    {
      name: 'maximum',
      props: { replicas: { type: 'integer', maximum: 1000 } },
      spec: { replicas: 2000 },
      reason: 'FieldValueInvalid',
      want: ['spec.replicas: Invalid value: 2000: spec.replicas in body should be less than or equal to 1000'],
    },
    {
      name: 'exclusive maximum',
      props: { r: { type: 'number', maximum: 5, exclusiveMaximum: true } },
      spec: { r: 5 },
      reason: 'FieldValueInvalid',
      want: ['spec.r: Invalid value: 5: spec.r in body should be less than 5'],
    },
    {
      name: 'minimum',
      props: { r: { type: 'integer', minimum: 1 } },
      spec: { r: 0 },
      reason: 'FieldValueInvalid',
      want: ['spec.r: Invalid value: 0: spec.r in body should be greater than or equal to 1'],
    },
    {
      name: 'exclusive minimum',
      props: { r: { type: 'number', minimum: 1, exclusiveMinimum: true } },
      spec: { r: 1 },
      reason: 'FieldValueInvalid',
      want: ['spec.r: Invalid value: 1: spec.r in body should be greater than 1'],
    },
    {
      name: 'type',
      props: { replicas: { type: 'integer' } },
      spec: { replicas: 'x' },
      reason: 'FieldValueTypeInvalid',
      want: ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'],
    },
    {
      name: 'fraction for integer',
      props: { r: { type: 'integer' } },
      spec: { r: 1.5 },
      reason: 'FieldValueTypeInvalid',
      want: ['spec.r: Invalid value: "number": spec.r in body must be of type integer: "number"'],
    },
    {
      name: 'enum',
      props: { phase: { type: 'string', enum: ['a', 'b'] } },
      spec: { phase: 'x' },
      reason: 'FieldValueNotSupported',
      want: ['spec.phase: Unsupported value: "x": supported values: "a", "b"'],
    },
    {
      name: 'numeric enum',
      props: { n: { type: 'integer', enum: [1, 2] } },
      spec: { n: 3 },
      reason: 'FieldValueNotSupported',
      want: ['spec.n: Unsupported value: 3: supported values: "1", "2"'],
    },
    {
      name: 'maxLength in runes',
      props: { s: { type: 'string', maxLength: 2 } },
      spec: { s: 'h\u00e9\u{1F642}' },
      reason: 'FieldValueTooLong',
      want: ['spec.s: Too long: may not be more than 2 bytes'],
    },
    {
      name: 'minLength',
      props: { s: { type: 'string', minLength: 3 } },
      spec: { s: 'ab' },
      reason: 'FieldValueInvalid',
      want: ['spec.s: Invalid value: "ab": spec.s in body should be at least 3 chars long'],
    },
    {
      name: 'pattern',
      props: { s: { type: 'string', pattern: '^[a-z]+$' } },
      spec: { s: 'A1' },
      reason: 'FieldValueInvalid',
      want: ['spec.s: Invalid value: "A1": spec.s in body should match \'^[a-z]+$\''],
    },
    {
      name: 'multipleOf',
      props: { n: { type: 'integer', multipleOf: 5 } },
      spec: { n: 7 },
      reason: 'FieldValueInvalid',
      want: ['spec.n: Invalid value: 7: spec.n in body should be a multiple of 5'],
    },
    {
      name: 'minItems',
      props: { l: { type: 'array', items: { type: 'string' }, minItems: 2 } },
      spec: { l: ['a'] },
      reason: 'FieldValueInvalid',
      want: ['spec.l: Invalid value: 1: spec.l in body should have at least 2 items'],
    },
    {
      name: 'maxItems',
      props: { l: { type: 'array', items: { type: 'string' }, maxItems: 1 } },
      spec: { l: ['a', 'b'] },
      reason: 'FieldValueTooMany',
      want: ['spec.l: Too many: 2: must have at most 1 item'],
    },
    {
      name: 'uniqueItems',
      props: { l: { type: 'array', items: { type: 'string' }, uniqueItems: true } },
      spec: { l: ['a', 'a'] },
      reason: 'FieldValueInvalid',
      want: ['spec.l: Invalid value: "": spec.l in body shouldn\'t contain duplicates'],
    },
    {
      name: 'minProperties',
      props: { m: { type: 'object', additionalProperties: { type: 'string' }, minProperties: 2 } },
      spec: { m: { a: 'x' } },
      reason: 'FieldValueInvalid',
      want: ['spec.m: Invalid value: 1: spec.m in body should have at least 2 properties'],
    },
    {
      name: 'maxProperties',
      props: { m: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1 } },
      spec: { m: { a: 'x', b: 'y' } },
      reason: 'FieldValueTooMany',
      want: ['spec.m: Too many: 2: must have at most 1 item'],
    },
    {
      name: 'map values',
      props: { m: { type: 'object', additionalProperties: { type: 'integer' } } },
      spec: { m: { a: true } },
      reason: 'FieldValueTypeInvalid',
      want: ['spec.m.a: Invalid value: "boolean": spec.m.a in body must be of type integer: "boolean"'],
    },
    {
      name: 'array items',
      props: {
        l: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer', maximum: 10 } } } },
      },
      spec: { l: [{ port: 1 }, { port: 11 }] },
      reason: 'FieldValueInvalid',
      want: ['spec.l[1].port: Invalid value: 11: spec.l[1].port in body should be less than or equal to 10'],
    },
    {
      name: 'format',
      props: { t: { type: 'string', format: 'date-time' } },
      spec: { t: 'yesterday' },
      reason: 'FieldValueTypeInvalid',
      want: ['spec.t: Invalid value: "yesterday": spec.t in body must be of type date-time: "yesterday"'],
    },
    {
      name: 'int-or-string',
      props: { p: { 'x-kubernetes-int-or-string': true } },
      spec: { p: true },
      reason: 'FieldValueTypeInvalid',
      want: ['spec.p: Invalid value: "boolean": spec.p in body must be of type integer,string: "boolean"'],
    },
  ];
  for (const c of cases) {
    const result = run(specSchema(c.props), newObject(c.spec));
    assert.deepEqual(lines(specSchema(c.props), c.spec), c.want, c.name);
    assert.equal(result.causes[0]?.reason, c.reason, c.name);
  }
});

test('missing required fields are reported at their full path', () => {
  const schema = specSchema({ image: { type: 'string' } }, { required: ['image'] });
  const [cause] = run(schema, newObject({})).causes;
  assert.deepEqual(cause, { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.image' });
  const top = { ...specSchema({}), required: ['spec'] };
  assert.deepEqual(
    run(top, { apiVersion: 'v', kind: 'K', metadata: { name: 'x' } }).causes.map((c) => c.field),
    ['spec'],
  );
});

test('valid values produce no causes', () => {
  const cases: { props: Record<string, JSONSchemaProps>; spec: unknown }[] = [
    { props: { n: { type: 'number', minimum: 1 } }, spec: { n: 2 } },
    { props: { n: { type: 'integer', maximum: 10 } }, spec: { n: 2.0 } },
    { props: { p: { 'x-kubernetes-int-or-string': true } }, spec: { p: '50%' } },
    { props: { t: { type: 'string', format: 'date-time' } }, spec: { t: '2024-05-01T10:00:00Z' } },
    { props: { b: { type: 'string', format: 'byte' } }, spec: { b: 'aGVsbG8=' } },
    { props: { i: { type: 'integer', format: 'int32' } }, spec: { i: 2 ** 40 } },
    { props: { u: { type: 'string', format: 'made-up' } }, spec: { u: 'anything' } },
    { props: { n: { type: 'number', multipleOf: 0.1 } }, spec: { n: 0.3 } },
  ];
  for (const c of cases) assert.deepEqual(lines(specSchema(c.props), c.spec), [], JSON.stringify(c));
});

test('a null array item without nullable is a type error', () => {
  const schema = specSchema({ l: { type: 'array', items: { type: 'string' } } });
  assert.deepEqual(lines(schema, { l: [null] }), [
    'spec.l[0]: Invalid value: "null": spec.l[0] in body must be of type string: "null"',
  ]);
});

test('values render as Go prints decoded JSON', () => {
  const numbers: [number, string][] = [
    [2000, '2000'],
    [1.5, '1.5'],
    [1e21, '1e+21'],
    [0.00001, '1e-05'],
    [0.0001, '0.0001'],
    [-3, '-3'],
  ];
  for (const [n, want] of numbers) assert.equal(goNumber(n), want, String(n));
  assert.equal(goQuote('a"b\\c\n\u0001é'), '"a\\"b\\\\c\\n\\x01é"');
});
