/**
 * Field readers for `resolveSpec()`: each reads one field of a raw JSON object, records a
 * problem (field path and message, worded like the API server's where it has one) when the
 * value breaks the schema, and returns the value or its fallback. Pure.
 */

/** A decoded JSON object. */
export type Json = Record<string, unknown>;

/** Where readers record what they find. */
export interface Check {
  readonly problems: { field: string; message: string }[];
  readonly warnings: string[];
}

/** True for a JSON object (not null, not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON type of a value, as messages name it. */
function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Last path segment: the key a reader looks up in its object. */
function keyOf(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

export interface IntegerField {
  /** Field path, e.g. `spec.ring.tableSize`; its last segment is the key read. */
  readonly path: string;
  /** Inclusive bounds. */
  readonly min: number;
  readonly max: number;
  /** The default, returned when the field is absent or null, and after a problem. */
  readonly fallback: number;
}

/** Reads an integer within `[min, max]`. */
export function readInteger(object: Json, field: IntegerField, check: Check): number {
  const value = object[keyOf(field.path)];
  if (value === undefined || value === null) return field.fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    check.problems.push({ field: field.path, message: `must be of type integer, got ${typeName(value)}` });
    return field.fallback;
  }
  if (value < field.min || value > field.max) {
    check.problems.push({ field: field.path, message: `must be between ${field.min} and ${field.max}, got ${value}` });
    return field.fallback;
  }
  return value;
}

export interface StringField {
  readonly path: string;
  readonly maxLength?: number;
  readonly pattern?: RegExp;
  /** What the pattern means, for the message (`an OCI image reference`). */
  readonly what?: string;
  readonly fallback: string;
}

/** Reads a string of at most `maxLength` code points matching `pattern`. */
export function readString(object: Json, field: StringField, check: Check): string {
  const value = object[keyOf(field.path)];
  if (value === undefined || value === null) return field.fallback;
  const problem = (message: string): string => {
    check.problems.push({ field: field.path, message });
    return field.fallback;
  };
  if (typeof value !== 'string') return problem(`must be of type string, got ${typeName(value)}`);
  // The schema's maxLength counts code points (utf8.RuneCount), not UTF-16 units.
  if (field.maxLength !== undefined && [...value].length > field.maxLength)
    return problem(`may not be more than ${field.maxLength} characters`);
  if (field.pattern && !field.pattern.test(value)) {
    return problem(
      `must be ${field.what ?? `a string matching ${field.pattern.source}`}, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export interface MapField {
  readonly path: string;
  /** Converts one value, or says what is wrong with it. */
  readonly value: (value: unknown) => string | { problem: string };
}

/**
 * Reads a map of strings; problems name each bad entry as `<path>.<key>`. Null values are
 * dropped, as the API server prunes non-nullable nulls.
 */
export function readMap(raw: unknown, field: MapField, check: Check): Record<string, string> {
  if (!isObject(raw)) {
    check.problems.push({ field: field.path, message: 'must be an object' });
    return {};
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (value === null) continue;
    const converted = field.value(value);
    if (typeof converted === 'string') entries.push([key, converted]);
    else check.problems.push({ field: `${field.path}.${key}`, message: converted.problem });
  }
  // fromEntries defines own properties, so a `__proto__` key stays an ordinary key.
  return Object.fromEntries(entries);
}

/** Warns of each field of `object` not in `known`: the API server would have pruned it. */
export function unknownFields(object: Json, known: readonly string[], path: string, check: Check): void {
  for (const key of Object.keys(object)) {
    if (!known.includes(key)) check.warnings.push(`${path}.${key}: unknown field, ignored`);
  }
}
