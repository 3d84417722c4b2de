import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY_DICTIONARY } from './spdy-dictionary.js';

/**
 * SPDY/3 header blocks (draft 3.1, section 2.6.10): name/value pairs, each part a 4-byte
 * big-endian length and its bytes, behind a pair count; compressed by one zlib stream per
 * direction that lives as long as the session, flushed (Z_SYNC_FLUSH) after each block.
 */

/** Header names (lowercase, as SPDY requires) and their values (several joined by NUL in the block). */
export type SpdyHeaders = ReadonlyMap<string, readonly string[]>;

/** Largest decompressed header block read, in bytes: a port-forward stream's is under 100. */
export const MAX_HEADER_BLOCK_BYTES = 64 * 1024;

/** One session's header compression: a compressor for blocks sent, a decompressor for blocks read. */
export class SpdyHeaderCodec {
  readonly #deflate = new ZlibPass(createDeflate({ dictionary: SPDY_DICTIONARY }));
  readonly #inflate = new ZlibPass(createInflate({ dictionary: SPDY_DICTIONARY }));

  /** `headers` as a compressed block, in the order blocks are asked for. */
  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.#deflate.run(encodeHeaderBlock(headers));
  }

  /**
   * The headers of a compressed block; blocks must come in the order the peer sent them.
   * @throws Error on a corrupt block or one over {@link MAX_HEADER_BLOCK_BYTES}.
   */
  async decompress(block: Buffer): Promise<SpdyHeaders> {
    return decodeHeaderBlock(await this.#inflate.run(block));
  }

  /** Frees both zlib streams. */
  close(): void {
    this.#deflate.close();
    this.#inflate.close();
  }
}

/** An uncompressed header block of `headers`. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [uint32(headers.size)];
  for (const [name, values] of headers) {
    const value = Buffer.from(values.join('\0'), 'utf8');
    parts.push(uint32(Buffer.byteLength(name)), Buffer.from(name, 'utf8'), uint32(value.length), value);
  }
  return Buffer.concat(parts);
}

/** The headers of an uncompressed block. @throws Error when the block is cut short. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  if (block.length > MAX_HEADER_BLOCK_BYTES)
    throw new Error(`a SPDY header block is larger than ${MAX_HEADER_BLOCK_BYTES} bytes`);
  let offset = 0;
  const next = (): Buffer => {
    if (offset + 4 > block.length) throw new Error('a SPDY header block is cut short');
    const length = block.readUInt32BE(offset);
    if (offset + 4 + length > block.length) throw new Error('a SPDY header block is cut short');
    offset += 4 + length;
    return block.subarray(offset - length, offset);
  };
  if (block.length < 4) throw new Error('a SPDY header block is cut short');
  const count = block.readUInt32BE(0);
  offset = 4;
  const headers = new Map<string, string[]>();
  for (let i = 0; i < count; i++) {
    const name = next().toString('utf8').toLowerCase();
    const values = next().toString('utf8').split('\0');
    headers.set(name, [...(headers.get(name) ?? []), ...values]);
  }
  return headers;
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}

/** A zlib stream fed one block at a time, each block's output collected up to its sync flush. */
class ZlibPass {
  readonly #stream: Deflate | Inflate;
  #output: Buffer[] = [];
  #outputBytes = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #error: Error | undefined;

  constructor(stream: Deflate | Inflate) {
    this.#stream = stream;
    stream.on('data', (chunk: Buffer) => {
      this.#output.push(chunk);
      this.#outputBytes += chunk.length;
    });
    stream.on('error', (error) => (this.#error ??= error));
  }

  run(input: Buffer): Promise<Buffer> {
    const pass = (): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        if (this.#error) return reject(this.#error);
        this.#stream.write(input);
        this.#stream.flush(constants.Z_SYNC_FLUSH, () => {
          const output = Buffer.concat(this.#output, this.#outputBytes);
          this.#output = [];
          this.#outputBytes = 0;
          if (this.#error) reject(this.#error);
          else resolve(output);
        });
      });
    const result = this.#queue.then(pass, pass);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.#stream.destroy();
  }
}
