/**
 * CRD schema checks the apiserver makes before serving a version: structural invariants
 * (apiextensions-apiserver pkg/apiserver/schema/validation.go) and the JSONSchemaProps rules of
 * pkg/apis/apiextensions/validation that a stand-in needs (types, patterns, list types,
 * uniqueItems, additionalProperties). Paths use `properties[spec]` as those validators do.
 */

import type { StatusCause } from '../errors.js';
import { forbidden, invalid, notSupported, required } from './schema-messages.js';
import { isObject, type JsonObject } from './schema-prune.js';
import { compilePattern } from './schema-validate.js';

/** Levels of the schema tree; the messages for a missing type differ by level. */
type Level = 'root' | 'item' | 'field';

/** Deepest schema nesting checked (levels); deeper schemas are refused, not walked. */
const MAX_SCHEMA_DEPTH = 100;

const TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];
const LIST_TYPES = ['atomic', 'set', 'map'];

interface At {
  readonly path: string;
  readonly level: Level;
  readonly depth: number;
  readonly causes: StatusCause[];
}

/** Causes for a schema the apiserver would not accept, `path` being where it sits in the CRD. */
export function checkSchema(schema: unknown, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!isObject(schema)) {
    causes.push(required(path, 'schemas are required'));
    return causes;
  }
  checkNode(schema, { path, level: 'root', depth: 0, causes });
  return causes;
}

function checkNode(s: JsonObject, at: At): void {
  if (at.depth > MAX_SCHEMA_DEPTH) {
    at.causes.push(forbidden(at.path, `must not be nested more than ${MAX_SCHEMA_DEPTH} levels deep`));
    return;
  }
  checkType(s, at);
  checkExtensions(s, at);
  checkListType(s, at);
  checkValueRules(s, at);
  checkChildren(s, at);
}

function checkType(s: JsonObject, at: At): void {
  const { type } = s;
  const typePath = `${at.path}.type`;
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (type !== undefined && (typeof type !== 'string' || !TYPES.includes(type))) {
    at.causes.push(notSupported(typePath, type, TYPES));
  } else if (s['x-kubernetes-embedded-resource'] === true && type !== 'object') {
    const detail = 'must be object if x-kubernetes-embedded-resource is true';
    at.causes.push(type === undefined ? required(typePath, detail) : invalid(typePath, type, detail));
  } else if (type === undefined && !intOrString && !preserve) {
    const where = { root: 'at the root', item: 'for specified array items', field: 'for specified object fields' }[
      at.level
    ];
    at.causes.push(required(typePath, `must not be empty ${where}`));
  } else if (at.level === 'root' && type !== undefined && type !== 'object') {
    at.causes.push(invalid(typePath, type, 'must be object at the root'));
  }
  if (type === 'array' && s.items === undefined) at.causes.push(required(`${at.path}.items`, 'must be specified'));
}

function checkExtensions(s: JsonObject, at: At): void {
  if (s['x-kubernetes-int-or-string'] !== true) return;
  for (const ext of ['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource']) {
    if (s[ext] === true)
      at.causes.push(invalid(`${at.path}.${ext}`, true, 'must be false if x-kubernetes-int-or-string is true'));
  }
}

