/**
 * Custom-resource schema handling, as apiextensions-apiserver does it for a structural
 * openAPIV3Schema: drop non-nullable nulls without defaults, apply defaults, prune unknown
 * fields (noting them for strict field validation), then validate, all on a copy.
 *
 * Not covered: `x-kubernetes-validations` (CEL rules are ignored), allOf/anyOf/oneOf/not value
 * validations, validation ratcheting on update, and metadata beyond name/generateName (the
 * server validates ObjectMeta itself).
 */

import type { StatusCause } from '../errors.js';
import type { JSONSchemaProps, KubeObject } from '../types.js';
import { invalid } from './schema-messages.js';
import {
  cloneJson,
  defaultInPlace,
  exceedsDepth,
  isObject,
  pruneNulls,
  pruneUnknown,
  type JsonObject,
} from './schema-prune.js';
import { checkSchema } from './schema-structural.js';
import { validateStructure } from './schema-structure.js';
import { validateValue } from './schema-validate.js';

/** The request's `fieldValidation` query parameter. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface SchemaResult {
  /** The defaulted, pruned copy to store (the input is never mutated). */
  object: KubeObject;
  /** Field errors for a 422 `invalid()`; empty when the object is valid. */
  causes: StatusCause[];
  /**
   * Ready-made `Warning` texts for `fieldValidation=Warn` (`unknown field "spec.foo"`), empty
   * for Strict and Ignore. Send either these or `unknownFields`, not both.
   */
  warnings: string[];
  /** Paths of pruned unknown fields (`spec.foo`, `spec.ports[0].bar`), whatever the mode. */
  unknownFields: string[];
}

/** Deepest object nesting accepted (levels); deeper objects are refused without being walked. */
export const MAX_OBJECT_DEPTH = 100;

/**
 * Validates a custom resource against its version's structural openAPIV3Schema: applies
 * defaults, prunes unknown fields (outside x-kubernetes-preserve-unknown-fields), and returns
 * the cleaned copy plus causes (422 material) and unknown-field notes. Never mutates `object`.
 * apiVersion/kind/metadata at the root are neither pruned nor defaulted; of metadata only
 * name/generateName are validated against the schema (the server checks names). Never throws.
 */
export function validateCustomResource(
  schema: JSONSchemaProps,
  object: KubeObject,
  options: { fieldValidation: FieldValidation },
): SchemaResult {
  if (!isObject(object) || exceedsDepth(object, MAX_OBJECT_DEPTH)) {
    const cause = invalid('', 'object', `must be a JSON object nested no more than ${MAX_OBJECT_DEPTH} levels deep`);
    return { object, causes: [cause], warnings: [], unknownFields: [] };
  }
  const copy = cloneJson(object) as JsonObject;
  pruneNulls(copy, schema, true);
  defaultInPlace(copy, schema, true);
  const unknownFields = pruneUnknown(copy, schema, true);
  const causes: StatusCause[] = [];
  const view = validationView(copy);
  validateValue(schema, view, '', causes);
  validateStructure(schema, view, '', causes);
  const warnings = options.fieldValidation === 'Warn' ? unknownFields.map((f) => `unknown field "${f}"`) : [];
  return { object: copy, causes, warnings, unknownFields };
}

/** The object as the schema sees it: metadata reduced to name/generateName. */
function validationView(object: JsonObject): JsonObject {
  const meta = object.metadata;
  if (!isObject(meta)) return object;
  const names: JsonObject = {};
  if (meta.name !== undefined) names.name = meta.name;
  if (meta.generateName !== undefined) names.generateName = meta.generateName;
  return { ...object, metadata: names };
}

/**
 * Checks a CRD's openAPIV3Schema is structural enough to serve (type at every level, valid
 * patterns, list-type rules, no uniqueItems, …); returns causes with field paths under `path`
 * (e.g. `spec.versions[0].schema.openAPIV3Schema`) for the CRD create to refuse with 422.
 */
export function checkStructuralSchema(schema: unknown, path: string): StatusCause[] {
  return checkSchema(schema, path);
}

/**
 * Applies only the defaults (used when reading back stored objects after a CRD gained
 * defaults). Returns a defaulted copy; `value` is not mutated. Values nested deeper than
 * MAX_OBJECT_DEPTH are returned as they are.
 */
export function applyDefaults(schema: JSONSchemaProps, value: unknown): unknown {
  if (exceedsDepth(value, MAX_OBJECT_DEPTH)) return value;
  const copy = cloneJson(value);
  defaultInPlace(copy, schema, true);
  return copy;
}
