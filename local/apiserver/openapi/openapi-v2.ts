/**
 * The Swagger 2.0 (`/openapi/v2`) document, made from the OpenAPI v3 group-version documents:
 * the same paths (a request body becomes a `body` parameter and `consumes`, a response's content
 * `produces`), and the same schemas as `definitions`. kubectl reads it for client-side validation
 * and `kubectl explain --output plaintext-openapiv2`. The PATCH operations keep the v3 media
 * types, strategic merge left out: kubectl then computes patches from its compiled-in types.
 */
import { SCHEMA_REF_PREFIX } from './builtin-schemas.js';

type Json = Record<string, unknown>;

const V2_REF_PREFIX = '#/definitions/';
const OPERATIONS = ['get', 'put', 'post', 'delete', 'patch'];

/** One Swagger 2.0 document holding the paths and schemas of every v3 document in `documents`. */
export function openApiV2(documents: readonly Json[]): Json {
  const paths: Json = {};
  const definitions: Json = {};
  for (const doc of documents) {
    for (const [path, item] of Object.entries(doc['paths'] as Record<string, Json>)) paths[path] = pathItemV2(item);
    const schemas = (doc['components'] as { schemas: Record<string, Json> }).schemas;
    for (const [name, schema] of Object.entries(schemas)) definitions[name] ??= schemaV2(schema);
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, definitions };
}

function pathItemV2(item: Json): Json {
  const v2: Json = {};
  for (const [key, value] of Object.entries(item)) {
    if (OPERATIONS.includes(key)) v2[key] = operationV2(value as Json);
    else if (key === 'parameters') v2[key] = (value as Json[]).map(parameterV2);
  }
  return v2;
}

function operationV2(op: Json): Json {
  const { requestBody, responses, parameters, ...rest } = op as {
    requestBody?: { content: Record<string, { schema: Json }>; required?: boolean };
    responses: Record<string, { description: string; content?: Record<string, { schema: Json }> }>;
    parameters?: Json[];
  } & Json;
  const body = requestBody ? Object.values(requestBody.content)[0] : undefined;
  return {
    ...rest,
    ...(requestBody ? { consumes: Object.keys(requestBody.content) } : {}),
    produces: ['application/json'],
    parameters: [
      ...(body ? [{ name: 'body', in: 'body', required: true, schema: schemaV2(body.schema) }] : []),
      ...(parameters ?? []).map(parameterV2),
    ],
    responses: Object.fromEntries(
      Object.entries(responses).map(([code, r]) => {
        const schema = r.content?.['application/json']?.schema;
        return [code, { description: r.description, ...(schema ? { schema: schemaV2(schema) } : {}) }];
      }),
    ),
  };
}

function parameterV2(parameter: Json): Json {
  const { schema, ...rest } = parameter as { schema?: Json } & Json;
  return { ...rest, ...(schema ?? {}) };
}

/** A v3 schema in v2 terms: refs into `#/definitions/`, and a lone `allOf` ref (v3's way to describe a ref) inlined. */
function schemaV2(schema: unknown): Json {
  return convert(schema) as Json;
}

function convert(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(convert);
  if (value === null || typeof value !== 'object') return value;
  const { allOf, ...rest } = value as Json;
  const inlined = Array.isArray(allOf) && allOf.length === 1 ? { ...(allOf[0] as Json), ...rest } : value;
  const out: Json = {};
  for (const [k, v] of Object.entries(inlined as Json)) {
    out[k] = k === '$ref' && typeof v === 'string' ? v.replace(SCHEMA_REF_PREFIX, V2_REF_PREFIX) : convert(v);
  }
  return out;
}
