/**
 * Field sets for server-side apply: the paths of an object in the FieldsV1 form of
 * `metadata.managedFields` (sigs.k8s.io/structured-merge-diff): `f:<field>` steps into a map,
 * `k:{"name":"x"}` selects a keyed list element, `v:"x"` a member of a set list. A path ending
 * at a keyed element stands for the element itself (`.` in FieldsV1).
 */

import { fieldShape, type FieldShape } from './patch-keys.js';
import { isObject, type JsonObject } from './patch-json.js';

/** A field path as FieldsV1 steps, e.g. `['f:spec', 'f:containers', 'k:{"name":"a"}', 'f:image']`. */
export type FieldPath = readonly string[];

/** Marks a keyed list element in a {@link FieldValues} map: elements are owned, not compared. */
export const ELEMENT: unique symbol = Symbol('element');

/** Every owned-able path of an object (as `JSON.stringify(path)`) with the value found there. */
export type FieldValues = Map<string, unknown>;

/** `metadata` fields the API server sets: never owned by a manager (fieldmanager's stripMeta). */
const SERVER_META = new Set([
  'name',
  'namespace',
  'creationTimestamp',
  'selfLink',
  'uid',
  'generation',
  'managedFields',
  'resourceVersion',
]);

/** The map key of a path in a set. */
export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

/** The path of a set key. */
export function pathOf(key: string): FieldPath {
  return JSON.parse(key) as string[];
}

/**
 * The paths of `obj` with their values: leaves (scalars, atomic lists, empty maps), keyed list
 * elements (value {@link ELEMENT}) and set members. `status` is in scope only for the status
 * subresource, and only it is; apiVersion, kind and server-set metadata are never included.
 */
export function fieldValues(obj: JsonObject, shape: FieldShape, statusOnly: boolean): FieldValues {
  const out: FieldValues = new Map();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || (k === 'status') !== statusOnly) continue;
    if (k === 'metadata' && isObject(v)) {
      const meta = Object.fromEntries(Object.entries(v).filter(([m]) => !SERVER_META.has(m)));
      if (Object.keys(meta).length > 0) walkMap(meta, fieldShape(shape, k), ['f:metadata'], out);
      continue;
    }
    walk(v, fieldShape(shape, k), [`f:${k}`], out);
  }
  return out;
}

function walkMap(obj: JsonObject, shape: FieldShape | undefined, prefix: FieldPath, out: FieldValues): void {
  for (const [k, v] of Object.entries(obj)) walk(v, fieldShape(shape, k), [...prefix, `f:${k}`], out);
}

function walk(value: unknown, shape: FieldShape | undefined, path: FieldPath, out: FieldValues): void {
  if (isObject(value) && Object.keys(value).length > 0 && !shape?.atomic) return walkMap(value, shape, path, out);
  if (Array.isArray(value) && shape?.mergeKey !== undefined && isKeyedList(value, shape.mergeKey)) {
    for (const elem of value as JsonObject[]) {
      const at = [...path, elementStep(shape.mergeKey, elem[shape.mergeKey])];
      out.set(pathKey(at), ELEMENT);
      walkMap(elem, shape, at, out);
    }
    return;
  }
  if (Array.isArray(value) && shape?.set && value.every((v) => !isObject(v) && !Array.isArray(v))) {
    for (const v of value) out.set(pathKey([...path, `v:${JSON.stringify(v)}`]), v);
    return;
  }
  out.set(pathKey(path), value);
}

function isKeyedList(list: unknown[], mergeKey: string): boolean {
  return list.every((e) => isObject(e) && e[mergeKey] !== undefined && e[mergeKey] !== null);
}

/** The FieldsV1 step of a keyed list element: `k:{"name":"a"}`. */
export function elementStep(mergeKey: string, value: unknown): string {
  return `k:${JSON.stringify({ [mergeKey]: value })}`;
}

/** Encodes a set of paths as a FieldsV1 object (`{}` leaves, `.` for a path that also has children). */
export function encodeFields(keys: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  for (const key of keys) {
    let node = root;
    for (const step of pathOf(key)) {
      if (!isObject(node[step])) node[step] = {};
      node = node[step] as JsonObject;
    }
    node['.'] = {};
  }
  return tidy(root);
}

/** Drops `.` where a node has no other children (a plain leaf is `{}`) and sorts keys. */
function tidy(node: JsonObject): JsonObject {
  const keys = Object.keys(node).filter((k) => k !== '.');
  if (keys.length === 0) return {};
  const out: JsonObject = Object.hasOwn(node, '.') ? { '.': {} } : {};
  for (const k of keys.sort()) out[k] = tidy(node[k] as JsonObject);
  return out;
}

/** Decodes a FieldsV1 object into set keys; inverse of {@link encodeFields}. */
export function decodeFields(fields: unknown, prefix: FieldPath = [], out = new Set<string>()): Set<string> {
  if (!isObject(fields)) return out;
  for (const [step, child] of Object.entries(fields)) {
    if (step === '.') {
      out.add(pathKey(prefix));
    } else if (isObject(child) && Object.keys(child).length > 0) {
      decodeFields(child, [...prefix, step], out);
    } else {
      out.add(pathKey([...prefix, step]));
    }
  }
  return out;
}

/** A path as structured-merge-diff prints it in conflicts: `.spec.containers[name="a"].image`. */
export function pathString(path: FieldPath): string {
  return path
    .map((step) => {
      const body = step.slice(2);
      if (step.startsWith('f:')) return `.${body}`;
      if (step.startsWith('v:')) return `[=${body}]`;
      if (step.startsWith('i:')) return `[${body}]`;
      const key = JSON.parse(body) as JsonObject;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}

/** True when `path` is `of` or lies below it. */
export function isWithin(path: FieldPath, of: FieldPath): boolean {
  return path.length >= of.length && of.every((s, i) => s === path[i]);
}

/** Removes the value at `path` from `obj` in place, then any map or list the removal emptied. */
export function deletePath(obj: JsonObject, path: FieldPath): void {
  const trail: { container: unknown; slot: string | number }[] = [];
  let node: unknown = obj;
  for (const step of path) {
    const slot = slotOf(node, step);
    if (slot === undefined) return;
    trail.push({ container: node, slot });
    node = (node as Record<string | number, unknown>)[slot];
  }
  for (let i = trail.length - 1; i >= 0; i--) {
    const { container, slot } = trail[i]!;
    if (Array.isArray(container)) container.splice(slot as number, 1);
    else delete (container as JsonObject)[slot as string];
    // Keep a container that still holds something, and never remove a top-level field.
    if (i <= 1 || !isEmpty(container)) return;
  }
}

function isEmpty(v: unknown): boolean {
  return Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0;
}

function slotOf(node: unknown, step: string): string | number | undefined {
  const body = step.slice(2);
  if (step.startsWith('f:')) return isObject(node) && Object.hasOwn(node, body) ? body : undefined;
  if (!Array.isArray(node)) return undefined;
  if (step.startsWith('v:')) {
    const at = node.findIndex((v) => JSON.stringify(v) === body);
    return at >= 0 ? at : undefined;
  }
  if (!step.startsWith('k:')) return undefined;
  const key = Object.entries(JSON.parse(body) as JsonObject);
  const at = node.findIndex((e) => isObject(e) && key.every(([k, v]) => e[k] === v));
  return at >= 0 ? at : undefined;
}
