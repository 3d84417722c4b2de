/**
 * Value validation of a custom resource against its structural schema, in the order and wording
 * of k8s.io/kube-openapi/pkg/validation/validate as converted to field errors by
 * apiextensions-apiserver (kubeOpenAPIResultToFieldErrors): type, string, format, number,
 * array, enum, object. Paths use kube-openapi's form (`spec.map.key`, `spec.list[0]`).
 */

import type { StatusCause } from '../errors.js';
import type { JSONSchemaProps } from '../types.js';
import {
  fieldCause,
  goNumber,
  goQuote,
  invalid,
  notSupported,
  required,
  sortedJson,
  tooLong,
  tooMany,
} from './schema-messages.js';
import { childPath, isObject, type JsonObject } from './schema-prune.js';
import { isValidFormat } from './schema-formats.js';

/** Appends the causes of `value` (at `path`, `''` for the root) to `causes`. */
export function validateValue(schema: JSONSchemaProps, value: unknown, path: string, causes: StatusCause[]): void {
  if (value === null || value === undefined) {
    checkNull(schema, path, causes);
    checkEnum(schema, null, path, causes);
    return;
  }
  checkType(schema, value, path, causes);
  if (typeof value === 'string') validateString(schema, value, path, causes);
  if (typeof value === 'number') validateNumber(schema, value, path, causes);
  if (Array.isArray(value)) validateArray(schema, value, path, causes);
  checkEnum(schema, value, path, causes);
  if (isObject(value)) validateObject(schema, value, path, causes);
}

