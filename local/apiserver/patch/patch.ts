/**
 * PATCH bodies as the Kubernetes API server applies them: JSON patch (RFC 6902), JSON merge
 * patch (RFC 7386), strategic merge patch (./strategic-merge.ts) and server-side apply
 * (./server-side-apply.ts), chosen by Content-Type. Pure: every function returns a new object.
 */

import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, unsupportedMediaType } from '../errors.js';
import { assertDepth, deepEqual, isObject, parseJsonBody, type JsonObject } from './patch-json.js';
import { applyServerSideApply, type PatchContext } from './server-side-apply.js';
import { applyStrategicMergePatch } from './strategic-merge.js';
import type { KubeObject } from '../types.js';

/** The four patch types, as `kubectl patch --type` names the first three. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export type { PatchContext } from './server-side-apply.js';
export { recordUpdate, applyServerSideApply } from './server-side-apply.js';
export { applyStrategicMergePatch } from './strategic-merge.js';

/** Most operations one JSON patch may hold (the apiserver's `maxJSONPatchOperations`). */
export const MAX_JSON_PATCH_OPERATIONS = 10_000;

/**
 * Most JSON nodes (values of any kind) the `copy` operations of one JSON patch may copy in
 * total, so a patch that copies a subtree into itself cannot double the document each time.
 */
export const MAX_COPIED_NODES = 1_000_000;

const MEDIA_TYPES: Readonly<Record<string, PatchType>> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
};

/** The 422 the apiserver answers when a JSON patch does not apply (NewGenericServerResponse). */
const JSON_PATCH_REJECTED = 'the server rejected our request due to an error in our request';

/** Maps a Content-Type header (parameters ignored) to a PatchType, or undefined: answer 415. */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const media = contentType?.split(';')[0]?.trim().toLowerCase();
  return media === undefined ? undefined : MEDIA_TYPES[media];
}

/**
 * Applies `body` (the raw request text) of `type` to `live`, which is undefined only when an
 * apply creates the object. Returns a new object and never modifies `live`. Throws ApiError:
 * 400 for a body that does not parse, 413 for more than {@link MAX_JSON_PATCH_OPERATIONS}
 * operations, 422 for a JSON patch that does not apply (failed `test`, missing path), 415 for
 * strategic merge on a custom resource, 409 for apply conflicts.
 */
