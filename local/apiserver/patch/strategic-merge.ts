/**
 * Strategic merge patch for the built-in kinds, after k8s.io/apimachinery/pkg/util/strategicpatch
 * (`StrategicMergeMapPatch`: MergeParallelList and IgnoreUnmatchedNulls on): maps merge key by
 * key, `null` deletes, lists with a merge key merge element by element, primitive `merge` lists
 * are sets, every other list is replaced. Directives: `$patch` (replace/delete on a map, and
 * replace/delete elements in a list), `$retainKeys`, `$deleteFromPrimitiveList/<f>`,
 * `$setElementOrder/<f>`.
 */

import { ApiError, badRequest } from '../errors.js';
import { fieldShape, shapeOf, type FieldShape } from './patch-keys.js';
import { goString, isObject, stripDirectives, type JsonObject } from './patch-json.js';
import type { KubeObject } from '../types.js';

const DELETE_LIST_PREFIX = '$deleteFromPrimitiveList/';
const ORDER_PREFIX = '$setElementOrder/';

/**
 * Applies a parsed strategic merge patch to `original` as the API server does for `kind`
 * (a built-in kind name: lists merge by the keys in ./patch-keys.ts). Returns a new object;
 * neither argument is modified. Throws ApiError: 400 for a patch that is not an object or a
 * malformed directive, 422 for lists of lists, 500 for the errors apimachinery reports without
 * a status (a merge-list element missing its merge key, an unknown `$patch`).
 */
export function applyStrategicMergePatch(original: KubeObject, patch: unknown, kind: string): KubeObject {
  if (!isObject(patch)) {
    throw badRequest(
      `json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`,
    );
  }
  return mergeMap(structuredClone(original), structuredClone(patch), shapeOf(kind));
}

/** A plain error of the patch code: apimachinery returns a bare error, which the server answers with 500. */
function patchError(message: string): ApiError {
  return new ApiError(500, 'InternalError', message);
}

function mergeMap(original: JsonObject, patch: JsonObject, shape: FieldShape | undefined): JsonObject {
  if (Object.hasOwn(patch, '$patch')) return directiveInMap(patch.$patch, patch);
  applyRetainKeys(original, patch);
  applyElementOrders(original, patch, shape);
  for (const [key, patchV] of Object.entries(patch)) {
    const isDeleteList = key.startsWith(DELETE_LIST_PREFIX);
    const k = isDeleteList ? key.slice(DELETE_LIST_PREFIX.length) : key;
    if (patchV === null) {
      delete original[k];
      continue;
    }
    if (!Object.hasOwn(original, k)) {
      // Deleting from a list that is not there leaves nothing to do.
      if (!isDeleteList) original[k] = stripDirectives(patchV);
      continue;
    }
    original[k] = mergeValue(original[k], patchV, fieldShape(shape, k), isDeleteList);
  }
  return original;
}

function mergeValue(orig: unknown, patchV: unknown, shape: FieldShape | undefined, isDeleteList: boolean): unknown {
  if (isObject(orig) && isObject(patchV)) return mergeMap(orig, patchV, shape);
  if (Array.isArray(orig) && Array.isArray(patchV)) {
    if (shape?.mergeKey === undefined && !shape?.set) return stripDirectives(patchV);
    return mergeSlice(orig, patchV, shape, isDeleteList);
  }
  return stripDirectives(patchV);
}

/** `$patch` in a map: `replace` takes the patch as the whole map, `delete` empties it. */
function directiveInMap(directive: unknown, patch: JsonObject): JsonObject {
  if (directive === 'replace') {
    delete patch.$patch;
    return stripDirectives(patch) as JsonObject;
  }
  if (directive === 'delete') return {};
  throw patchError(`Unknown patch type: ${goString(directive)} in map: ${goString(patch)}`);
}

/** `$retainKeys`: drop the original's keys not listed; every non-null patch key must be listed. */
function applyRetainKeys(original: JsonObject, patch: JsonObject): void {
  if (!Object.hasOwn(patch, '$retainKeys')) return;
  const keep = patch.$retainKeys;
  delete patch.$retainKeys;
  if (!Array.isArray(keep)) throw badRequest('invalid patch format of retainKeys');
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_LIST_PREFIX) || k.startsWith(ORDER_PREFIX)) continue;
    if (!keep.includes(k)) throw badRequest('invalid patch format of retainKeys');
  }
  for (const k of Object.keys(original)) {
    if (!keep.includes(k)) delete original[k];
  }
}

