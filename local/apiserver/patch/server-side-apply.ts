/**
 * Server-side apply, simplified: field ownership per manager in `metadata.managedFields`
 * (FieldsV1), apply merges the configuration into the live object (keyed lists per element,
 * set lists as sets, other lists atomic), drops what the manager stopped applying unless someone
 * else owns it, and refuses to change a field another manager owns unless forced (409).
 */

import { ApiError } from '../errors.js';
import {
  decodeFields,
  deletePath,
  ELEMENT,
  encodeFields,
  fieldValues,
  isWithin,
  pathOf,
  pathString,
  type FieldValues,
} from './patch-fields.js';
import { customShape, fieldShape, shapeOf, type FieldShape } from './patch-keys.js';
import { deepEqual, isObject, type JsonObject } from './patch-json.js';
import type { KubeObject, ManagedFieldsEntry } from '../types.js';

/** What the server knows about a write besides its body. */
export interface PatchContext {
  kind: string;
  group: string;
  /** True for kinds a CRD defines: no strategic merge, and every list is atomic for apply. */
  custom: boolean;
  /** `fieldManager`: required for apply; for other writes the server derives one. */
  manager?: string;
  /** `force=true`: an apply takes over the fields it conflicts on. */
  force?: boolean;
  /** The clock for managedFields times; defaults to the system clock. */
  now?: () => Date;
  /** `status` when writing through the status subresource. */
  subresource?: string;
}

/** metadata fields an applied configuration cannot set (the server owns them). */
const APPLY_IGNORED_META = ['uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink', 'deletionTimestamp'];

interface Owner {
  entry: ManagedFieldsEntry;
  fields: Set<string>;
}

/**
 * Applies a parsed apply configuration for `ctx.manager`: creates the object when `live` is
 * undefined. Returns a new object with updated `metadata.managedFields`; `live` is not
 * modified. Re-applying the same configuration returns an equal object (the entry's time
 * included). Throws 422 without a manager, 409 Conflict on fields other managers own.
 */
export function applyServerSideApply(live: KubeObject | undefined, applied: JsonObject, ctx: PatchContext): KubeObject {
  const manager = ctx.manager ?? '';
  if (manager === '') {
    throw new ApiError(
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      },
    );
  }
  const shape = ctx.custom ? customShape() : shapeOf(ctx.kind);
  const statusOnly = ctx.subresource === 'status';
  const config = scoped(withoutNulls(applied) as JsonObject, statusOnly);
  const base = (live ? structuredClone(live) : {}) as JsonObject;
  const liveValues = fieldValues(base, shape, statusOnly);
  const appliedValues = fieldValues(config, shape, statusOnly);
  const owners = ownersOf(live);
  const self = { manager, operation: 'Apply' as const, subresource: ctx.subresource };
  const conflicts = conflictsOf(
    owners.filter((o) => !isSame(o.entry, self)),
    liveValues,
    appliedValues,
  );
  if (conflicts.length > 0 && !ctx.force) throw conflictError(conflicts);
  for (const c of conflicts) c.owner.fields.delete(c.key);

  const result = mergeApplied(base, config, shape) as JsonObject;
  const mine = owners.find((o) => isSame(o.entry, self));
  removeDropped(result, mine, owners, appliedValues);
  const fields = new Set(appliedValues.keys());
  const unchanged =
    mine !== undefined &&
    sameSet(mine.fields, fields) &&
    deepEqual(withoutManagedFields(result), withoutManagedFields(base));
  const entry = newEntry(
    self,
    typeof applied.apiVersion === 'string' ? applied.apiVersion : (live?.apiVersion ?? ''),
    ctx,
  );
  if (unchanged) entry.time = mine.entry.time;
  const next = mine ? owners.map((o) => (o === mine ? { entry, fields } : o)) : [...owners, { entry, fields }];
  return withOwners(result, next, shape);
}

function newEntry(
  who: { manager: string; operation: 'Apply' | 'Update' },
  apiVersion: string,
  ctx: PatchContext,
): ManagedFieldsEntry {
  return {
    manager: who.manager,
    operation: who.operation,
    apiVersion,
    time: timeOf(ctx),
    fieldsType: 'FieldsV1',
    fieldsV1: {},
    ...(ctx.subresource ? { subresource: ctx.subresource } : {}),
  };
}