export function patchObject(
  live: KubeObject | undefined,
  body: string,
  type: PatchType,
  ctx: PatchContext,
): KubeObject {
  if (type === 'apply') return applyServerSideApply(live, parseApplyBody(body), ctx);
  if (live === undefined) throw new TypeError(`patchObject: a ${type} patch needs the live object`);
  switch (type) {
    case 'json':
      return asObject(applyJsonPatch(live, parseJsonPatch(body)));
    case 'merge':
      return asObject(applyMergePatch(live, parseMergePatch(body)));
    case 'strategic':
      if (ctx.custom) {
        throw unsupportedMediaType(
          'the body of the request was in an unknown format - accepted media types include: ' +
            'application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        );
      }
      return applyStrategicMergePatch(live, parseJsonBody(body), ctx.kind);
  }
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` removes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** One RFC 6902 operation as parsed; fields are checked when it is applied. */
export interface JsonPatchOperation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/**
 * RFC 6902 JSON patch: add/remove/replace/move/copy/test, `-` for the end of an array, `~0`/`~1`
 * escapes. All or nothing: returns a patched copy, or throws 422 (reason Invalid, the
 * apiserver's generic message; the precise failure is the error's `cause`).
 */
export function applyJsonPatch(target: unknown, ops: readonly JsonPatchOperation[]): unknown {
  const doc: Doc = { root: structuredClone(target), copied: 0 };
  ops.forEach((op, i) => {
    try {
      applyOperation(doc, op);
    } catch (err) {
      if (!(err instanceof PatchFailure)) throw err;
      const rejected = new ApiError(422, 'Invalid', JSON_PATCH_REJECTED, {});
      rejected.cause = new Error(`operation ${i}: ${err.message}`);
      throw rejected;
    }
  });
  return doc.root;
}

/** A JSON patch operation that does not apply (evanphx/json-patch's wording). */
class PatchFailure extends Error {}

interface Doc {
  root: unknown;
  copied: number;
}

function applyOperation(doc: Doc, op: JsonPatchOperation): void {
  const path = pointer(op.path, 'path');
  switch (op.op) {
    case 'add':
      return add(doc, path, valueOf(op));
    case 'remove':
      remove(doc, path, 'remove');
      return;
    case 'replace':
      remove(doc, path, 'replace');
      return add(doc, path, valueOf(op));
    case 'move': {
      const from = pointer(op.from, 'from');
      if (path.length > from.length && from.every((t, i) => t === path[i])) {
        throw new PatchFailure('move operation does not apply: "from" is a prefix of "path"');
      }
      return add(doc, path, remove(doc, from, 'move'));
    }
    case 'copy':
      return add(doc, path, copyOf(doc, pointer(op.from, 'from')));
    case 'test':
      if (!deepEqual(get(doc.root, path), valueOf(op)))
        throw new PatchFailure(`testing value ${String(op.path)} failed: test failed`);
      return;
    default:
      throw new PatchFailure(`Unexpected kind: ${String(op.op)}`);
  }
}

function valueOf(op: JsonPatchOperation): unknown {
  if (!Object.hasOwn(op, 'value')) throw new PatchFailure(`${String(op.op)} operation, missing value`);
  return op.value;
}

/** RFC 6901 pointer tokens: `~1` becomes `/` before `~0` becomes `~`. */
function pointer(raw: unknown, field: string): string[] {
  if (typeof raw !== 'string') throw new PatchFailure(`operation missing "${field}" field`);
  if (raw === '') return [];
  if (!raw.startsWith('/')) throw new PatchFailure(`JSON pointer must be empty or start with a "/": ${raw}`);
  return raw
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function arrayIndex(token: string, length: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchFailure(`invalid array index: ${token}`);
  const i = Number(token);
  if (i > length) throw new PatchFailure(`array index out of bounds: ${token}`);
  return i;
}

/** The value at `path`, or undefined when any step is missing. */
function get(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const token of path) {
    if (Array.isArray(node)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) >= node.length) return undefined;
      node = node[Number(token)];
    } else if (isObject(node) && Object.hasOwn(node, token)) {
      node = node[token];
    } else {
      return undefined;
    }
  }
  return node;
}

function parentOf(doc: Doc, path: readonly string[], what: string): unknown {
  const parent = get(doc.root, path.slice(0, -1));
  if (!isObject(parent) && !Array.isArray(parent)) {
    throw new PatchFailure(`${what} operation does not apply: doc is missing path: "/${path.join('/')}"`);
  }
  return parent;
}

function add(doc: Doc, path: readonly string[], value: unknown): void {
  if (path.length === 0) {
    doc.root = value;
    return;
  }
  const parent = parentOf(doc, path, 'add');
  const last = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    parent.splice(last === '-' ? parent.length : arrayIndex(last, parent.length), 0, value);
  } else {
    (parent as JsonObject)[last] = value;
  }
}

/** Removes and returns the value at `path`, which must exist. */
function remove(doc: Doc, path: readonly string[], what: string): unknown {
  if (path.length === 0) throw new PatchFailure(`${what} operation does not apply: the whole document`);
  const parent = parentOf(doc, path, what);
  const last = path[path.length - 1]!;
  const missing = (): PatchFailure =>
    new PatchFailure(`${what} operation does not apply: doc is missing key: /${path.join('/')}`);
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent.length);
    if (i >= parent.length) throw missing();
    return parent.splice(i, 1)[0];
  }
  const obj = parent as JsonObject;
  if (!Object.hasOwn(obj, last)) throw missing();
  const value = obj[last];
  delete obj[last];
  return value;
}

function copyOf(doc: Doc, from: readonly string[]): unknown {
  const value = get(doc.root, from);
  if (value === undefined)
    throw new PatchFailure(`copy operation does not apply: doc is missing from path: /${from.join('/')}`);
  doc.copied += countNodes(value, MAX_COPIED_NODES - doc.copied);
  if (doc.copied > MAX_COPIED_NODES) throw new PatchFailure(`copies exceed the limit of ${MAX_COPIED_NODES} nodes`);
  return structuredClone(value);
}

/** Counts JSON nodes without recursion, stopping once past `limit`. */
function countNodes(value: unknown, limit: number): number {
  let n = 0;
  const stack = [value];
  while (stack.length > 0 && n <= limit) {
    const v = stack.pop();
    n++;
    if (typeof v === 'object' && v !== null) stack.push(...Object.values(v as JsonObject));
  }
  return n;
}

function parseJsonPatch(body: string): JsonPatchOperation[] {
  const ops = parseJsonBody(body);
  if (!Array.isArray(ops))
    throw badRequest(
      `json: cannot unmarshal ${typeof ops === 'object' && ops !== null ? 'object' : typeof ops} into Go value of type jsonpatch.Patch`,
    );
  if (!ops.every(isObject))
    throw badRequest('json: cannot unmarshal non-object into Go struct field of type jsonpatch.Operation');
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new ApiError(
      413,
      'RequestEntityTooLarge',
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  return ops;
}

function parseMergePatch(body: string): JsonObject {
  const patch = parseJsonBody(body);
  // evanphx/json-patch MergePatch refuses a patch that is not an object (ErrBadJSONPatch → 400).
  if (!isObject(patch)) throw badRequest('Invalid JSON Patch');
  return patch;
}

function parseApplyBody(body: string): JsonObject {
  let applied: unknown;
  try {
    applied = parseYaml(body, { maxAliasCount: 100, prettyErrors: false });
  } catch (err) {
    throw badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  assertDepth(applied);
  if (!isObject(applied)) throw badRequest('error decoding YAML: the apply configuration is not an object');
  return applied;
}

function asObject(value: unknown): KubeObject {
  if (!isObject(value)) throw badRequest('the patched document is not a JSON object');
  return value;
}