/** `$setElementOrder/<f>`: merge list `f` now, then order it as listed (mergePatchIntoOriginal). */
function applyElementOrders(original: JsonObject, patch: JsonObject, shape: FieldShape | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(ORDER_PREFIX)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw badRequest('invalid patch format of setElementOrder list');
    const field = key.slice(ORDER_PREFIX.length);
    const orig = original[field];
    const patchList = patch[field];
    if (orig === undefined && patchList === undefined) continue;
    if ((orig !== undefined && !Array.isArray(orig)) || (patchList !== undefined && !Array.isArray(patchList))) {
      throw badRequest('invalid patch format of setElementOrder list');
    }
    const childShape = fieldShape(shape, field);
    const merged = mergedForOrder(orig, patchList, childShape);
    const mergeKey = childShape?.mergeKey ?? '';
    const [inOrder, serverOnly] = partition(merged, order, mergeKey);
    const serverOrder = liveOrderSeenByApimachinery(orig ?? [], patchList ?? [], mergeKey);
    original[field] = normalizeElementOrder({ patch: inOrder, serverOnly, patchOrder: order, serverOrder }, mergeKey);
    delete patch[field];
  }
}

/**
 * The live order apimachinery compares against after merging a list with `$setElementOrder`.
 * Its `deleteMatchingEntries` removes `$patch: delete` elements in place and new elements are
 * then appended into the freed slots, so the "original" it orders by is the kept elements
 * followed by as many new elements as were deleted (strategicpatch test "add map and delete map
 * from merging list with conflict" depends on it).
 */
function liveOrderSeenByApimachinery(orig: unknown[], patchList: unknown[], mergeKey: string): unknown[] {
  if (mergeKey === '' || !patchList.every(isObject)) return orig;
  const elems = patchList;
  if (elems.some((e) => e.$patch === 'replace')) return orig;
  const deleted = new Set(elems.filter((e) => e.$patch === 'delete').map((e) => e[mergeKey]));
  if (deleted.size === 0) return orig;
  const kept = orig.filter((o) => !(isObject(o) && deleted.has(o[mergeKey])));
  const liveKeys = new Set(kept.map((o) => (isObject(o) ? o[mergeKey] : undefined)));
  const added = elems.filter((e) => e.$patch === undefined && !liveKeys.has(e[mergeKey]));
  return [...kept, ...added.slice(0, orig.length - kept.length)];
}

function mergedForOrder(
  orig: unknown[] | undefined,
  patchList: unknown[] | undefined,
  shape: FieldShape | undefined,
): unknown[] {
  if (patchList === undefined) return orig ?? [];
  if (orig === undefined) return stripDirectives(patchList) as unknown[];
  return mergeValue(orig, patchList, shape, false) as unknown[];
}

function mergeSlice(
  original: unknown[],
  patch: unknown[],
  shape: FieldShape | undefined,
  isDeleteList: boolean,
): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const elementKind = sliceElementKind(original, patch);
  const mergeKey = shape?.mergeKey ?? '';
  let merged: unknown[];
  let serverOrder = original;
  let patchOrder = patch;
  if (elementKind !== 'map') {
    if (isDeleteList) {
      const gone = new Set(patch);
      return original.filter((v) => !gone.has(v));
    }
    merged = dedupe([...original, ...patch]);
  } else {
    if (mergeKey === '') throw patchError('cannot merge lists without merge key for type map');
    [serverOrder, patchOrder] = withSpecialElements(original, patch, mergeKey);
    merged = withoutSpecialElements(serverOrder, patchOrder, shape);
  }
  const [inPatch, serverOnly] = partition(merged, patchOrder, mergeKey);
  return normalizeElementOrder({ patch: inPatch, serverOnly, patchOrder, serverOrder }, mergeKey);
}

/** 'map' or 'scalar' for the elements of both lists, which must agree (sliceElementType). */
function sliceElementKind(...lists: unknown[][]): 'map' | 'scalar' {
  const all = lists.flat();
  if (all.some((v) => Array.isArray(v))) {
    throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
      causes: [{ reason: 'UnexpectedServerResponse', message: 'lists of lists are not supported' }],
    });
  }
  const kinds = new Set(all.map((v) => (isObject(v) ? 'map' : typeof v)));
  if (kinds.size > 1) throw patchError(`list element types are not identical: ${goString(lists)}`);
  return kinds.has('map') ? 'map' : 'scalar';
}

function dedupe(values: unknown[]): unknown[] {
  return [...new Set(values)];
}

