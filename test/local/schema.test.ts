import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, checkStructuralSchema, type FieldValidation } from '../../local/apiserver/schema/schema.js';
import type { JSONSchemaProps, KubeObject } from '../../local/apiserver/types.js';
import { lines, newObject, run, specSchema } from './schema-fixtures.js';

/**
 * What a structural schema does to a custom resource besides refusing values: nullable, defaults,
 * pruning, embedded resources, list types, nesting limits, and the structural check of a CRD's
 * schema. The causes of invalid values are test/local/schema-errors.test.ts's.
 */

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