/** The JSON type name kube-openapi reports for a decoded value (whole numbers are integers). */
export function jsonType(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function allowedTypes(schema: JSONSchemaProps): string[] {
  if (schema['x-kubernetes-int-or-string'] === true) return ['integer', 'string'];
  return schema.type ? [schema.type] : [];
}

function typeCause(path: string, types: string[], actual: string): StatusCause {
  const detail = `${path} in body must be of type ${types.join(',')}: ${goQuote(actual)}`;
  return fieldCause('FieldValueTypeInvalid', path, detail, actual);
}

function checkNull(schema: JSONSchemaProps, path: string, causes: StatusCause[]): void {
  const types = allowedTypes(schema);
  if (types.length > 0 && schema.nullable !== true) causes.push(typeCause(path, types, 'null'));
}

function checkType(schema: JSONSchemaProps, value: unknown, path: string, causes: StatusCause[]): void {
  const types = allowedTypes(schema);
  if (types.length === 0) return;
  const actual = jsonType(value);
  const matches = types.includes(actual) || (actual === 'integer' && types.includes('number'));
  if (!matches) causes.push(typeCause(path, types, actual));
}

/** Compiled patterns by source; `null` records a pattern ECMAScript cannot compile. */
const patterns = new Map<string, RegExp | SyntaxError>();
/** Bound on the pattern cache so hostile schemas cannot grow it without limit (entries). */
const MAX_CACHED_PATTERNS = 1000;

/** The compiled pattern, or the SyntaxError that compiling it raised. */
export function compilePattern(source: string): RegExp | SyntaxError {
  let compiled = patterns.get(source);
  if (compiled) return compiled;
  try {
    compiled = new RegExp(source);
  } catch (err) {
    compiled = err instanceof SyntaxError ? err : new SyntaxError(String(err));
  }
  if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
  patterns.set(source, compiled);
  return compiled;
}

function validateString(schema: JSONSchemaProps, value: string, path: string, causes: StatusCause[]): void {
  const at = path;
  const runes = [...value].length; // maxLength/minLength count code points, like utf8.RuneCount
  if (schema.maxLength !== undefined && runes > schema.maxLength) causes.push(tooLong(at, schema.maxLength));
  else if (schema.minLength !== undefined && runes < schema.minLength) {
    causes.push(invalid(at, value, `${at} in body should be at least ${schema.minLength} chars long`));
  } else if (schema.pattern !== undefined) checkPattern(schema.pattern, value, at, causes);
  if (schema.format !== undefined && !isValidFormat(schema.format, value)) {
    causes.push(
      fieldCause(
        'FieldValueTypeInvalid',
        at,
        `${at} in body must be of type ${schema.format}: ${goQuote(value)}`,
        value,
      ),
    );
  }
}

function checkPattern(pattern: string, value: string, path: string, causes: StatusCause[]): void {
  const re = compilePattern(pattern);
  if (re instanceof SyntaxError) {
    causes.push(
      invalid(path, value, `${path} in body should match '${pattern}, but pattern is invalid: ${re.message}'`),
    );
  } else if (!re.test(value)) {
    causes.push(invalid(path, value, `${path} in body should match '${pattern}'`));
  }
}

function validateNumber(schema: JSONSchemaProps, value: number, path: string, causes: StatusCause[]): void {
  // Integers are compared with the bounds truncated to int64, as MaximumNativeType does.
  const bound = (n: number): number => (Number.isInteger(value) ? Math.trunc(n) : n);
  const { multipleOf, minimum, maximum } = schema;
  if (multipleOf !== undefined && multipleOf > 0 && !isMultiple(value, multipleOf)) {
    causes.push(invalid(path, value, `${path} in body should be a multiple of ${goNumber(multipleOf)}`));
  }
  if (minimum !== undefined) {
    const min = bound(minimum);
    const exclusive = schema.exclusiveMinimum === true;
    if (exclusive ? value <= min : value < min) {
      const rel = exclusive ? 'greater than' : 'greater than or equal to';
      causes.push(invalid(path, value, `${path} in body should be ${rel} ${goNumber(min)}`));
    }
  }
  if (maximum !== undefined) {
    const max = bound(maximum);
    const exclusive = schema.exclusiveMaximum === true;
    if (exclusive ? value >= max : value > max) {
      const rel = exclusive ? 'less than' : 'less than or equal to';
      causes.push(invalid(path, value, `${path} in body should be ${rel} ${goNumber(max)}`));
    }
  }
}

function isMultiple(value: number, factor: number): boolean {
  if (Number.isInteger(value) && Number.isInteger(factor)) return value % factor === 0;
  const ratio = factor < 1 ? (1 / factor) * value : value / factor;
  return Math.abs(ratio - Math.round(ratio)) <= 1e-9 * Math.max(1, Math.abs(ratio));
}

function validateArray(schema: JSONSchemaProps, value: unknown[], path: string, causes: StatusCause[]): void {
  const items = schema.items;
  if (items) value.forEach((item, i) => validateValue(items, item, `${path}[${i}]`, causes));
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    causes.push(invalid(path, value.length, `${path} in body should have at least ${schema.minItems} items`));
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems)
    causes.push(tooMany(path, value.length, schema.maxItems));
  if (schema.uniqueItems === true && new Set(value.map((v) => sortedJson(v))).size !== value.length) {
    causes.push(invalid(path, '', `${path} in body shouldn't contain duplicates`));
  }
}

function checkEnum(schema: JSONSchemaProps, value: unknown, path: string, causes: StatusCause[]): void {
  const options = schema.enum;
  if (!options || options.length === 0) return;
  const seen = sortedJson(value);
  if (options.some((o) => o === value || sortedJson(o) === seen)) return;
  causes.push(
    notSupported(
      path,
      value,
      options.map((o) => (typeof o === 'string' ? o : sortedJson(o))),
    ),
  );
}

function validateObject(schema: JSONSchemaProps, value: JsonObject, path: string, causes: StatusCause[]): void {
  const count = Object.keys(value).length;
  // kube-openapi stops at a property-count failure without looking inside.
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    causes.push(invalid(path, count, `${path} in body should have at least ${schema.minProperties} properties`));
    return;
  }
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    causes.push(tooMany(path, count, schema.maxProperties));
    return;
  }
  const properties = schema.properties ?? {};
  const extra = schema.additionalProperties;
  if (isObject(extra)) {
    for (const [k, v] of Object.entries(value)) {
      if (!(k in properties)) validateValue(extra, v, childPath(path, k), causes);
    }
  }
  for (const [k, prop] of Object.entries(properties)) {
    if (k in value) validateValue(prop, value[k], childPath(path, k), causes);
  }
  for (const k of schema.required ?? []) {
    if (!(k in value)) causes.push(required(childPath(path, k)));
  }
}