function checkListType(s: JsonObject, at: At): void {
  const listType = s['x-kubernetes-list-type'];
  const keys = s['x-kubernetes-list-map-keys'];
  const typePath = `${at.path}.type`;
  if (listType !== undefined && (typeof listType !== 'string' || !LIST_TYPES.includes(listType))) {
    at.causes.push(notSupported(`${at.path}.x-kubernetes-list-type`, listType, LIST_TYPES));
  }
  if (listType !== undefined && s.type !== 'array') {
    const detail = 'must be array if x-kubernetes-list-type is specified';
    at.causes.push(s.type === undefined ? required(typePath, detail) : invalid(typePath, s.type, detail));
  }
  const keyList = Array.isArray(keys) ? keys : [];
  if (listType === 'map' && keyList.length === 0) {
    at.causes.push(
      required(`${at.path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'),
    );
  }
  if (keyList.length > 0 && listType !== 'map') {
    at.causes.push(
      invalid(
        `${at.path}.x-kubernetes-list-type`,
        listType ?? '',
        'must be map if x-kubernetes-list-map-keys is non-empty',
      ),
    );
  }
  if (listType === 'map' && isObject(s.items)) checkMapKeys(s.items, keyList, at);
}

function checkMapKeys(items: JsonObject, keys: readonly unknown[], at: At): void {
  if (items.type !== 'object') {
    at.causes.push(
      invalid(
        `${at.path}.items.type`,
        items.type ?? '',
        "must be object if parent array's x-kubernetes-list-type is map",
      ),
    );
    return;
  }
  const props = isObject(items.properties) ? items.properties : {};
  for (const key of keys) {
    const prop = typeof key === 'string' ? props[key] : undefined;
    if (!isObject(prop)) {
      at.causes.push(
        invalid(`${at.path}.x-kubernetes-list-map-keys`, keys, 'entries must all be names of item properties'),
      );
    } else if (prop.type === 'array' || prop.type === 'object') {
      const detail = "must be a scalar type if parent array's x-kubernetes-list-type is map";
      at.causes.push(invalid(`${at.path}.items.properties[${String(key)}].type`, prop.type, detail));
    }
  }
}

function checkValueRules(s: JsonObject, at: At): void {
  if (typeof s.pattern === 'string') {
    const compiled = compilePattern(s.pattern);
    if (compiled instanceof SyntaxError) {
      at.causes.push(
        invalid(`${at.path}.pattern`, s.pattern, `must be a valid regular expression, but isn't: ${compiled.message}`),
      );
    }
  }
  if (s.uniqueItems === true) {
    at.causes.push(
      forbidden(
        `${at.path}.uniqueItems`,
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  }
  const extra = s.additionalProperties;
  if (extra === undefined) return;
  if (at.level === 'root') at.causes.push(forbidden(`${at.path}.additionalProperties`, 'must not be used at the root'));
  if (isObject(s.properties) && Object.keys(s.properties).length > 0 && (extra === false || isObject(extra))) {
    at.causes.push(
      forbidden(`${at.path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'),
    );
  }
  if (s['x-kubernetes-embedded-resource'] === true) {
    at.causes.push(
      forbidden(`${at.path}.additionalProperties`, 'must not be used if x-kubernetes-embedded-resource is set'),
    );
  }
}

function checkChildren(s: JsonObject, at: At): void {
  const next = (path: string, level: Level): At => ({ ...at, path, level, depth: at.depth + 1 });
  if (isObject(s.items)) checkNode(s.items, next(`${at.path}.items`, 'item'));
  if (isObject(s.properties)) {
    for (const [k, v] of Object.entries(s.properties)) {
      if (isObject(v)) checkNode(v, next(`${at.path}.properties[${k}]`, 'field'));
      else at.causes.push(invalid(`${at.path}.properties[${k}]`, v, 'must be a schema object'));
    }
  }
  if (isObject(s.additionalProperties))
    checkNode(s.additionalProperties, next(`${at.path}.additionalProperties`, 'field'));
  if (at.level === 'root' && isObject(s.properties) && isObject(s.properties.metadata)) {
    checkRootMetadata(s.properties.metadata, `${at.path}.properties[metadata]`, at.causes);
  }
}

/** Root metadata may restrict only name and generateName (validateStructuralMetadataInvariants). */
function checkRootMetadata(meta: JsonObject, path: string, causes: StatusCause[]): void {
  if (meta.type !== 'object') causes.push(invalid(`${path}.type`, meta.type ?? '', 'must be object'));
  const props = isObject(meta.properties) ? Object.keys(meta.properties) : [];
  const allowed = new Set(['type', 'properties']);
  const extraProps = props.some((p) => p !== 'name' && p !== 'generateName');
  const extraKeys = Object.keys(meta).some((k) => !allowed.has(k));
  if (extraProps || extraKeys) {
    causes.push(
      forbidden(
        path,
        'must not specify anything other than name and generateName, but metadata is implicitly specified',
      ),
    );
  }
}
