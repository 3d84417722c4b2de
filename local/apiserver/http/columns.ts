/**
 * What the built-in kinds' table printers share (kubernetes/pkg/printers): column definitions,
 * the Name and Age columns, untyped reads of an object's fields, and Go's HumanDuration.
 */
import type { KubeObject } from '../types.js';

/** One `meta/v1 TableColumnDefinition`. */
export interface ColumnDefinition {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** A column: its definition and how to compute its cell from an object at a given time. */
export interface TableColumn {
  readonly definition: ColumnDefinition;
  readonly cell: (object: KubeObject, now: Date) => unknown;
}

/** metav1.ObjectMeta's swagger text for `name` (the Name column's description everywhere). */
export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/** metav1.ObjectMeta's swagger text for `creationTimestamp` (the Age column's description). */
export const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** `Name` (format `name`): what every table starts with. */
export function nameColumn(): TableColumn {
  return column({ name: 'Name', format: 'name', description: NAME_DESCRIPTION }, (o) => o.metadata?.name ?? '');
}

/**
 * `Age`: the creation time as `HumanDuration` since now, `<unknown>` when unset (printers.go translateTimestampSince).
 */
export function ageColumn(): TableColumn {
  return column({ name: 'Age', description: AGE_DESCRIPTION }, (o, now) => since(o.metadata?.creationTimestamp, now));
}

/** `HumanDuration(now - timestamp)`, `<unknown>` for a missing or unparsable timestamp. */
export function since(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

/** How a column computes its cell. */
export type Cell = (o: KubeObject, now: Date) => unknown;

/** A column of `def` (a string column, priority 0, unless it says otherwise). */
export function column(def: Partial<ColumnDefinition> & { name: string }, cell: Cell): TableColumn {
  return {
    definition: { type: 'string', format: '', description: '', priority: 0, ...def },
    cell,
  };
}

/** A priority-1 column: kubectl shows it only with `-o wide`. */
export function wide(name: string, description: string, cell: Cell): TableColumn {
  return column({ name, description, priority: 1 }, cell);
}

// ---- untyped access -------------------------------------------------------------------------

/** The object `value` is, or an empty one. */
export function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** The array `value` is, or an empty one. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

/** The string `value` is, or `''`. */
export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The finite number `value` is, or 0. */
export function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** The value at `path` in `o`, undefined where a step is missing. */
export function at(o: unknown, ...path: string[]): unknown {
  let v = o;
  for (const key of path) v = rec(v)[key];
  return v;
}

/** `<none>` for an empty cell. */
export function orNone(s: string): string {
  return s === '' ? '<none>' : s;
}

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration: `<invalid>` below -1 s (clock skew),
 * `0s` for -1 s, then `119s`, `2m5s`, `9m59s`, `10m`, `179m`, `3h`, `7h59m`, `8h`, `47h`, `2d`,
 * `7d23h`, `8d`, `729d`, `2y`, `7y364d`, `8y`. Truncates toward zero like Go's integer division.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return withRest(minutes, 'm', seconds % 60, 's');
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return withRest(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return withRest(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return withRest(years, 'y', days % 365, 'd');
  return `${years}y`;
}

function withRest(value: number, unit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${value}${unit}` : `${value}${unit}${rest}${restUnit}`;
}
