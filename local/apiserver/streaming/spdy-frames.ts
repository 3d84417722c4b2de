/**
 * SPDY/3.1 framing (draft 3.1, section 2.2), no I/O: a reader that cuts a byte stream into
 * frames, and builders of the frames a server sends. Header blocks stay compressed here (see
 * `spdy-headers.ts`).
 */

/** The protocol version this codec speaks. */
const VERSION = 3;
/** Frame header: 8 bytes for control and data frames alike. */
const HEADER_BYTES = 8;
/** The largest payload a frame's 24-bit length can describe. */
export const MAX_FRAME_PAYLOAD_BYTES = 0xff_ff_ff;
/** FLAG_FIN on DATA, SYN_STREAM, SYN_REPLY and HEADERS frames. */
const FLAG_FIN = 0x01;
const STREAM_ID_MASK = 0x7f_ff_ff_ff;

/** Control frame types (draft 3.1, section 2.6). */
export const ControlType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

/** RST_STREAM status codes (draft 3.1, section 2.6.3). */
export const RstStatus = { ProtocolError: 1, InvalidStream: 2, RefusedStream: 3, Cancel: 5, InternalError: 6 } as const;

/** One frame as read. Control frames this server has no use for come as `ignored`. */
export type SpdyFrame =
  | { readonly type: 'data'; readonly streamId: number; readonly fin: boolean; readonly data: Buffer }
  | { readonly type: 'syn-stream'; readonly streamId: number; readonly fin: boolean; readonly headerBlock: Buffer }
  | { readonly type: 'headers'; readonly streamId: number; readonly fin: boolean; readonly headerBlock: Buffer }
  | { readonly type: 'rst-stream'; readonly streamId: number; readonly status: number }
  | { readonly type: 'ping'; readonly id: number }
  | { readonly type: 'goaway'; readonly lastGoodStreamId: number }
  | { readonly type: 'ignored'; readonly controlType: number };

/**
 * Cuts bytes into frames. It holds at most one partial frame (the 24-bit length bounds it to
 * {@link MAX_FRAME_PAYLOAD_BYTES} plus its header) and the rest of the last chunk pushed.
 */
export class SpdyFrameReader {
  #pending: Buffer = Buffer.alloc(0);

  /**
   * The whole frames `chunk` completes, in order.
   * @throws Error on a control frame of another SPDY version, which ends the session.
   */
  push(chunk: Buffer): SpdyFrame[] {
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const frames: SpdyFrame[] = [];
    while (buffer.length >= HEADER_BYTES) {
      const length = buffer.readUIntBE(5, 3);
      if (buffer.length < HEADER_BYTES + length) break;
      frames.push(decodeFrame(buffer.subarray(0, HEADER_BYTES + length)));
      buffer = buffer.subarray(HEADER_BYTES + length);
    }
    // A copy, so a partial frame does not pin the whole chunk it came in.
    this.#pending = Buffer.from(buffer);
    return frames;
  }
}

function decodeFrame(frame: Buffer): SpdyFrame {
  const flags = frame[4]!;
  const payload = frame.subarray(HEADER_BYTES);
  if ((frame[0]! & 0x80) === 0) {
    return {
      type: 'data',
      streamId: frame.readUInt32BE(0) & STREAM_ID_MASK,
      fin: (flags & FLAG_FIN) !== 0,
      data: payload,
    };
  }
  const version = frame.readUInt16BE(0) & 0x7f_ff;
  if (version !== VERSION) throw new Error(`SPDY version ${version} is not supported (only ${VERSION})`);
  const controlType = frame.readUInt16BE(2);
  const fin = (flags & FLAG_FIN) !== 0;
  const streamId = (): number => payload.readUInt32BE(0) & STREAM_ID_MASK;
  switch (controlType) {
    case ControlType.SynStream:
      // Stream id (4), associated stream id (4), priority and slot (2), then the header block.
      return { type: 'syn-stream', streamId: streamId(), fin, headerBlock: payload.subarray(10) };
    case ControlType.Headers:
      return { type: 'headers', streamId: streamId(), fin, headerBlock: payload.subarray(4) };
    case ControlType.RstStream:
      return { type: 'rst-stream', streamId: streamId(), status: payload.readUInt32BE(4) };
    case ControlType.Ping:
      return { type: 'ping', id: payload.readUInt32BE(0) };
    case ControlType.GoAway:
      return { type: 'goaway', lastGoodStreamId: streamId() };
    default:
      return { type: 'ignored', controlType };
  }
}

/** A DATA frame of `data` (at most {@link MAX_FRAME_PAYLOAD_BYTES}), FLAG_FIN set when `fin`. */
export function dataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  header.writeUInt32BE(data.length, 4);
  header[4] = fin ? FLAG_FIN : 0;
  return data.length === 0 ? header : Buffer.concat([header, data]);
}

/** A SYN_REPLY frame accepting `streamId`, with a compressed header block. */
export function synReplyFrame(streamId: number, headerBlock: Buffer): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(streamId & STREAM_ID_MASK);
  return controlFrame(ControlType.SynReply, Buffer.concat([id, headerBlock]));
}

/** A RST_STREAM frame ending `streamId` with `status` (see {@link RstStatus}). */
export function rstStreamFrame(streamId: number, status: number): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  payload.writeUInt32BE(status, 4);
  return controlFrame(ControlType.RstStream, payload);
}

/** A PING frame: the answer to a peer's PING carries the same id. */
export function pingFrame(id: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(id);
  return controlFrame(ControlType.Ping, payload);
}

/** A GOAWAY frame: no stream after `lastGoodStreamId` was or will be processed; status 0 is OK. */
export function goAwayFrame(lastGoodStreamId: number, status = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastGoodStreamId & STREAM_ID_MASK, 0);
  payload.writeUInt32BE(status, 4);
  return controlFrame(ControlType.GoAway, payload);
}

function controlFrame(type: number, payload: Buffer, flags = 0): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(0x80_00 | VERSION, 0);
  header.writeUInt16BE(type, 2);
  header.writeUInt32BE(payload.length, 4);
  header[4] = flags;
  return Buffer.concat([header, payload]);
}
