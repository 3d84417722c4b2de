import { badRequest, unsupportedMediaType } from '../errors.js';
import { parseField, SCALARS, WELL_KNOWN, type FieldSpec, type MessageTable } from './field-table.js';
import { readFields, readPackedVarints, WireType, type WireField } from './wire-reader.js';

/** A JSON value as the decoder builds it. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** What a refusal names: the object's kind and the command that sends it as JSON instead. */
const INSTEAD =
  'send the object as JSON or YAML instead, e.g. "kubectl create ... --dry-run=client -o yaml | kubectl apply -f -"';

/**
 * Decodes protobuf messages to the JSON objects the JSON API would have received, by the field
 * tables of {@link MessageTable}: camelCase names, maps as objects, `Time` as an RFC 3339
 * string, `Quantity` as its string, `IntOrString` as a number or a string, bytes as base64.
 */
export class MessageDecoder {
  readonly #messages = new Map<string, Map<number, FieldSpec>>();

  /** @throws TypeError when the tables name a message twice or a field type no table holds. */
  constructor(tables: readonly MessageTable[]) {
    for (const table of tables) {
      for (const [name, fields] of Object.entries(table)) {
        if (this.#messages.has(name)) throw new TypeError(`field tables: message ${name} is defined twice`);
        const specs = new Map(Object.entries(fields).map(([n, notation]) => [Number(n), parseField(notation)]));
        this.#messages.set(name, specs);
      }
    }
    for (const [name, specs] of this.#messages) {
      for (const spec of specs.values()) {
        if (!SCALARS.has(spec.type) && !WELL_KNOWN.has(spec.type) && !this.#messages.has(spec.type))
          throw new TypeError(
            `field tables: ${name}.${spec.name || spec.type} has type ${spec.type}, which no table holds`,
          );
      }
    }
  }

  /**
   * `bytes` as the JSON object of `message`; `kind` names the object in refusals.
   * @throws ApiError 415 for a field number the tables do not know, 400 for malformed bytes.
   */
  decode(message: string, bytes: Buffer, kind: string): JsonObject {
    const target: JsonObject = {};
    this.#decodeInto(target, message, bytes, kind);
    return target;
  }

  #decodeInto(target: JsonObject, message: string, bytes: Buffer, kind: string): void {
    const specs = this.#messages.get(message)!;
    for (const field of readFields(bytes)) {
      const spec = specs.get(field.number);
      if (!spec) throw unknownField(kind, message, field.number);
      if (spec.inline) this.#decodeInto(target, spec.type, lengthDelimited(field, message), kind);
      else if (spec.map) this.#addEntry(target, spec, field, { message, kind });
      else if (spec.repeated) addRepeated(target, spec.name, this.#repeatedValues(spec, field, { message, kind }));
      else this.#setSingle(target, spec, field, { message, kind });
    }
  }

  #setSingle(target: JsonObject, spec: FieldSpec, field: WireField, at: Where): void {
    const value = this.#value(spec.type, field, at);
    // Go leaves a non-pointer zero out of JSON (omitempty); gogo protobuf writes it anyway.
    if (SCALARS.has(spec.type) && !spec.pointer && isZero(value)) delete target[spec.name];
    else target[spec.name] = value;
  }

  #repeatedValues(spec: FieldSpec, field: WireField, at: Where): Json[] {
    const packable = spec.type === 'int32' || spec.type === 'int64' || spec.type === 'bool';
    if (packable && field.wireType === WireType.lengthDelimited)
      return readPackedVarints(field.value as Buffer).map((v) => scalar(spec.type, v));
    return [this.#value(spec.type, field, at)];
  }

  #addEntry(target: JsonObject, spec: FieldSpec, field: WireField, at: Where): void {
    let key = '';
    let value: Json = zeroOf(spec.type);
    for (const part of readFields(lengthDelimited(field, at.message))) {
      if (part.number === 1) key = lengthDelimited(part, at.message).toString('utf8');
      else if (part.number === 2) value = this.#value(spec.type, part, at);
      else throw unknownField(at.kind, `${at.message}.${spec.name} entry`, part.number);
    }
    const map = (target[spec.name] ??= {}) as JsonObject;
    map[key] = value;
  }

