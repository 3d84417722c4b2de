/**
 * Where the frames of a gateway's websocket end in the byte stream the proxy pipes to a client,
 * so the proxy can put a frame of its own between two of them when it hands its clients over
 * (RFC 6455 section 5.2 framing; the 101 response head comes first). Pure, chunk by chunk.
 */

/** The end of the HTTP response head. */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Follows a stream's frames: `feed()` each chunk in order. */
export class FrameBoundaries {
  /** The last bytes of the head seen so far (it may end across chunks), while in the head. */
  #headTail: Buffer | undefined = Buffer.alloc(0);
  /** The bytes of a frame header read so far (it may be split across chunks). */
  #header = Buffer.alloc(0);
  /** Bytes of the current frame's payload still to come. */
  #payloadLeft = 0;

  /** Whether the bytes fed so far end exactly at the end of the head or of a frame. */
  get atBoundary(): boolean {
    return this.#headTail === undefined && this.#header.length === 0 && this.#payloadLeft === 0;
  }

  /**
   * Takes the next chunk; returns the offsets in it just after which the head or a frame ends
   * (ascending; the chunk's length when it ends at a boundary).
   */
  feed(chunk: Buffer): number[] {
    const ends: number[] = [];
    let offset = 0;
    if (this.#headTail !== undefined) {
      offset = this.#skipHead(chunk);
      if (offset < 0) return ends;
      ends.push(offset);
    }
    while (offset < chunk.length) {
      if (this.#payloadLeft > 0) {
        const taken = Math.min(this.#payloadLeft, chunk.length - offset);
        this.#payloadLeft -= taken;
        offset += taken;
      } else {
        const consumed = this.#readHeader(chunk, offset);
        offset += consumed;
        if (this.#header.length > 0) continue;
      }
      if (this.atBoundary) ends.push(offset);
    }
    return ends;
  }

  /** Consumes head bytes; returns the offset just after the head in `chunk`, or -1 if it goes on. */
  #skipHead(chunk: Buffer): number {
    const joined = Buffer.concat([this.#headTail!, chunk]);
    const at = joined.indexOf(HEAD_END);
    if (at < 0) {
      this.#headTail = joined.subarray(Math.max(0, joined.length - (HEAD_END.length - 1)));
      return -1;
    }
    this.#headTail = undefined;
    return at + HEAD_END.length - (joined.length - chunk.length);
  }

  /** Reads header bytes from `chunk` at `offset`; once whole, starts the payload. Returns the bytes consumed. */
  #readHeader(chunk: Buffer, offset: number): number {
    const needed = headerLength(
      this.#header.length >= 2 ? this.#header : Buffer.concat([this.#header, chunk.subarray(offset, offset + 2)]),
    );
    const take = Math.min(needed - this.#header.length, chunk.length - offset);
    this.#header = Buffer.concat([this.#header, chunk.subarray(offset, offset + take)]);
    if (this.#header.length === needed && needed >= 2) {
      this.#payloadLeft = payloadLength(this.#header);
      this.#header = Buffer.alloc(0);
    }
    return take;
  }
}

/** The length of a frame header from its first bytes (2 while fewer than 2 are known). */
function headerLength(start: Buffer): number {
  if (start.length < 2) return 2;
  const len7 = start[1]! & 0x7f;
  const masked = (start[1]! & 0x80) !== 0;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
}

/** The payload length of a whole frame header. */
function payloadLength(header: Buffer): number {
  const len7 = header[1]! & 0x7f;
  if (len7 === 126) return header.readUInt16BE(2);
  if (len7 === 127) return Number(header.readBigUInt64BE(2));
  return len7;
}

/** An unmasked text frame (server to client) carrying `text`. */
export function textFrame(text: string): Buffer {
  return frame(0x1, Buffer.from(text, 'utf8'));
}

/** An unmasked close frame with `code` and `reason` (at most 123 bytes). */
export function closeFrame(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return frame(0x8, payload);
}

function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x80 | opcode, length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 127]), bigLength(length)]);
  return Buffer.concat([header, payload]);
}

function bigLength(length: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(length));
  return buffer;
}
