/**
 * A minimal OpenAPI v3 (`/openapi/v3`) with what kubectl 1.32 reads from it:
 * - the PATCH operation of each kind, found by its `x-kubernetes-group-version-kind` object, with
 *   a `fieldValidation` query parameter, so kubectl's field-validation verifier sees server-side
 *   validation and never falls back to client-side validation through /openapi/v2;
 * - the PATCH request body's media types: kubectl computes a strategic-merge patch from the
 *   OpenAPI v3 schema only when `application/strategic-merge-patch+json` is listed there, so it is
 *   left out and kubectl uses its compiled-in types for built-ins (as exact as a real server's
 *   full schema) and a JSON merge patch for custom resources;
 * - component schemas carrying `x-kubernetes-group-version-kind` (an array), for `kubectl explain`.
 */
import { createHash } from 'node:crypto';
import { servedAt } from './discovery.js';
import type { JSONSchemaProps, ResourceType } from '../types.js';

/** The PATCH media types advertised: everything but strategic merge (see the module comment). */
const PATCH_MEDIA_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/apply-patch+yaml',
];

type Json = Record<string, unknown>;

const SCALE_SCHEMA = 'io.k8s.api.autoscaling.v1.Scale';

/** GET /openapi/v3 -> {paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=…"}, "apis/<g>/<v>": {…}}}. */
export function openApiV3Root(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const key of new Set(types.map((t) => gvPath(t.group, t.version)))) {
    const [group, version] = splitGvPath(key);
    const doc = openApiV3GroupVersion(servedAt(types, group, version));
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documentHash(doc)}` };
  }
  return { paths };
}

/**
 * The OpenAPI 3.0 document of `served` (the types of one group/version), or undefined when
 * nothing is served there.
 */
export function openApiV3GroupVersion(served: readonly ResourceType[]): Record<string, unknown> | undefined {
  if (served.length === 0) return undefined;
  const paths: Json = {};
  const schemas: Json = {};
  for (const t of served) {
    Object.assign(paths, resourcePaths(t));
    schemas[schemaName(t)] = kindSchema(t);
    if (t.scale) schemas[SCALE_SCHEMA] = scaleSchema();
  }
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
  if (t.group === 'apiextensions.k8s.io')
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${t.version}.${t.kind}`;
  const pkg = t.group === '' ? 'core' : (t.group.split('.')[0] ?? t.group);
  return `io.k8s.api.${pkg}.${t.version}.${t.kind}`;
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

/** A custom resource's structural schema, or a permissive object for a built-in, with its GVK. */
function kindSchema(t: ResourceType): Json {
  const ext = { 'x-kubernetes-group-version-kind': [gvk(t)] };
  if (!t.schema) {
    return {
      type: 'object',
      description: `${t.kind} (schema not published)`,
      'x-kubernetes-preserve-unknown-fields': true,
      ...ext,
    };
  }
  return { ...withTypeMeta(t.schema), ...ext };
}

function withTypeMeta(schema: JSONSchemaProps): Json {
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
      metadata: { type: 'object', description: "Standard object's metadata." },
      ...(schema.properties ?? {}),
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
