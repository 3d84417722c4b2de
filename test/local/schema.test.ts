import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyDefaults,
  checkStructuralSchema,
  validateCustomResource,
  type FieldValidation,
} from '../../local/apiserver/schema/schema.js';
import { goNumber, goQuote } from '../../local/apiserver/schema/schema-messages.js';
import type { JSONSchemaProps, KubeObject } from '../../local/apiserver/types.js';

/** A root schema whose spec has the given properties. */
function specSchema(properties: Record<string, JSONSchemaProps>, spec: Partial<JSONSchemaProps> = {}): JSONSchemaProps {
  return {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: { type: 'object', properties, ...spec },
    },
  };
}

function newObject(spec: unknown, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'imring.dev/v1',
    kind: 'IMGateway',
    metadata: { name: 'im', labels: { a: 'b' } },
    spec,
    ...extra,
  };
}

function run(schema: JSONSchemaProps, object: KubeObject, fieldValidation: FieldValidation = 'Strict') {
  return validateCustomResource(schema, object, { fieldValidation });
}

/** `field: message` lines, as invalid() joins them. */
function lines(schema: JSONSchemaProps, spec: unknown): string[] {
  return run(schema, newObject(spec)).causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
}

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

test('null is kept only where nullable, dropped where not, and defaulted where a default exists', () => {
  const schema = specSchema({
    keep: { type: 'string', nullable: true },
    drop: { type: 'string' },
    def: { type: 'string', default: 'd' },
  });
  const result = run(schema, newObject({ keep: null, drop: null, def: null }));
  assert.deepEqual(result.object.spec, { keep: null, def: 'd' });
  assert.deepEqual(result.causes, []);
});

test('a null array item without nullable is a type error', () => {
  const schema = specSchema({ l: { type: 'array', items: { type: 'string' } } });
  assert.deepEqual(lines(schema, { l: [null] }), [
    'spec.l[0]: Invalid value: "null": spec.l[0] in body must be of type string: "null"',
  ]);
});

test('defaults fill missing fields, recursing only into existing or defaulted parents', () => {
  const schema = specSchema({
    replicas: { type: 'integer', default: 3 },
    gw: { type: 'object', default: {}, properties: { port: { type: 'integer', default: 8080 } } },
    tls: { type: 'object', properties: { mode: { type: 'string', default: 'auto' } } },
    ports: { type: 'array', items: { type: 'object', properties: { proto: { type: 'string', default: 'TCP' } } } },
  });
  const result = run(schema, newObject({ ports: [{}, { proto: 'UDP' }] }));
  assert.deepEqual(result.object.spec, {
    replicas: 3,
    gw: { port: 8080 },
    ports: [{ proto: 'TCP' }, { proto: 'UDP' }],
  });
});

test('unknown fields are pruned in every mode and reported as the strict decoder names them', () => {
  const schema = specSchema({
    known: { type: 'string' },
    list: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } },
    free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  });
  const object = newObject(
    { known: 'k', foo: 1, list: [{ a: 'x', b: 'y' }], free: { any: { thing: 1 } } },
    { extra: true },
  );
  const modes: { mode: FieldValidation; warnings: string[] }[] = [
    { mode: 'Strict', warnings: [] },
    { mode: 'Warn', warnings: ['unknown field "spec.foo"', 'unknown field "spec.list[0].b"', 'unknown field "extra"'] },
    { mode: 'Ignore', warnings: [] },
  ];
  for (const { mode, warnings } of modes) {
    const result = run(schema, object, mode);
    assert.deepEqual(result.unknownFields, ['spec.foo', 'spec.list[0].b', 'extra'], mode);
    assert.deepEqual(result.warnings, warnings, mode);
    assert.deepEqual(result.object.spec, { known: 'k', list: [{ a: 'x' }], free: { any: { thing: 1 } } }, mode);
    assert.equal('extra' in result.object, false, mode);
  }
});

test('root apiVersion, kind and metadata are neither pruned nor validated beyond name', () => {
  const schema: JSONSchemaProps = {
    type: 'object',
    properties: { metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 3 } } } },
  };
  const object: KubeObject = { apiVersion: 'a/v1', kind: 'K', metadata: { name: 'long-name', labels: { x: 'y' } } };
  const result = run(schema, object);
  assert.deepEqual(result.object, object);
  assert.deepEqual(result.unknownFields, []);
  assert.deepEqual(
    result.causes.map((c) => `${c.field}: ${c.message}`),
    ['metadata.name: Too long: may not be more than 3 bytes'],
  );
});

