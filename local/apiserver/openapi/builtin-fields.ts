/**
 * Unknown fields of a built-in object: what the apiserver's strict JSON decoding of its Go type
 * reports (`unknown field "spec.foo"`) for `fieldValidation=Strict` or `Warn`, and drops, as
 * decoding into the Go type does. The built-ins' fields come from their OpenAPI definitions
 * ({@link builtinSchemas}).
 */
import { BUILTIN_TYPES } from '../store/builtins.js';
import type { KubeObject, ResourceType } from '../types.js';
import { builtinSchemas, definitionPackage, SCHEMA_REF_PREFIX, type OpenApiSchema } from './builtin-schemas.js';

/** Every built-in definition, built on the first write that needs one. */
let definitions: Map<string, OpenApiSchema> | undefined;

/** A built-in object without its unknown fields, and where those were. */
export interface PrunedBuiltin {
  /** `object` itself when nothing was unknown, else a copy without the unknown fields. */
  readonly object: KubeObject;
  /** Paths of the fields dropped (`spec.foo`, `spec.template.spec.containers[0].bogus`), in document order. */
  readonly unknownFields: string[];
}

/**
 * Drops the fields of `object`, of the built-in kind `type`, that its schema does not declare;
 * a kind without a definition keeps everything.
 */
export function pruneBuiltinUnknown(type: ResourceType, object: KubeObject): PrunedBuiltin {
  definitions ??= builtinSchemas(BUILTIN_TYPES);
  const root = definitions.get(`${definitionPackage(type.group, type.version)}.${type.kind}`);
  if (!root) return { object, unknownFields: [] };
  const found: Unknown[] = [];
  collectUnknown(definitions, { schema: root, value: object, path: '' }, found);
  if (found.length === 0) return { object, unknownFields: [] };
  // Found again on a copy, so that the caller's object stays as it came.
  const copy = structuredClone(object);
  const again: Unknown[] = [];
  collectUnknown(definitions, { schema: root, value: copy, path: '' }, again);
  for (const u of again) delete u.parent[u.key];
  return { object: copy, unknownFields: found.map((u) => u.path) };
}

interface Unknown {
  readonly path: string;
  readonly parent: Record<string, unknown>;
  readonly key: string;
}

interface At {
  readonly schema: OpenApiSchema;
  readonly value: unknown;
  readonly path: string;
}

// Recursion depth follows the object's nesting, which the write path bounds before validation.
function collectUnknown(defs: ReadonlyMap<string, OpenApiSchema>, at: At, found: Unknown[]): void {
  const schema = resolved(defs, at.schema);
  if (!schema || schema['x-kubernetes-preserve-unknown-fields'] === true) return;
  const { value, path } = at;
  if (Array.isArray(value)) {
    const items = schema['items'] as OpenApiSchema | undefined;
    if (items) value.forEach((v, i) => collectUnknown(defs, { schema: items, value: v, path: `${path}[${i}]` }, found));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const properties = schema['properties'] as Record<string, OpenApiSchema> | undefined;
  const extra = schema['additionalProperties'] as OpenApiSchema | undefined;
  const parent = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(parent)) {
    const childPath = path ? `${path}.${key}` : key;
    const declared = properties?.[key] ?? extra;
    if (declared) collectUnknown(defs, { schema: declared, value: child, path: childPath }, found);
    else if (properties) found.push({ path: childPath, parent, key });
  }
}

function resolved(defs: ReadonlyMap<string, OpenApiSchema>, schema: OpenApiSchema): OpenApiSchema | undefined {
  const allOf = schema['allOf'] as OpenApiSchema[] | undefined;
  const ref = (allOf?.[0] ?? schema)['$ref'];
  return typeof ref === 'string' ? defs.get(ref.slice(SCHEMA_REF_PREFIX.length)) : schema;
}
