import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pruneBuiltinUnknown } from '../../local/apiserver/openapi/builtin-fields.js';
import { builtinSchemas, reachableDefinitions } from '../../local/apiserver/openapi/builtin-schemas.js';
import { parseDeclaration } from '../../local/apiserver/openapi/model-docs.js';
import { OpenApiCache } from '../../local/apiserver/openapi/openapi-cache.js';
import { openApiV2 } from '../../local/apiserver/openapi/openapi-v2.js';
import { openApiV3GroupVersion } from '../../local/apiserver/http/openapi.js';
import { servedAt } from '../../local/apiserver/http/discovery.js';
import { BUILTIN_TYPES } from '../../local/apiserver/store/builtins.js';
import type { ResourceType } from '../../local/apiserver/types.js';

const DEFINITIONS = builtinSchemas(BUILTIN_TYPES);
const ref = (name: string): { $ref: string } => ({ $ref: `#/components/schemas/${name}` });
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

function typeOf(kind: string): ResourceType {
  const type = BUILTIN_TYPES.find((t) => t.kind === kind);
  assert.ok(type, kind);
  return type;
}

function property(definition: string, field: string): Record<string, unknown> {
  const schema = DEFINITIONS.get(definition) as { properties: Record<string, Record<string, unknown>> } | undefined;
  assert.ok(schema, definition);
  return schema.properties[field]!;
}

/** A field's schema without its description, a described ref (`allOf: [ref]`) unwrapped. */
function fieldType(definition: string, field: string): Record<string, unknown> {
  const {
    description: _description,
    allOf,
    ...schema
  } = property(definition, field) as {
    allOf?: unknown[];
  } & Record<string, unknown>;
  return allOf?.length === 1 ? (allOf[0] as Record<string, unknown>) : schema;
}

test('definitions are named as the apiserver names them, whichever kind reaches them first', () => {
  const cases: [string, string, unknown][] = [
    ['io.k8s.api.core.v1.Pod', 'metadata', ref(`${META}.ObjectMeta`)],
    ['io.k8s.api.apps.v1.DeploymentSpec', 'template', ref('io.k8s.api.core.v1.PodTemplateSpec')],
    ['io.k8s.api.apps.v1.DeploymentSpec', 'selector', ref(`${META}.LabelSelector`)],
    [
      'io.k8s.api.apps.v1.StatefulSetSpec',
      'volumeClaimTemplates',
      { type: 'array', items: ref('io.k8s.api.core.v1.PersistentVolumeClaim') },
    ],
    ['io.k8s.api.core.v1.Event', 'eventTime', ref(`${META}.MicroTime`)],
    ['io.k8s.api.rbac.v1.RoleBinding', 'subjects', { type: 'array', items: ref('io.k8s.api.rbac.v1.Subject') }],
    [
      'io.k8s.api.discovery.v1.EndpointSlice',
      'ports',
      { type: 'array', items: ref('io.k8s.api.discovery.v1.EndpointPort') },
    ],
  ];
  for (const [definition, field, expected] of cases) {
    assert.deepEqual(fieldType(definition, field), expected, `${definition}.${field}`);
  }
  const crd = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps';
  assert.ok(DEFINITIONS.has(crd));
  assert.deepEqual(property(crd, '$ref'), { type: 'string' });
});