/**
 * Records a write that is not an apply (create, update, patch) by `manager`: it now owns every
 * field whose value it changed, other managers lose those fields, and fields the write removed
 * leave every set. Returns a copy of `after` with updated `metadata.managedFields`.
 *
 * Safe to call on every write: when `after` carries managedFields an apply by `manager` just
 * recorded, they are kept as they are. Non-empty managedFields a client sent that differ from
 * `before`'s replace them as the starting point (as the apiserver lets clients reset ownership).
 */
export function recordUpdate(
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  ctx: PatchContext,
): KubeObject {
  const shape = ctx.custom ? customShape() : shapeOf(ctx.kind);
  const owners = startingOwners(before, after, manager, ctx.subresource);
  if (owners === 'applied') return withOwners(structuredClone(after), ownersOf(after), shape);
  const changed = changedFields(before, after, shape, ctx.subresource === 'status');
  const self: Who = { manager, operation: 'Update', subresource: ctx.subresource };
  for (const o of owners) {
    if (!isSame(o.entry, self)) for (const k of changed) o.fields.delete(k);
  }
  if (changed.length === 0) return withOwners(structuredClone(after), owners, shape);
  const mine = owners.find((o) => isSame(o.entry, self));
  const entry = newEntry(self, after.apiVersion ?? '', ctx);
  const fields = new Set([...(mine?.fields ?? []), ...changed]);
  const next = mine ? owners.map((o) => (o === mine ? { entry, fields } : o)) : [...owners, { entry, fields }];
  return withOwners(structuredClone(after), next, shape);
}

/**
 * The ownership an update starts from: `before`'s, or the non-empty managedFields the client
 * sent instead; `'applied'` when those are what an apply by `manager` just recorded.
 */
function startingOwners(
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  subresource: string | undefined,
): Owner[] | 'applied' {
  const given = after.metadata?.managedFields ?? [];
  const previous = before?.metadata?.managedFields ?? [];
  if (given.length === 0 || deepEqual(given, previous)) return ownersOf(before);
  return isFreshApply(given, previous, { manager, operation: 'Apply', subresource }) ? 'applied' : ownersOf(after);
}

/** The field paths whose value `after` sets differently from `before` (new ones included). */
function changedFields(
  before: KubeObject | undefined,
  after: KubeObject,
  shape: FieldShape,
  statusOnly: boolean,
): string[] {
  const old = fieldValues(before ?? {}, shape, statusOnly);
  return [...fieldValues(after, shape, statusOnly)]
    .filter(([k, v]) => !old.has(k) || !deepEqual(old.get(k), v))
    .map(([k]) => k);
}

interface Who {
  manager: string;
  operation: 'Apply' | 'Update';
  subresource: string | undefined;
}

/** True when `given` holds an Apply entry for `who` that `previous` did not have as such. */
function isFreshApply(given: ManagedFieldsEntry[], previous: ManagedFieldsEntry[], who: Who): boolean {
  const now = given.find((e) => isSame(e, who));
  return (
    now !== undefined &&
    !deepEqual(
      now,
      previous.find((e) => isSame(e, who)),
    )
  );
}

function timeOf(ctx: PatchContext): string {
  // managedFields times have second precision (metav1.Time).
  return (ctx.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
}

function isSame(entry: ManagedFieldsEntry, who: Who): boolean {
  return (
    entry.manager === who.manager &&
    entry.operation === who.operation &&
    (entry.subresource ?? '') === (who.subresource ?? '')
  );
}

function ownersOf(obj: KubeObject | undefined): Owner[] {
  const entries = obj?.metadata?.managedFields ?? [];
  return entries.map((e) => ({ entry: structuredClone(e), fields: decodeFields(e.fieldsV1) }));
}

/** The object with its field sets written back, keeping only fields it still has; empty sets go. */
function withOwners(obj: KubeObject, owners: Owner[], shape: FieldShape): KubeObject {
  const present = new Set([...fieldValues(obj, shape, false).keys(), ...fieldValues(obj, shape, true).keys()]);
  const entries = owners
    .map((o) => ({ ...o.entry, fieldsV1: encodeFields([...o.fields].filter((k) => present.has(k))) }))
    .filter((e) => Object.keys(e.fieldsV1).length > 0);
  const metadata = { ...(obj.metadata ?? {}) };
  if (entries.length > 0) metadata.managedFields = entries;
  else delete metadata.managedFields;
  return { ...obj, metadata };
}

/** The applied configuration restricted to what this endpoint may change. */
function scoped(config: JsonObject, statusOnly: boolean): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'metadata' && isObject(v)) {
      const meta = { ...v };
      for (const f of APPLY_IGNORED_META) delete meta[f];
      out.metadata = statusOnly ? { name: meta.name, namespace: meta.namespace } : meta;
    } else if (k === 'apiVersion' || k === 'kind' || (k === 'status') === statusOnly) {
      out[k] = v;
    }
  }
  return out;
}

