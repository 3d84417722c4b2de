/**
 * Encodes a Swagger 2.0 document as gnostic's `openapi_v2.Document` protobuf, what kubectl asks
 * `/openapi/v2` for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`). Field numbers
 * are those of github.com/google/gnostic-models openapiv2/OpenAPIv2.proto. Encoded: the document's
 * paths (operations, parameters, responses) and definitions; a value with no field there (v3's
 * `nullable`, `oneOf`) is left out, as the apiserver leaves it out of its v2 document. Vendor
 * extensions and free-form values (`default`, `enum`) travel as YAML in `Any.yaml`; JSON is YAML.
 */
import { ProtobufWriter } from './protobuf-writer.js';

type Json = Record<string, unknown>;

/** PathItem's operation fields. */
const OPERATION_FIELDS: Readonly<Record<string, number>> = { get: 2, put: 3, post: 4, delete: 5, patch: 8 };

/** The `openapi_v2.Document` bytes of `doc` (a Swagger 2.0 document as JSON). */
export function encodeOpenApiV2(doc: Json): Uint8Array {
  const info = (doc['info'] ?? {}) as Json;
  const paths = new ProtobufWriter();
  for (const [name, item] of Object.entries((doc['paths'] ?? {}) as Record<string, Json>)) {
    paths.message(2, named(name, pathItem(item)));
  }
  const definitions = new ProtobufWriter();
  for (const [name, schema] of Object.entries((doc['definitions'] ?? {}) as Record<string, Json>)) {
    definitions.message(1, named(name, encodeSchema(schema)));
  }
  return new ProtobufWriter()
    .string(1, str(doc['swagger']))
    .message(2, new ProtobufWriter().string(1, str(info['title'])).string(2, str(info['version'])))
    .message(8, paths)
    .message(9, definitions)
    .finish();
}

/** A `Schema` message. */
export function encodeSchema(schema: Json): ProtobufWriter {
  const w = new ProtobufWriter()
    .string(1, str(schema['$ref']))
    .string(2, str(schema['format']))
    .string(3, str(schema['title']))
    .string(4, str(schema['description']));
  if ('default' in schema) w.message(5, any(schema['default']));
  w.double(6, num(schema['multipleOf']))
    .double(7, num(schema['maximum']))
    .bool(8, schema['exclusiveMaximum'] === true)
    .double(9, num(schema['minimum']))
    .bool(10, schema['exclusiveMinimum'] === true);
  w.int64(11, num(schema['maxLength']))
    .int64(12, num(schema['minLength']))
    .string(13, str(schema['pattern']))
    .int64(14, num(schema['maxItems']))
    .int64(15, num(schema['minItems']));
  w.bool(16, schema['uniqueItems'] === true)
    .int64(17, num(schema['maxProperties']))
    .int64(18, num(schema['minProperties']))
    .strings(19, strs(schema['required']));
  for (const value of Array.isArray(schema['enum']) ? schema['enum'] : []) w.message(20, any(value));
  encodeStructure(w, schema);
  if ('example' in schema) w.message(30, any(schema['example']));
  vendorExtensions(w, 31, schema);
  return w;
}

/** additionalProperties, type, items, allOf, properties. */
function encodeStructure(w: ProtobufWriter, schema: Json): void {
  const extra = schema['additionalProperties'];
  if (typeof extra === 'boolean') w.message(21, new ProtobufWriter().bool(2, extra));
  else if (isJson(extra)) w.message(21, new ProtobufWriter().message(1, encodeSchema(extra)));
  const type = schema['type'];
  if (typeof type === 'string') w.message(22, new ProtobufWriter().string(1, type));
  const items = schema['items'];
  if (isJson(items)) w.message(23, new ProtobufWriter().message(1, encodeSchema(items)));
  for (const part of Array.isArray(schema['allOf']) ? (schema['allOf'] as Json[]) : []) {
    w.message(24, encodeSchema(part));
  }
  const properties = schema['properties'];
  if (isJson(properties)) {
    const p = new ProtobufWriter();
    for (const [name, value] of Object.entries(properties)) p.message(1, named(name, encodeSchema(value as Json)));
    w.message(25, p);
  }
  w.bool(27, schema['readOnly'] === true);
}

function pathItem(item: Json): ProtobufWriter {
  const w = new ProtobufWriter();
  for (const [verb, field] of Object.entries(OPERATION_FIELDS)) {
    const op = item[verb];
    if (isJson(op)) w.message(field, operation(op));
  }
  for (const p of (item['parameters'] ?? []) as Json[]) w.message(9, parametersItem(p));
  vendorExtensions(w, 10, item);
  return w;
}

function operation(op: Json): ProtobufWriter {
  const w = new ProtobufWriter()
    .strings(1, strs(op['tags']))
    .string(2, str(op['summary']))
    .string(3, str(op['description']))
    .string(5, str(op['operationId']))
    .strings(6, strs(op['produces']))
    .strings(7, strs(op['consumes']));
  for (const p of (op['parameters'] ?? []) as Json[]) w.message(8, parametersItem(p));
  const responses = new ProtobufWriter();
  for (const [code, response] of Object.entries((op['responses'] ?? {}) as Record<string, Json>)) {
    const r = new ProtobufWriter().string(1, str(response['description']));
    if (isJson(response['schema'])) r.message(2, new ProtobufWriter().message(1, encodeSchema(response['schema'])));
    responses.message(1, named(code, new ProtobufWriter().message(1, r)));
  }
  w.message(9, responses);
  vendorExtensions(w, 13, op);
  return w;
}

/** A `ParametersItem` holding a `Parameter`: a body parameter, or a query or path one. */
function parametersItem(p: Json): ProtobufWriter {
  const parameter = new ProtobufWriter();
  if (p['in'] === 'body') {
    const body = new ProtobufWriter()
      .string(1, str(p['description']))
      .string(2, str(p['name']))
      .string(3, 'body')
      .bool(4, p['required'] === true);
    if (isJson(p['schema'])) body.message(5, encodeSchema(p['schema']));
    parameter.message(1, body);
  } else {
    // QueryParameterSubSchema and PathParameterSubSchema number alike up to name; then
    // query has allowEmptyValue (5) before type (6), and uniqueItems is 20 against 19.
    const query = p['in'] === 'query';
    const sub = new ProtobufWriter()
      .bool(1, p['required'] === true)
      .string(2, str(p['in']))
      .string(3, str(p['description']))
      .string(4, str(p['name']))
      .string(query ? 6 : 5, str(p['type']))
      .bool(query ? 20 : 19, p['uniqueItems'] === true);
    parameter.message(2, new ProtobufWriter().message(query ? 3 : 4, sub));
  }
  return new ProtobufWriter().message(1, parameter);
}

/** `x-…` keys of `value` as repeated `NamedAny` at `field`. */
function vendorExtensions(w: ProtobufWriter, field: number, value: Json): void {
  for (const [name, v] of Object.entries(value)) {
    if (name.startsWith('x-')) w.message(field, named(name, any(v)));
  }
}

/** A `Named…` message: name = 1, value = 2. */
function named(name: string, value: ProtobufWriter): ProtobufWriter {
  return new ProtobufWriter().string(1, name).message(2, value);
}

/** An `Any` carrying `value` as YAML (field 2). */
function any(value: unknown): ProtobufWriter {
  return new ProtobufWriter().string(2, JSON.stringify(value));
}

function isJson(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function strs(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;
}
