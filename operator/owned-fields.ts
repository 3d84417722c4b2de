/**
 * Fields of an owned object the operator sets, as paths a user can read: which of them someone else changed, and a
 * hash of what the operator applied. Pure.
 */
import { createHash } from 'node:crypto';
import { isSubset } from './apply.js';

/** A short hash of `spec` (canonical JSON, SHA-256, 16 hex digits): equal specs give equal hashes. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, 16);
}

/**
 * The paths under `path` where `observed` does not hold what `desired` sets (as `isSubset` judges), e.g.
 * `spec.template.spec.containers[gateway].image`; list elements with a `name` are named by it.
 */
export function changedFields(desired: unknown, observed: unknown, path: string): string[] {
  if (isSubset(desired, observed)) return [];
  if (Array.isArray(desired) && Array.isArray(observed) && desired.length === observed.length) {
    return desired.flatMap((d, i) => changedFields(d, observed[i], `${path}[${elementKey(d, i)}]`));
  }
  if (isRecord(desired) && isRecord(observed)) {
    return Object.entries(desired).flatMap(([k, v]) =>
      v === undefined ? [] : changedFields(v, observed[k], `${path}.${k}`),
    );
  }
  return [path];
}

function elementKey(element: unknown, index: number): string {
  return isRecord(element) && typeof element.name === 'string' ? element.name : String(index);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
