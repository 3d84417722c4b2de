/**
 * The OpenAPI v3 documents (`/openapi/v3`), shaped by what kubectl 1.32 reads from them:
 * - the PATCH operation of each kind, found by its `x-kubernetes-group-version-kind` object, with
 *   a `fieldValidation` query parameter, so kubectl's field-validation verifier sees server-side
 *   validation and never falls back to client-side validation through /openapi/v2;
 * - the PATCH request body's media types: kubectl computes a strategic-merge patch from the
 *   OpenAPI v3 schema only when `application/strategic-merge-patch+json` is listed there, so it is
 *   left out and kubectl uses its compiled-in types for built-ins (as exact as a real server's
 *   full schema, and the schemas here lack the patch-strategy and merge-key extensions such a
 *   patch needs) and a JSON merge patch for custom resources;
 * - component schemas carrying `x-kubernetes-group-version-kind` (an array), for `kubectl explain`:
 *   the built-ins' full schemas ({@link builtinSchemas}) with every definition they reference, and
 *   each custom resource's structural schema with the standard metadata.
 */
import { createHash } from 'node:crypto';
import { servedAt } from './discovery.js';
import {
  builtinSchemas,
  definitionPackage,
  reachableDefinitions,
  SCHEMA_REF_PREFIX,
  type OpenApiSchema,
} from '../openapi/builtin-schemas.js';
import type { JSONSchemaProps, ResourceType } from '../types.js';

/** The PATCH media types advertised: everything but strategic merge (see the module comment). */
const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];

type Json = Record<string, unknown>;

/** The definitions a document's schemas draw on, by name. */
export type Definitions = ReadonlyMap<string, OpenApiSchema>;

/** The document of one group-version, or undefined when nothing is served there. */
export type GroupVersionDocument = (group: string, version: string) => Json | undefined;

const SCALE_SCHEMA = 'io.k8s.api.autoscaling.v1.Scale';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/**
 * GET /openapi/v3 -> {paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=…"}, "apis/<g>/<v>": {…}}}.
 * `document` gives each group-version's document (by default built from `types` on each call).
 */
