/**
 * MurmurHash3 x86 32-bit (Austin Appleby, public domain) over the UTF-8 bytes of a string,
 * as RING-SPEC.md section 1 requires.
 *
 * `Ring.owner()` is on every push and proxy request and must not allocate: ASCII keys are
 * hashed straight from their code units, others encoded into a module-level scratch buffer.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Scratch space for the UTF-8 bytes of the key; grows (rarely) to fit the longest key seen. */
let scratch = new Uint8Array(256);

/**
 * Hashes the UTF-8 encoding of `key` with `seed`. Lone surrogates encode as U+FFFD, exactly
 * as `TextEncoder` (and every WHATWG-conformant encoder) does.
 * @returns an unsigned 32-bit integer.
 */
export function murmur3(key: string, seed: number): number {
  const h = murmur3Ascii(key, seed);
  return h >= 0 ? h : murmur3Utf8(key, seed);
}

/**
 * The hash of an ASCII key read straight from its code units (one pass, no copy: the common
 * case of user IDs), or -1 at the first non-ASCII unit (a number, to keep the call monomorphic).
 */
function murmur3Ascii(key: string, seed: number): number {
  const length = key.length;
  let h = seed | 0;
  const blockEnd = length & ~3;
  for (let i = 0; i < blockEnd; i += 4) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return -1;
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  let tail = 0;
  for (let i = length - 1; i >= blockEnd; i--) {
    const c = key.charCodeAt(i);
    if (c > 0x7f) return -1;
    tail = (tail << 8) | c;
  }
  if (length & 3) h ^= scramble(tail);
  return finalize(h, length);
}

function murmur3Utf8(key: string, seed: number): number {
  // A UTF-16 code unit encodes to at most 3 UTF-8 bytes (a surrogate pair: 2 units, 4 bytes).
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3);
  return murmur3Bytes(scratch, encodeUtf8(key, scratch), seed);
}

/**
 * Hashes the first `length` bytes of `bytes` with `seed`.
 * @returns an unsigned 32-bit integer.
 */
export function murmur3Bytes(bytes: Uint8Array, length: number, seed: number): number {
  let h = seed | 0;
  const blockEnd = length & ~3;
  for (let i = 0; i < blockEnd; i += 4) {
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rest = length & 3;
  if (rest !== 0) {
    let tail = bytes[blockEnd]!;
    if (rest > 1) tail |= bytes[blockEnd + 1]! << 8;
    if (rest > 2) tail |= bytes[blockEnd + 2]! << 16;
    h ^= scramble(tail);
  }
  return finalize(h, length);
}

function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalize(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function scramble(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** Writes the UTF-8 encoding of `s` into `out` (which must hold 3 bytes per code unit). */
function encodeUtf8(s: string, out: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd; // a lone surrogate, as TextEncoder encodes it
    }
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}