/** Handles `$patch` elements: `delete` removes by key, `replace` makes the rest the whole list. */
function withSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const plain: unknown[] = [];
  let replace = false;
  const deleted = new Set<unknown>();
  for (const v of patch) {
    const elem = v as JsonObject;
    if (!Object.hasOwn(elem, '$patch')) {
      plain.push(v);
    } else if (elem.$patch === 'delete') {
      if (!Object.hasOwn(elem, mergeKey)) throw noMergeKey(elem, mergeKey);
      deleted.add(elem[mergeKey]);
    } else if (elem.$patch === 'replace') {
      replace = true;
    } else if (elem.$patch === 'merge') {
      throw patchError('merging lists cannot yet be specified in the patch');
    } else {
      throw patchError(`Unknown patch type: ${goString(elem.$patch)} in map: ${goString(elem)}`);
    }
  }
  if (replace) return [stripDirectives(plain) as unknown[], []];
  return [original.filter((o) => !deleted.has(isObject(o) ? o[mergeKey] : undefined)), plain];
}

function withoutSpecialElements(original: unknown[], patch: unknown[], shape: FieldShape | undefined): unknown[] {
  const mergeKey = shape?.mergeKey ?? '';
  const out = [...original];
  const index = positions(out, mergeKey);
  for (const v of patch) {
    const elem = v as JsonObject;
    if (!Object.hasOwn(elem, mergeKey)) throw noMergeKey(elem, mergeKey);
    const at = index.get(elem[mergeKey]);
    if (at !== undefined && isObject(out[at])) {
      out[at] = mergeMap(out[at], elem, shape);
    } else {
      index.set(elem[mergeKey], out.length);
      out.push(stripDirectives(elem));
    }
  }
  return out;
}

function noMergeKey(elem: JsonObject, mergeKey: string): ApiError {
  return patchError(`map: ${goString(elem)} does not contain declared merge key: ${mergeKey}`);
}

function identity(item: unknown, mergeKey: string): unknown {
  if (mergeKey === '') return item;
  if (!isObject(item) || !Object.hasOwn(item, mergeKey)) throw noMergeKey(isObject(item) ? item : {}, mergeKey);
  return item[mergeKey];
}

/** First position of each identity in `list`: a map, so ordering stays linear on long lists. */
function positions(list: readonly unknown[], mergeKey: string): Map<unknown, number> {
  const at = new Map<unknown, number>();
  list.forEach((v, i) => {
    const id = mergeKey === '' ? v : isObject(v) ? v[mergeKey] : undefined;
    if (!at.has(id)) at.set(id, i);
  });
  return at;
}

/** Splits `items` into those present in `by` (matched by merge key, or by value) and the rest. */
function partition(items: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const index = positions(by, mergeKey);
  const present: unknown[] = [];
  const absent: unknown[] = [];
  for (const item of items) (index.has(identity(item, mergeKey)) ? present : absent).push(item);
  return [present, absent];
}

interface OrderInput {
  readonly patch: unknown[];
  readonly serverOnly: unknown[];
  readonly patchOrder: readonly unknown[];
  readonly serverOrder: readonly unknown[];
}

/**
 * Orders patch items as the patch (or `$setElementOrder`) lists them and server-only items as
 * the live list had them, then interleaves the two by live position (normalizeElementOrder and
 * mergeSortedSlice). A new element, absent from the live list, therefore goes first.
 */
function normalizeElementOrder(input: OrderInput, mergeKey: string): unknown[] {
  const left = sortByOrder(input.serverOnly, input.serverOrder, mergeKey);
  const right = sortByOrder(input.patch, input.patchOrder, mergeKey);
  const live = positions(input.serverOrder, mergeKey);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (j >= right.length) out.push(left[i++]);
    else if (i >= left.length) out.push(right[j++]);
    else {
      const li = live.get(identity(left[i], mergeKey));
      const ri = live.get(identity(right[j], mergeKey));
      out.push(li !== undefined && ri !== undefined && li < ri ? left[i++] : right[j++]);
    }
  }
  return out;
}

function sortByOrder(items: unknown[], order: readonly unknown[], mergeKey: string): unknown[] {
  const index = positions(order, mergeKey);
  const ranked = items.map((item, at) => ({ item, at, rank: index.get(identity(item, mergeKey)) }));
  const rankOf = (r: { at: number; rank: number | undefined }): number => r.rank ?? order.length + r.at;
  return ranked.sort((a, b) => rankOf(a) - rankOf(b)).map((r) => r.item);
}