export function openApiV3Root(
  types: readonly ResourceType[],
  document: GroupVersionDocument = (g, v) => openApiV3GroupVersion(servedAt(types, g, v)),
): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const key of groupVersionPaths(types)) {
    const [group, version] = splitGvPath(key);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documentHash(document(group, version))}` };
  }
  return { paths };
}

/** The `api/v1`, `apis/<group>/<version>` keys of every group-version `types` serve. */
function groupVersionPaths(types: readonly ResourceType[]): string[] {
  return [...new Set(types.map((t) => gvPath(t.group, t.version)))];
}

/**
 * The OpenAPI 3.0 document of `served` (the types of one group/version), or undefined when
 * nothing is served there. Built-in kinds take their schemas from `definitions` (by default
 * built for `served`), with every definition those reference.
 */
export function openApiV3GroupVersion(
  served: readonly ResourceType[],
  definitions: Definitions = builtinSchemas(served),
): Record<string, unknown> | undefined {
  if (served.length === 0) return undefined;
  const paths: Json = {};
  const schemas: Json = {};
  for (const t of served) {
    Object.assign(paths, resourcePaths(t));
    schemas[schemaName(t)] = kindSchema(t, definitions);
    if (t.scale) schemas[SCALE_SCHEMA] = definitions.get(SCALE_SCHEMA) ?? scaleSchema();
  }
  for (const name of reachableDefinitions(definitions, schemas)) schemas[name] ??= definitions.get(name);
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

/** The uppercase hex SHA-512 of a document, as the apiserver puts in `serverRelativeURL`. */
export function documentHash(doc: unknown): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** The definition name a kind's schema goes by (`io.k8s.api.apps.v1.StatefulSet`, `com.example.v1.Widget`). */
export function schemaName(t: ResourceType): string {
  if (t.custom) return [...t.group.split('.').reverse(), t.version, t.kind].join('.');
  return `${definitionPackage(t.group, t.version)}.${t.kind}`;
}

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function splitGvPath(key: string): [string, string] {
  const parts = key.split('/');
  return parts[0] === 'api' ? ['', parts[1] ?? ''] : [parts[1] ?? '', parts[2] ?? ''];
}

function gvk(t: ResourceType): { group: string; version: string; kind: string } {
  return { group: t.group, version: t.version, kind: t.kind };
}

function resourcePaths(t: ResourceType): Json {
  const base = `/${gvPath(t.group, t.version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
  const ref = { $ref: `#/components/schemas/${schemaName(t)}` };
  const paths: Json = {
    [base]: pathItem(t, { collection: true, ref }),
    [`${base}/{name}`]: pathItem(t, { collection: false, ref }),
  };
  if (t.statusSubresource) paths[`${base}/{name}/status`] = pathItem(t, { collection: false, ref, subresource: true });
  if (t.scale) paths[`${base}/{name}/scale`] = scalePathItem(t);
  return paths;
}

interface PathShape {
  readonly collection: boolean;
  readonly ref: Json;
  readonly subresource?: boolean;
}

function pathItem(t: ResourceType, shape: PathShape): Json {
  const ext = { 'x-kubernetes-group-version-kind': gvk(t) };
  const ops: Json = { get: operation('get', shape.ref, ext) };
  if (shape.collection && !shape.subresource) {
    ops['post'] = writeOperation('post', shape.ref, ext);
  } else {
    ops['put'] = writeOperation('put', shape.ref, ext);
    ops['patch'] = patchOperation(shape.ref, ext);
  }
  if (!shape.subresource) ops['delete'] = operation('delete', { type: 'object' }, ext);
  return { ...ops, parameters: pathParameters(t, !shape.collection) };
}

function scalePathItem(t: ResourceType): Json {
  const ext = { 'x-kubernetes-group-version-kind': { group: 'autoscaling', version: 'v1', kind: 'Scale' } };
  const ref = { $ref: `#/components/schemas/${SCALE_SCHEMA}` };
  return {
    get: operation('get', ref, ext),
    put: writeOperation('put', ref, ext),
    patch: patchOperation(ref, ext),
    parameters: pathParameters(t, true),
  };
}

function operation(verb: string, schema: Json, ext: Json): Json {
  return {
    description: `${verb} the resource`,
    responses: { '200': { description: 'OK', content: { 'application/json': { schema } } } },
    'x-kubernetes-action': verb === 'delete' ? 'delete' : verb,
    ...ext,
  };
}

function writeOperation(verb: 'post' | 'put', schema: Json, ext: Json): Json {
  return {
    ...operation(verb === 'post' ? 'post' : 'put', schema, ext),
    'x-kubernetes-action': verb === 'post' ? 'post' : 'put',
    parameters: writeParameters(false),
    requestBody: { content: { 'application/json': { schema } }, required: true },
  };
}

function patchOperation(schema: Json, ext: Json): Json {
  const body = { schema: { type: 'object' } };
  return {
    ...operation('patch', schema, ext),
    parameters: writeParameters(true),
    requestBody: { content: Object.fromEntries(PATCH_MEDIA_TYPES.map((m) => [m, body])), required: true },
  };
}

function queryParameter(name: string, type: 'string' | 'boolean', description: string): Json {
  return { name, in: 'query', description, schema: { type, uniqueItems: true } };
}

function writeParameters(patch: boolean): Json[] {
  return [
    queryParameter(
      'dryRun',
      'string',
      'When present, indicates that modifications should not be persisted. Valid value: All.',
    ),
    queryParameter(
      'fieldManager',
      'string',
      'The name associated with the actor or entity that is making these changes.',
    ),
    queryParameter(
      'fieldValidation',
      'string',
      'How the server treats unknown or duplicate fields: Ignore, Warn or Strict.',
    ),
    ...(patch
      ? [
          queryParameter(
            'force',
            'boolean',
            'Force an apply request: re-acquire conflicting fields owned by other people.',
          ),
        ]
      : []),
  ];
}

function pathParameters(t: ResourceType, item: boolean): Json[] {
  const path = (name: string): Json => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string', uniqueItems: true },
  });
  return [...(item ? [path('name')] : []), ...(t.namespaced ? [path('namespace')] : [])];
}

/** A custom resource's structural schema, a built-in's definition, or else a permissive object, with its GVK. */
function kindSchema(t: ResourceType, definitions: Definitions): Json {
  const ext = { 'x-kubernetes-group-version-kind': [gvk(t)] };
  const builtin = t.custom ? undefined : definitions.get(schemaName(t));
  if (builtin) return { ...builtin, ...ext };
  if (!t.schema) {
    return {
      type: 'object',
      description: `${t.kind} (schema not published)`,
      'x-kubernetes-preserve-unknown-fields': true,
      ...ext,
    };
  }
  return { ...withTypeMeta(t.schema, definitions.has(OBJECT_META)), ...ext };
}

/** The schema with apiVersion, kind and metadata; metadata is ObjectMeta when known, whatever the CRD says of it. */
function withTypeMeta(schema: JSONSchemaProps, objectMeta: boolean): Json {
  const description = "Standard object's metadata.";
  return {
    ...schema,
    type: 'object',
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: {
        type: 'string',
        description: 'Kind is a string value representing the REST resource this object represents.',
      },
      metadata: { type: 'object', description },
      ...(schema.properties ?? {}),
      ...(objectMeta ? { metadata: { allOf: [{ $ref: `${SCHEMA_REF_PREFIX}${OBJECT_META}` }], description } } : {}),
    },
  };
}

function scaleSchema(): Json {
  return {
    type: 'object',
    description: 'Scale represents a scaling request for a resource.',
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
  };
}