test('embedded resources keep their metadata and need apiVersion and kind', () => {
  const schema = specSchema({
    template: { type: 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
  });
  const result = run(schema, newObject({ template: { metadata: { name: 'x' }, spec: { a: 1 } } }));
  assert.deepEqual(result.object.spec, { template: { metadata: { name: 'x' }, spec: { a: 1 } } });
  assert.deepEqual(
    result.causes.map((c) => `${c.field}: ${c.message}`),
    ['spec.template.apiVersion: Required value', 'spec.template.kind: Required value'],
  );
});

test('list-type set and map refuse duplicates', () => {
  const schema = specSchema({
    tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ports: {
      type: 'array',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } },
    },
  });
  const spec = {
    tags: ['a', 'b', 'a', 'a'],
    ports: [
      { name: 'http', port: 1 },
      { name: 'http', port: 2 },
    ],
  };
  assert.deepEqual(lines(schema, spec), [
    'spec.tags[2]: Duplicate value: "a"',
    'spec.ports[1]: Duplicate value: {"name":"http"}',
  ]);
});

test('the input object is never mutated', () => {
  const schema = specSchema({ replicas: { type: 'integer', default: 1 } });
  const object = newObject({ foo: 1, drop: null });
  const before = JSON.stringify(object);
  run(schema, object);
  assert.equal(JSON.stringify(object), before);
});

test('hostile nesting is refused without throwing', () => {
  let deep: Record<string, unknown> = {};
  const spec = deep;
  for (let i = 0; i < 100_000; i++) {
    const next = {};
    deep.x = next;
    deep = next;
  }
  const result = run(specSchema({}, { 'x-kubernetes-preserve-unknown-fields': true }), newObject(spec));
  assert.equal(result.causes.length, 1);
  assert.match(result.causes[0]!.message, /nested no more than 100 levels/);
  assert.equal(applyDefaults(specSchema({}), newObject(spec)) !== undefined, true);
});

test('a bad pattern in a schema is reported against the value and refused in the CRD', () => {
  const props = { s: { type: 'string' as const, pattern: '(' } };
  const [line] = lines(specSchema(props), { s: 'x' });
  assert.match(line!, /^spec\.s: Invalid value: "x": spec\.s in body should match '\(, but pattern is invalid: /);
  const causes = checkStructuralSchema(specSchema(props), 'spec.versions[0].schema.openAPIV3Schema');
  assert.equal(causes.length, 1);
  assert.equal(causes[0]!.field, 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[s].pattern');
});

test('checkStructuralSchema names each non-structural part', () => {
  const base = 'spec.versions[0].schema.openAPIV3Schema';
  const cases: { name: string; schema: unknown; want: string[] }[] = [
    { name: 'missing schema', schema: undefined, want: [`${base}: Required value: schemas are required`] },
    {
      name: 'root type',
      schema: { type: 'string' },
      want: [`${base}.type: Invalid value: "string": must be object at the root`],
    },
    {
      name: 'missing root type',
      schema: { properties: {} },
      want: [`${base}.type: Required value: must not be empty at the root`],
    },
    {
      name: 'field type',
      schema: { type: 'object', properties: { spec: {} } },
      want: [`${base}.properties[spec].type: Required value: must not be empty for specified object fields`],
    },
    {
      name: 'items',
      schema: { type: 'object', properties: { l: { type: 'array' } } },
      want: [`${base}.properties[l].items: Required value: must be specified`],
    },
    {
      name: 'item type',
      schema: { type: 'object', properties: { l: { type: 'array', items: {} } } },
      want: [`${base}.properties[l].items.type: Required value: must not be empty for specified array items`],
    },
    {
      name: 'bad type',
      schema: { type: 'object', properties: { x: { type: 'int' } } },
      want: [
        `${base}.properties[x].type: Unsupported value: "int": supported values: "array", "boolean", "integer", "number", "object", "string"`,
      ],
    },
    {
      name: 'uniqueItems',
      schema: { type: 'object', properties: { l: { type: 'array', items: { type: 'string' }, uniqueItems: true } } },
      want: [
        `${base}.properties[l].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic`,
      ],
    },
    {
      name: 'list map keys',
      schema: {
        type: 'object',
        properties: { l: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'map' } },
      },
      want: [
        `${base}.properties[l].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`,
      ],
    },
    {
      name: 'metadata',
      schema: {
        type: 'object',
        properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } },
      },
      want: [
        `${base}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
      ],
    },
    {
      name: 'structural',
      schema: specSchema({
        a: { type: 'string' },
        b: { 'x-kubernetes-int-or-string': true },
        c: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      }),
      want: [],
    },
  ];
  for (const c of cases) {
    const got = checkStructuralSchema(c.schema, base).map((x) => `${x.field}: ${x.message}`);
    assert.deepEqual(got, c.want, c.name);
  }
});

test('applyDefaults returns a defaulted copy and leaves the stored value alone', () => {
  const schema = specSchema({ replicas: { type: 'integer', default: 2 } });
  const stored = newObject({});
  assert.deepEqual((applyDefaults(schema, stored) as KubeObject).spec, { replicas: 2 });
  assert.deepEqual(stored.spec, {});
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
