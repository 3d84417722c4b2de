/**
 * The apiserver's decoding steps for custom resources, on a private copy: drop non-nullable
 * nulls that have no default (structuraldefaulting.PruneNonNullableNullsWithoutDefaults), apply
 * defaults (structuraldefaulting.Default), then prune fields the schema does not specify
 * (structuralpruning.Prune), recording their paths for strict field validation.
 * Callers bound the object's depth first (see `exceedsDepth`), so the recursion here is bounded.
 */

import type { JSONSchemaProps } from '../types.js';

/** A JSON object (not null, not an array). */
export type JsonObject = Record<string, unknown>;

/** apiVersion/kind/metadata: never pruned at the root or inside an embedded resource. */
export const META_FIELDS: ReadonlySet<string> = new Set(['apiVersion', 'kind', 'metadata']);

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `spec` + `replicas` → `spec.replicas`; the root path is `''`. */
export function childPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The schema of an object's field: its property, else the additionalProperties schema. */
export function fieldSchema(schema: JSONSchemaProps | undefined, key: string): JSONSchemaProps | undefined {
  if (!schema) return undefined;
  const prop = schema.properties?.[key];
  if (prop) return prop;
  const extra = schema.additionalProperties;
  if (extra === true) return {}; // a schema-less value: kept, but its own fields are pruned
  return isObject(extra) ? extra : undefined;
}

/** True when `value` nests objects/arrays deeper than `limit` levels (iterative: no stack risk). */
export function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** A deep copy of a JSON value (undefined and non-JSON values are dropped from objects). */
export function cloneJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => cloneJson(v) ?? null);
  if (!isObject(value)) return typeof value === 'function' ? undefined : value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    const copy = cloneJson(v);
    if (copy !== undefined) out[k] = copy;
  }
  return out;
}

/** Which keys of an object the passes leave alone: meta fields at the root or in embedded resources. */
function skipsMeta(schema: JSONSchemaProps | undefined, isRoot: boolean): boolean {
  return isRoot || schema?.['x-kubernetes-embedded-resource'] === true;
}

/** Deletes null fields whose schema is neither nullable nor defaulted. Mutates `value`. */
export function pruneNulls(value: unknown, schema: JSONSchemaProps | undefined, isRoot = false): void {
  if (Array.isArray(value)) {
    for (const item of value) pruneNulls(item, schema?.items);
    return;
  }
  if (!isObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (isRoot && META_FIELDS.has(k)) continue;
    const sub = fieldSchema(schema, k);
    if (v === null && sub && sub.nullable !== true && sub.default === undefined) delete value[k];
    else pruneNulls(v, sub);
  }
}

function isNonNullableNull(value: unknown, schema: JSONSchemaProps | undefined): schema is JSONSchemaProps {
  return value === null && schema !== undefined && schema.nullable !== true;
}

/**
 * Sets defaults of missing (or non-nullable null) fields, then recurses, so a defaulted
 * parent gets its children's defaults too. Mutates `value`.
 */
export function defaultInPlace(value: unknown, schema: JSONSchemaProps | undefined, isRoot = false): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    defaultItems(value, schema.items);
    return;
  }
  if (!isObject(value)) return;
  const keep = (k: string): boolean => !(isRoot && META_FIELDS.has(k));
  for (const [k, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.default !== undefined && keep(k) && (!(k in value) || isNonNullableNull(value[k], prop))) {
      value[k] = cloneJson(prop.default);
    }
  }
  for (const k of Object.keys(value).filter(keep)) {
    const sub = fieldSchema(schema, k);
    if (!schema.properties?.[k]) defaultNull(value, k, sub);
    defaultInPlace(value[k], sub);
  }
}

/** A non-nullable null map value takes the additionalProperties default. */
function defaultNull(value: JsonObject, key: string, schema: JSONSchemaProps | undefined): void {
  if (isNonNullableNull(value[key], schema) && schema.default !== undefined) value[key] = cloneJson(schema.default);
}

function defaultItems(items: unknown[], schema: JSONSchemaProps | undefined): void {
  for (let i = 0; i < items.length; i++) {
    if (isNonNullableNull(items[i], schema) && schema.default !== undefined) items[i] = cloneJson(schema.default);
    defaultInPlace(items[i], schema);
  }
}

/**
 * Removes fields the schema does not specify, below any `x-kubernetes-preserve-unknown-fields`
 * excepted, and returns their paths (`spec.foo`, `spec.ports[0].bar`) in document order.
 * Mutates `value`.
 */
export function pruneUnknown(value: unknown, schema: JSONSchemaProps | undefined, isRoot = false): string[] {
  const pruned: string[] = [];
  prune(value, schema, { path: '', isRoot, pruned });
  return pruned;
}

interface PruneAt {
  readonly path: string;
  readonly isRoot: boolean;
  readonly pruned: string[];
  /** Inside an array whose schema preserves unknown fields (the apiserver's skipPrune). */
  readonly preserved?: boolean;
}

function prune(value: unknown, schema: JSONSchemaProps | undefined, at: PruneAt): void {
  const preserve = at.preserved === true || schema?.['x-kubernetes-preserve-unknown-fields'] === true;
  if (Array.isArray(value)) {
    if (preserve && !schema?.items) return;
    value.forEach((item, i) =>
      prune(item, schema?.items, { ...at, path: `${at.path}[${i}]`, isRoot: false, preserved: preserve }),
    );
    return;
  }
  if (!isObject(value)) return;
  const skipMeta = skipsMeta(schema, at.isRoot);
  for (const [k, v] of Object.entries(value)) {
    if (skipMeta && META_FIELDS.has(k)) continue;
    const sub = fieldSchema(schema, k);
    const path = childPath(at.path, k);
    if (sub) prune(v, sub, { ...at, path, isRoot: false, preserved: false });
    else if (preserve) continue;
    else {
      delete value[k];
      at.pruned.push(path);
    }
  }
}
