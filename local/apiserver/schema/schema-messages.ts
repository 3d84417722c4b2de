/**
 * Field-error causes worded like k8s.io/apimachinery/pkg/util/validation/field (`ErrorBody`),
 * so kubectl prints the same `spec.x: Invalid value: …` lines as against a real API server.
 * Values are rendered the way Go's `fmt` renders decoded JSON (`%q` strings, `%v` numbers).
 */

import type { StatusCause } from '../errors.js';

/** `StatusCause.reason` values (field.ErrorType). */
export type FieldReason =
  | 'FieldValueInvalid'
  | 'FieldValueTypeInvalid'
  | 'FieldValueRequired'
  | 'FieldValueNotSupported'
  | 'FieldValueDuplicate'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueForbidden';

const TITLES: Record<FieldReason, string> = {
  FieldValueInvalid: 'Invalid value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueRequired: 'Required value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueForbidden: 'Forbidden',
};

/** Reasons whose body omits the bad value (field.ErrorBody). */
const VALUELESS = new Set<FieldReason>(['FieldValueRequired', 'FieldValueForbidden', 'FieldValueTooLong']);

/** One cause: `<title>[: <value>][: <detail>]`; the server prefixes `<field>: `. */
export function fieldCause(reason: FieldReason, field: string, detail: string, value?: unknown): StatusCause {
  let message = TITLES[reason];
  if (!VALUELESS.has(reason)) message += `: ${renderValue(value)}`;
  if (detail) message += `: ${detail}`;
  return { reason, message, field };
}

export function invalid(field: string, value: unknown, detail: string): StatusCause {
  return fieldCause('FieldValueInvalid', field, detail, value);
}

export function required(field: string, detail = ''): StatusCause {
  return fieldCause('FieldValueRequired', field, detail);
}

export function forbidden(field: string, detail: string): StatusCause {
  return fieldCause('FieldValueForbidden', field, detail);
}

/** field.NotSupported: `Unsupported value: "x": supported values: "a", "b"`. */
export function notSupported(field: string, value: unknown, supported: readonly string[]): StatusCause {
  const detail = supported.length ? `supported values: ${supported.map(goQuote).join(', ')}` : '';
  return fieldCause('FieldValueNotSupported', field, detail, value);
}

/** field.TooLong as of Kubernetes 1.31+: `Too long: may not be more than 5 bytes`. */
export function tooLong(field: string, max: number): StatusCause {
  return fieldCause('FieldValueTooLong', field, `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}`);
}

/** field.TooMany: `Too many: 4: must have at most 3 items`. */
export function tooMany(field: string, actual: number, max: number): StatusCause {
  return fieldCause('FieldValueTooMany', field, `must have at most ${max} ${max === 1 ? 'item' : 'items'}`, actual);
}

/** Renders a bad value like field.ErrorBody: `%q` strings, `%v` scalars, JSON (sorted keys) otherwise. */
export function renderValue(value: unknown): string {
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number') return goNumber(value);
  if (typeof value === 'boolean') return String(value);
  return sortedJson(value);
}

/** Go's strconv.Quote for the characters JSON can carry. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += quoteChar(ch);
  return `${out}"`;
}

const ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

function quoteChar(ch: string): string {
  const escaped = ESCAPES[ch];
  if (escaped) return escaped;
  const code = ch.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd'; // a lone surrogate is invalid UTF-8 to Go
  return ch;
}

/**
 * Go's `%v` for a decoded JSON number: integers as digits, floats in shortest form with an
 * exponent below 1e-4 or from 1e21 (fmt's `%v` threshold), written `1e-05`, `1e+21`.
 */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';
  if (n === 0) return '0';
  const [mantissa = '', exp = '0'] = n.toExponential().split('e');
  const e = Number(exp);
  if (e >= -4 && e < 21) return String(n);
  const sign = e < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(e)).padStart(2, '0')}`;
}

/** JSON with object keys sorted, as Go's encoding/json writes maps. */
export function sortedJson(value: unknown): string {
  return JSON.stringify(sortKeys(value, 0)) ?? 'null';
}

function sortKeys(value: unknown, depth: number): unknown {
  if (depth > 100 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => sortKeys(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k], depth + 1);
  return out;
}