/** An applied `null` means "not set" (structured-merge-diff drops it). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => e !== null).map(withoutNulls);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, c]) => c !== null)
      .map(([k, c]) => [k, withoutNulls(c)]),
  );
}

function withoutManagedFields(obj: JsonObject): JsonObject {
  const metadata = isObject(obj.metadata) ? { ...obj.metadata, managedFields: undefined } : undefined;
  return { ...obj, metadata };
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((k) => b.has(k));
}

interface Conflict {
  owner: Owner;
  key: string;
}

function conflictsOf(others: Owner[], live: FieldValues, applied: FieldValues): Conflict[] {
  const out: Conflict[] = [];
  for (const [key, value] of applied) {
    if (value === ELEMENT || deepEqual(live.get(key), value)) continue;
    for (const owner of others) if (owner.fields.has(key)) out.push({ owner, key });
  }
  return out;
}

/** How structured-merge-diff names a manager in a conflict (printManager). */
function managerName(e: ManagedFieldsEntry): string {
  const sub = e.subresource ? ` with subresource "${e.subresource}"` : '';
  return `"${e.manager}"${sub}${e.operation === 'Update' ? ` using ${e.apiVersion}` : ''}`;
}

/** 409 as the apiserver words it (managedfields/internal/conflict.go NewConflictError). */
function conflictError(conflicts: Conflict[]): ApiError {
  const rows = conflicts
    .map((c) => ({ who: managerName(c.owner.entry), field: pathString(pathOf(c.key)) }))
    .sort((a, b) => (a.who === b.who ? a.field.localeCompare(b.field) : a.who.localeCompare(b.who)));
  const causes = rows.map((r) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${r.who}`,
    field: r.field,
  }));
  if (rows.length === 1) {
    return new ApiError(
      409,
      'Conflict',
      `Apply failed with 1 conflict: conflict with ${rows[0]!.who}: ${rows[0]!.field}`,
      { causes },
    );
  }
  const lines: string[] = [];
  for (const r of rows) {
    const header = `conflicts with ${r.who}:`;
    if (!lines.includes(header)) lines.push(header);
    lines.push(`- ${r.field}`);
  }
  return new ApiError(409, 'Conflict', `Apply failed with ${rows.length} conflicts: ${lines.join('\n')}`, { causes });
}

/** Removes fields this manager applied before but not now, unless another manager owns them. */
function removeDropped(result: JsonObject, mine: Owner | undefined, owners: Owner[], applied: FieldValues): void {
  if (!mine) return;
  const others = owners.filter((o) => o !== mine).flatMap((o) => [...o.fields].map(pathOf));
  const dropped = [...mine.fields].filter((k) => !applied.has(k)).map(pathOf);
  for (const path of dropped.sort((a, b) => b.length - a.length)) {
    if (!others.some((p) => isWithin(p, path))) deletePath(result, path);
  }
}

/** Merges an applied configuration into a live value (structured-merge-diff's merge, simplified). */
function mergeApplied(live: unknown, applied: unknown, shape: FieldShape | undefined): unknown {
  if (isObject(live) && isObject(applied) && !shape?.atomic) {
    const out: JsonObject = { ...live };
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(live[k], v, fieldShape(shape, k));
    return out;
  }
  if (Array.isArray(live) && Array.isArray(applied)) {
    const both: unknown[] = [...(live as unknown[]), ...(applied as unknown[])];
    if (shape?.set) return [...new Set(both)];
    const key = shape?.mergeKey;
    if (key !== undefined && both.every((e) => isObject(e) && e[key] !== undefined)) {
      return mergeKeyed(live as JsonObject[], applied as JsonObject[], shape!);
    }
  }
  return structuredClone(applied);
}

function mergeKeyed(live: JsonObject[], applied: JsonObject[], shape: FieldShape): JsonObject[] {
  const key = shape.mergeKey!;
  const out = [...live];
  const at = new Map(out.map((e, i) => [e[key], i]));
  for (const elem of applied) {
    const i = at.get(elem[key]);
    if (i === undefined) {
      at.set(elem[key], out.length);
      out.push(structuredClone(elem));
    } else {
      out[i] = mergeApplied(out[i], elem, shape) as JsonObject;
    }
  }
  return out;
}
