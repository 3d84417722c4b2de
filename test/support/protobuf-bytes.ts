/**
 * Protobuf bytes built by hand, field by field, for the decoder's tests: what kubectl would
 * send, and the malformed and unknown input it must refuse.
 */

/** `value` as a base-128 varint; a negative number as its ten-byte two's complement. */
export function varint(value: number | bigint): Buffer {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

/** Field `number` holding a varint. */
export function int(number: number, value: number | bigint | boolean): Buffer {
  return Buffer.concat([varint(number * 8), varint(typeof value === 'boolean' ? Number(value) : value)]);
}

/** Field `number` holding length-delimited bytes: a string, bytes or the concatenated fields of a message. */
export function bytes(number: number, ...parts: (string | Buffer)[]): Buffer {
  const payload = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  return Buffer.concat([varint(number * 8 + 2), varint(payload.length), payload]);
}

/** A map entry of field `number`: key field 1, value field 2. */
export function entry(number: number, key: string, value: string | Buffer): Buffer {
  return bytes(number, bytes(1, key), typeof value === 'string' ? bytes(2, value) : value);
}

/** A Kubernetes protobuf body: `k8s\0`, then runtime.Unknown holding `raw` as `apiVersion` `kind`. */
export function k8sBody(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bytes(1, bytes(1, apiVersion), bytes(2, kind)),
    bytes(2, raw),
    bytes(3, ''),
    bytes(4, ''),
  ]);
}
