/** Schemas and objects for the structural schema's tests (test/local/schema*.test.ts). */
import {
  validateCustomResource,
  type FieldValidation,
  type SchemaResult,
} from '../../local/apiserver/schema/schema.js';
import type { JSONSchemaProps, KubeObject } from '../../local/apiserver/types.js';

/** A root schema whose spec has the given properties. */
export function specSchema(
  properties: Record<string, JSONSchemaProps>,
  spec: Partial<JSONSchemaProps> = {},
): JSONSchemaProps {
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

/** IMGateway `im` (label a=b) with `spec`, and `extra` at the root. */
export function newObject(spec: unknown, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'imring.dev/v1',
    kind: 'IMGateway',
    metadata: { name: 'im', labels: { a: 'b' } },
    spec,
    ...extra,
  };
}

/** Validates, prunes and defaults `object` against `schema`, `Strict` unless told. */
export function run(
  schema: JSONSchemaProps,
  object: KubeObject,
  fieldValidation: FieldValidation = 'Strict',
): SchemaResult {
  return validateCustomResource(schema, object, { fieldValidation });
}

/** `field: message` lines, as invalid() joins them. */
export function lines(schema: JSONSchemaProps, spec: unknown): string[] {
  return run(schema, newObject(spec)).causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
}
