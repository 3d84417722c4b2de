/** Plain-JSON helpers the patch modules share: type guards, equality, bounded parsing. */

import { badRequest } from '../errors.js';

/** A JSON object as parsed: string keys, JSON values. */
export type JsonObject = Record<string, unknown>;

/**
 * Deepest nesting of arrays and objects accepted in a patch body or object, counted from 1 at
 * the top. Real API objects stay under ~30; the guard keeps recursion far from the stack limit.
 */
export const MAX_DEPTH = 256;

/** True for a JSON object (not null, not an array). */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of two JSON values (object key order ignored, array order kept). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** The nesting depth of a JSON value, walked without recursion; stops early past `limit`. */
export function depthOf(value: unknown, limit = MAX_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    if (max > limit) return max;
    for (const child of Object.values(v as JsonObject)) stack.push([child, d + 1]);
  }
  return max;
}

/** Throws 400 when a parsed body nests deeper than {@link MAX_DEPTH}. */
export function assertDepth(value: unknown): void {
  if (depthOf(value) > MAX_DEPTH) throw badRequest(`the patch exceeds the maximum nesting depth of ${MAX_DEPTH}`);
}

/** Parses a JSON request body, answering 400 for malformed or too deeply nested text. */
export function parseJsonBody(body: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    throw badRequest(`error decoding patch: ${(err as Error).message}`);
  }
  assertDepth(value);
  return value;
}

/**
 * A value as Go's `%v` prints a decoded JSON value (`map[b:1 name:x]`, `[a b]`), so messages
 * copied from apimachinery read the same here.
 */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (isObject(v)) {
    const parts = Object.keys(v)
      .sort()
      .map((k) => `${k}:${goString(v[k])}`);
    return `map[${parts.join(' ')}]`;
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** True for a strategic-merge directive key (`$patch`, `$retainKeys`, `$setElementOrder/x`, …). */
export function isDirectiveKey(k: string): boolean {
  return (
    k === '$patch' ||
    k === '$retainKeys' ||
    k.startsWith('$setElementOrder/') ||
    k.startsWith('$deleteFromPrimitiveList/')
  );
}

/** A deep copy of a JSON value with every directive key and delete-marked list element removed. */
export function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) {
    return v.filter((e) => !(isObject(e) && e.$patch === 'delete')).map(stripDirectives);
  }
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, child] of Object.entries(v)) {
    if (!isDirectiveKey(k)) out[k] = stripDirectives(child);
  }
  return out;
}
