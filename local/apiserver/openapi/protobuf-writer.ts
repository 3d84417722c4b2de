/**
 * A protobuf wire-format writer (https://protobuf.dev/programming-guides/encoding/) for the
 * messages this server encodes: varint, 64-bit and length-delimited fields.
 */

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;

/** Appends fields to a message; proto3 defaults (empty string, false, 0) are left out, as protobuf does. */
export class ProtobufWriter {
  readonly #parts: Uint8Array[] = [];
  #length = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  /** A string field (UTF-8); nothing for ''. */
  string(field: number, value: string | undefined): this {
    if (!value) return this;
    return this.#delimited(field, [Buffer.from(value, 'utf8')]);
  }

  /** One string field per value (a repeated string). */
  strings(field: number, values: readonly string[] | undefined): this {
    for (const value of values ?? []) this.#delimited(field, [Buffer.from(value, 'utf8')]);
    return this;
  }

  /** A bool field; nothing for false. */
  bool(field: number, value: boolean | undefined): this {
    if (!value) return this;
    return this.#tag(field, VARINT).#varint(1);
  }

  /** An int64 field of a non-negative safe integer; nothing for 0. */
  int64(field: number, value: number | undefined): this {
    if (!value) return this;
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`int64 field ${field}: ${value} is unsupported`);
    return this.#tag(field, VARINT).#varint(value);
  }

  /** A double field (little-endian IEEE 754); nothing for 0. */
  double(field: number, value: number | undefined): this {
    if (!value) return this;
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleLE(value);
    return this.#tag(field, FIXED64).#push(bytes);
  }

  /** An embedded message field, written even when empty (its presence can matter). */
  message(field: number, message: ProtobufWriter): this {
    return this.#delimited(field, [message.finish()]);
  }

  /** The message's bytes. */
  finish(): Uint8Array {
    return Buffer.concat(this.#parts, this.#length);
  }

  #delimited(field: number, parts: readonly Uint8Array[]): this {
    this.#tag(field, LENGTH_DELIMITED).#varint(parts.reduce((n, p) => n + p.length, 0));
    for (const part of parts) this.#push(part);
    return this;
  }

  #tag(field: number, wireType: number): this {
    return this.#varint(field * 8 + wireType);
  }

  #varint(value: number): this {
    const bytes: number[] = [];
    let rest = value;
    while (rest >= 0x80) {
      bytes.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    bytes.push(rest);
    return this.#push(Uint8Array.from(bytes));
  }

  #push(bytes: Uint8Array): this {
    this.#parts.push(bytes);
    this.#length += bytes.length;
    return this;
  }
}