  #value(type: string, field: WireField, at: Where): Json {
    if (SCALARS.has(type)) {
      const expected = type === 'string' || type === 'bytes' ? WireType.lengthDelimited : WireType.varint;
      if (field.wireType !== expected) throw wrongWireType(at.message, field);
      return scalar(type, field.value);
    }
    const bytes = lengthDelimited(field, at.message);
    if (WELL_KNOWN.has(type)) return wellKnown(type, bytes, at.kind);
    return this.decode(type, bytes, at.kind);
  }
}

/** The message a field is read in and the object kind it belongs to, for refusals. */
interface Where {
  readonly message: string;
  readonly kind: string;
}

function addRepeated(target: JsonObject, name: string, values: Json[]): void {
  const list = (target[name] ??= []) as Json[];
  list.push(...values);
}

function scalar(type: string, value: bigint | Buffer): Json {
  switch (type) {
    case 'string':
      return (value as Buffer).toString('utf8');
    case 'bytes':
      return (value as Buffer).toString('base64');
    case 'bool':
      return value !== 0n;
    case 'int32':
      return Number(BigInt.asIntN(32, value as bigint));
    default:
      return Number(value);
  }
}

/** `Time`, `Quantity`, `IntOrString` and `FieldsV1` in their JSON forms. */
function wellKnown(type: string, bytes: Buffer, kind: string): Json {
  const parts = new Map<number, WireField>();
  const numbers = WELL_KNOWN_FIELDS[type]!;
  for (const field of readFields(bytes)) {
    if (!numbers.includes(field.number)) throw unknownField(kind, type, field.number);
    parts.set(field.number, field);
  }
  const varint = (n: number): bigint => (parts.get(n)?.value as bigint | undefined) ?? 0n;
  const text = (n: number): string => lengthDelimited(parts.get(n), type).toString('utf8');
  switch (type) {
    case 'Time':
      // A zero metav1.Time is written as an empty message and is `null` in JSON.
      return parts.size === 0 ? null : rfc3339(Number(varint(1)));
    case 'Quantity':
      return text(1) || '0';
    case 'IntOrString':
      return varint(1) === 1n ? text(3) : Number(BigInt.asIntN(32, varint(2)));
    default:
      return parseFields(lengthDelimited(parts.get(1), type));
  }
}

/** The field numbers of the well-known messages (meta/v1 Time and FieldsV1, resource.Quantity, intstr). */
const WELL_KNOWN_FIELDS: Readonly<Record<string, readonly number[]>> = {
  Time: [1, 2],
  Quantity: [1],
  IntOrString: [1, 2, 3],
  FieldsV1: [1],
};

/** Seconds since the epoch as metav1.Time's JSON: RFC 3339 to the second, in UTC. */
function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseFields(raw: Buffer): Json {
  try {
    return JSON.parse(raw.toString('utf8')) as Json;
  } catch (error) {
    throw badRequest(`the protobuf body holds managed fields that are not JSON: ${(error as Error).message}`);
  }
}

function lengthDelimited(field: WireField | undefined, message: string): Buffer {
  if (!field) return Buffer.alloc(0);
  if (field.wireType !== WireType.lengthDelimited) throw wrongWireType(message, field);
  return field.value as Buffer;
}

function isZero(value: Json): boolean {
  return value === '' || value === 0 || value === false;
}

function zeroOf(type: string): Json {
  if (type === 'Time') return null;
  if (type === 'Quantity') return '0';
  if (type === 'bool') return false;
  return type === 'int32' || type === 'int64' ? 0 : '';
}

function unknownField(kind: string, message: string, number: number): Error {
  return unsupportedMediaType(
    `the local API server cannot decode field ${number} of the protobuf message ${message} in a ${kind}: ${INSTEAD}`,
  );
}

function wrongWireType(message: string, field: WireField): Error {
  return badRequest(
    `the protobuf body holds field ${field.number} of ${message} with the wrong wire type ${field.wireType}`,
  );
}
