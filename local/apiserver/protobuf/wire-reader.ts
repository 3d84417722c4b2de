import { badRequest } from '../errors.js';

/** Protocol Buffers wire types (protobuf.dev/programming-guides/encoding); groups (3, 4) are not read. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

/** One field as the wire holds it: its number, wire type, and the varint, fixed bytes or length-delimited bytes. */
export interface WireField {
  readonly number: number;
  readonly wireType: number;
  /** A varint as a signed 64-bit integer; an 8- or 4-byte or length-delimited value as its bytes. */
  readonly value: bigint | Buffer;
}

/**
 * The fields of one protobuf message in wire order, without interpreting them.
 * @throws ApiError 400 when the message is truncated or holds a group or an unknown wire type.
 */
export function readFields(message: Buffer): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  while (at < message.length) {
    const [tag, afterTag] = readVarint(message, at);
    const number = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    if (number === 0) throw badRequest('the protobuf body holds a field numbered 0');
    const [value, next] = readValue(message, afterTag, wireType);
    fields.push({ number, wireType, value });
    at = next;
  }
  return fields;
}

/** The varints packed in one length-delimited value (a packed repeated scalar field). */
export function readPackedVarints(bytes: Buffer): bigint[] {
  const values: bigint[] = [];
  let at = 0;
  while (at < bytes.length) {
    const [value, next] = readVarint(bytes, at);
    values.push(value);
    at = next;
  }
  return values;
}

function readValue(message: Buffer, at: number, wireType: number): [bigint | Buffer, number] {
  switch (wireType) {
    case WireType.varint:
      return readVarint(message, at);
    case WireType.fixed64:
      return readBytes(message, at, 8);
    case WireType.fixed32:
      return readBytes(message, at, 4);
    case WireType.lengthDelimited: {
      const [length, start] = readVarint(message, at);
      return readBytes(message, start, Number(length));
    }
    default:
      throw badRequest(`the protobuf body holds a field of wire type ${wireType}, which Kubernetes objects do not use`);
  }
}

function readBytes(message: Buffer, at: number, length: number): [Buffer, number] {
  if (at + length > message.length) throw truncated();
  return [message.subarray(at, at + length), at + length];
}

/** A base-128 varint read as a signed 64-bit integer (protobuf encodes a negative int32 in ten bytes too). */
function readVarint(message: Buffer, from: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let at = from; at < message.length && shift < 70n; at++) {
    const byte = message[at]!;
    value |= BigInt(byte & 0x7f) << shift;
    shift += 7n;
    if (byte < 0x80) return [BigInt.asIntN(64, value), at + 1];
  }
  throw truncated();
}

function truncated(): Error {
  return badRequest('the protobuf body is truncated or malformed');
}
