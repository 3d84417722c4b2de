/**
 * Checks the apiserver runs after schema validation: embedded resources need apiVersion and
 * kind (apiextensions objectmeta.Validate), and `x-kubernetes-list-type` set/map lists must
 * not repeat items or keys (listtype.ValidateListSetsAndMaps). Map keys use `[key]` paths here,
 * as those validators build them with field.Path.Key.
 */

import type { StatusCause } from '../errors.js';
import type { JSONSchemaProps } from '../types.js';
import { fieldCause, invalid, required, sortedJson } from './schema-messages.js';
import { childPath, isObject, META_FIELDS, type JsonObject } from './schema-prune.js';

/** Appends embedded-resource and list-type causes for `value` at `path` to `causes`. */
export function validateStructure(
  schema: JSONSchemaProps | undefined,
  value: unknown,
  path: string,
  causes: StatusCause[],
): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    validateList(schema, value, path, causes);
    const items = schema.items;
    value.forEach((item, i) => validateStructure(items, item, `${path}[${i}]`, causes));
    return;
  }
  if (!isObject(value)) return;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (embedded) causes.push(...embeddedCauses(value, path));
  const extra = isObject(schema.additionalProperties) ? schema.additionalProperties : undefined;
  for (const [k, v] of Object.entries(value)) {
    if ((embedded || path === '') && META_FIELDS.has(k)) continue;
    const prop = schema.properties?.[k];
    if (prop) validateStructure(prop, v, childPath(path, k), causes);
    else if (extra) validateStructure(extra, v, `${path}[${k}]`, causes);
  }
}

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, " +
  "and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function embeddedCauses(value: JsonObject, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const apiVersionPath = childPath(path, 'apiVersion');
  const kindPath = childPath(path, 'kind');
  const { apiVersion, kind } = value;
  if (apiVersion === undefined || apiVersion === '') causes.push(required(apiVersionPath));
  else if (typeof apiVersion !== 'string') causes.push(invalid(apiVersionPath, apiVersion, 'must be a string'));
  else if (apiVersion.split('/').length > 2) {
    causes.push(invalid(apiVersionPath, apiVersion, `unexpected GroupVersion string: ${apiVersion}`));
  }
  if (kind === undefined || kind === '') causes.push(required(kindPath));
  else if (typeof kind !== 'string') causes.push(invalid(kindPath, kind, 'must be a string'));
  else if (kind.length > 63 || !DNS1035.test(kind.toLowerCase())) {
    const detail = kind.length > 63 ? 'must be no more than 63 characters' : DNS1035_MESSAGE;
    causes.push(invalid(kindPath, kind, `may have mixed case, but should otherwise match: ${detail}`));
  }
  return causes;
}

function validateList(schema: JSONSchemaProps, value: unknown[], path: string, causes: StatusCause[]): void {
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    for (const i of repeatedIndices(value))
      causes.push(fieldCause('FieldValueDuplicate', `${path}[${i}]`, '', value[i]));
  } else if (listType === 'map') {
    validateListMap(schema['x-kubernetes-list-map-keys'] ?? [], value, path, causes);
  }
}

/** The index of each value's second appearance (once per repeated value), as validateListSet does. */
function repeatedIndices(value: readonly unknown[]): number[] {
  const seen = new Map<string, number>();
  const repeated: number[] = [];
  value.forEach((item, i) => {
    const key = `${typeof item}:${sortedJson(item)}`;
    const times = seen.get(key) ?? 0;
    seen.set(key, times + 1);
    if (times === 1) repeated.push(i);
  });
  return repeated;
}

function validateListMap(keyFields: readonly string[], value: unknown[], path: string, causes: StatusCause[]): void {
  const bad = value.findIndex((item) => item !== null && !isObject(item));
  if (bad >= 0) {
    causes.push(invalid(`${path}[${bad}]`, value[bad], 'must be an object for an array of list-type map'));
    return;
  }
  const keys = value.map((item) => {
    const key: JsonObject = {};
    for (const k of keyFields) if (isObject(item) && k in item) key[k] = item[k];
    return key;
  });
  for (const i of repeatedIndices(keys)) causes.push(fieldCause('FieldValueDuplicate', `${path}[${i}]`, '', keys[i]));
}