test('field types map to OpenAPI types and formats', () => {
  const cases: [string, string, Record<string, unknown>][] = [
    ['io.k8s.api.core.v1.ContainerPort', 'containerPort', { type: 'integer', format: 'int32' }],
    ['io.k8s.api.core.v1.PodSpec', 'activeDeadlineSeconds', { type: 'integer', format: 'int64' }],
    ['io.k8s.api.core.v1.PodSpec', 'hostNetwork', { type: 'boolean' }],
    ['io.k8s.api.core.v1.PodSpec', 'nodeSelector', { type: 'object', additionalProperties: { type: 'string' } }],
    ['io.k8s.api.core.v1.Secret', 'data', { type: 'object', additionalProperties: { type: 'string', format: 'byte' } }],
    ['io.k8s.api.core.v1.ServicePort', 'targetPort', ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString')],
    [`${META}.ObjectMeta`, 'creationTimestamp', ref(`${META}.Time`)],
    [`${META}.ManagedFieldsEntry`, 'fieldsV1', { 'x-kubernetes-preserve-unknown-fields': true }],
  ];
  for (const [definition, field, expected] of cases) {
    assert.deepEqual(fieldType(definition, field), expected, `${definition}.${field}`);
  }
  assert.deepEqual(DEFINITIONS.get(`${META}.Time`), { type: 'string', format: 'date-time' });
});

test('kinds carry their GVK, descriptions and required fields from the model declarations', () => {
  const deployment = DEFINITIONS.get('io.k8s.api.apps.v1.Deployment')!;
  assert.deepEqual(deployment['x-kubernetes-group-version-kind'], [
    { group: 'apps', kind: 'Deployment', version: 'v1' },
  ]);
  assert.match(String(deployment['description']), /^Deployment enables declarative updates/);
  assert.deepEqual(DEFINITIONS.get('io.k8s.api.core.v1.Container')!['required'], ['name']);
  assert.match(String(property('io.k8s.api.core.v1.Container', 'image')['description']), /^Container image name\./);
  const created = property(`${META}.ObjectMeta`, 'creationTimestamp');
  assert.deepEqual(created['allOf'], [ref(`${META}.Time`)], 'a described ref sits in allOf, as in the apiserver v3');
  assert.match(String(created['description']), /^CreationTimestamp is a timestamp/);
});

test('a declaration pairs each JSDoc with its property, unescaped, and marks properties without ? required', () => {
  const docs = parseDeclaration(
    [
      '/**',
      '* A thing.',
      '*/',
      'export declare class V1Thing {',
      '    /**',
      '    * Can be \\"A\\" or the thing\\\'s \\\\ default.',
      '    */',
      "    'name': string;",
      "    'plain'?: number;",
      '}',
    ].join('\n'),
  );
  assert.equal(docs.description, 'A thing.');
  assert.deepEqual([...docs.fields], [['name', 'Can be "A" or the thing\'s \\ default.']]);
  assert.deepEqual(docs.required, ['name']);
});

test('a group-version document holds exactly the definitions its kinds reach', () => {
  const doc = openApiV3GroupVersion(servedAt(BUILTIN_TYPES, 'coordination.k8s.io', 'v1'), DEFINITIONS) as {
    components: { schemas: Record<string, unknown> };
  };
  assert.deepEqual(Object.keys(doc.components.schemas).sort(), [
    'io.k8s.api.coordination.v1.Lease',
    'io.k8s.api.coordination.v1.LeaseSpec',
    ...[`${META}.ManagedFieldsEntry`, `${META}.MicroTime`, `${META}.ObjectMeta`, `${META}.OwnerReference`],
    `${META}.Time`,
  ]);
  const reached = reachableDefinitions(DEFINITIONS, ref('io.k8s.api.apps.v1.Deployment'));
  assert.ok(reached.has('io.k8s.api.core.v1.Container'));
  assert.ok(!reached.has('io.k8s.api.coordination.v1.Lease'));
});

test('the v2 document turns request bodies into body parameters and refs into #/definitions', () => {
  const v3 = openApiV3GroupVersion(servedAt(BUILTIN_TYPES, 'coordination.k8s.io', 'v1'), DEFINITIONS)!;
  const v2 = openApiV2([v3]) as any;
  assert.equal(v2.swagger, '2.0');
  const item = v2.paths['/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}'];
  assert.deepEqual(item.patch.consumes, [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
  ]);
  assert.deepEqual(item.put.parameters[0], {
    name: 'body',
    in: 'body',
    required: true,
    schema: { $ref: '#/definitions/io.k8s.api.coordination.v1.Lease' },
  });
  assert.ok(
    item.patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query' && p.type === 'string'),
  );
  assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
  });
  assert.deepEqual(v2.definitions['io.k8s.api.coordination.v1.Lease'].properties.metadata, {
    $ref: `#/definitions/${META}.ObjectMeta`,
  });
  assert.ok(!JSON.stringify(v2).includes('#/components/'));
});

test('the cache answers the same documents until the served set changes', () => {
  const cache = new OpenApiCache();
  const types = [...BUILTIN_TYPES];
  const root = cache.root(types);
  const apps = cache.groupVersion(types, 'apps', 'v1');
  const v2 = cache.v2(types);
  assert.equal(cache.root([...BUILTIN_TYPES]), root);
  assert.equal(cache.groupVersion(types, 'apps', 'v1'), apps);
  assert.equal(cache.v2(types).protobuf, v2.protobuf);
  assert.equal(cache.groupVersion(types, 'batch', 'v1'), undefined);
  const widget: ResourceType = {
    ...typeOf('ConfigMap'),
    group: 'example.com',
    kind: 'Widget',
    plural: 'widgets',
    custom: true,
  };
  const withWidget = [...types, widget];
  const changed = cache.root(withWidget) as { paths: Record<string, unknown> };
  assert.notEqual(changed, root);
  assert.ok('apis/example.com/v1' in changed.paths);
  assert.ok('/apis/example.com/v1/namespaces/{namespace}/widgets' in (cache.v2(withWidget).json as any).paths);
});

test('unknown fields of a built-in are found by path and dropped from a copy', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels: { a: 'b' }, colour: 'red' },
    spec: { containers: [{ name: 'c', image: 'x', bogus: 1, ports: [{ containerPort: 80, extra: true }] }] },
    extra: {},
  };
  const before = structuredClone(pod);
  const pruned = pruneBuiltinUnknown(typeOf('Pod'), pod);
  assert.deepEqual(pruned.unknownFields, [
    'metadata.colour',
    'spec.containers[0].bogus',
    'spec.containers[0].ports[0].extra',
    'extra',
  ]);
  assert.deepEqual(pod, before);
  assert.deepEqual(pruned.object, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', labels: { a: 'b' } },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80 }] }] },
  });
  const clean = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } };
  assert.equal(pruneBuiltinUnknown(typeOf('ConfigMap'), clean).object, clean);
});
