import { Duplex } from 'node:stream';
import {
  dataFrame,
  goAwayFrame,
  MAX_FRAME_PAYLOAD_BYTES,
  pingFrame,
  RstStatus,
  rstStreamFrame,
  SpdyFrameReader,
  synReplyFrame,
  type SpdyFrame,
} from './spdy-frames.js';
import { SpdyHeaderCodec, type SpdyHeaders } from './spdy-headers.js';

/** Options of {@link SpdySession}. */
export interface SpdySessionOptions {
  /** Told of each stream the peer opens, once it is accepted (its SYN_REPLY sent). */
  readonly onStream: (stream: SpdyStream) => void;
}

/** GOAWAY status of a session ended by a frame it could not read (draft 3.1, section 2.6.6). */
const GOAWAY_PROTOCOL_ERROR = 1;

/**
 * The server side of a SPDY/3.1 session over a byte stream (a TLS socket, or a websocket
 * carrying the bytes in binary messages): it accepts every stream the peer opens, answers
 * PINGs, and ends at the peer's GOAWAY. SPDY/3.1 flow control is not enforced in either
 * direction, as spdystream (client-go's SPDY) does not; backpressure is the transport's: a
 * stream whose reader lags pauses the whole session.
 */
export class SpdySession {
  readonly #transport: Duplex;
  readonly #options: SpdySessionOptions;
  readonly #reader = new SpdyFrameReader();
  readonly #codec = new SpdyHeaderCodec();
  readonly #streams = new Map<number, SpdyStream>();
  readonly #frames: SpdyFrame[] = [];
  readonly #lagging = new Set<SpdyStream>();
  #drainWaiters: (() => void)[] = [];
  #lastStreamId = 0;
  #busy = false;
  #closed: Promise<void>;

  constructor(transport: Duplex, options: SpdySessionOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#closed = new Promise((resolve) => transport.once('close', resolve));
    transport.on('data', (chunk: Buffer) => this.#receive(chunk));
    transport.on('drain', () => this.#drained());
    // A reset or failed transport ends the session like a clean close does.
    transport.on('error', () => transport.destroy());
    transport.once('close', () => this.#teardown());
  }

  /** Ends the session: GOAWAY, every stream reset, the transport closed. Idempotent. */
  close(): Promise<void> {
    if (!this.#transport.destroyed && this.#transport.writable) {
      this.#transport.end(goAwayFrame(this.#lastStreamId));
    }
    this.#teardown();
    return this.#closed;
  }

  /** Writes `frame`; `done` is called once the transport takes more (backpressure). */
  send(frame: Buffer, done?: () => void): void {
    if (this.#transport.destroyed || !this.#transport.writable) {
      done?.();
      return;
    }
    if (this.#transport.write(frame) || !done) done?.();
    else this.#drainWaiters.push(done);
  }

  /** Forgets `stream` (it ended or was reset). */
  forget(stream: SpdyStream): void {
    this.#streams.delete(stream.id);
    this.resumeFor(stream);
  }

  /** `stream` takes more data: reading resumes unless another stream still lags. */
  resumeFor(stream: SpdyStream): void {
    if (this.#lagging.delete(stream)) this.#updateFlow();
  }

  #receive(chunk: Buffer): void {
    try {
      this.#frames.push(...this.#reader.push(chunk));
    } catch {
      this.#fail();
      return;
    }
    void this.#process();
  }

  async #process(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      for (let frame = this.#frames.shift(); frame; frame = this.#frames.shift()) {
        if (frame.type === 'syn-stream') {
          this.#updateFlow();
          await this.#accept(frame.streamId, frame.headerBlock, frame.fin);
        } else if (frame.type === 'headers') {
          await this.#codec.decompress(frame.headerBlock);
          if (frame.fin) this.#streams.get(frame.streamId)?.receive(Buffer.alloc(0), true);
        } else this.#handle(frame);
      }
    } catch {
      this.#fail();
    } finally {
      this.#busy = false;
      this.#updateFlow();
    }
  }

  async #accept(streamId: number, headerBlock: Buffer, fin: boolean): Promise<void> {
    const headers = await this.#codec.decompress(headerBlock);
    if (this.#transport.destroyed) return;
    this.#lastStreamId = Math.max(this.#lastStreamId, streamId);
    this.send(synReplyFrame(streamId, await this.#codec.compress(new Map())));
    const stream = new SpdyStream(this, streamId, headers);
    this.#streams.set(streamId, stream);
    if (fin) stream.receive(Buffer.alloc(0), true);
    this.#options.onStream(stream);
  }

  #handle(frame: SpdyFrame): void {
    switch (frame.type) {
      case 'data': {
        const stream = this.#streams.get(frame.streamId);
        if (!stream) return this.send(rstStreamFrame(frame.streamId, RstStatus.InvalidStream));
        if (!stream.receive(frame.data, frame.fin)) {
          this.#lagging.add(stream);
          this.#updateFlow();
        }
        return;
      }
      case 'rst-stream':
        return this.#streams.get(frame.streamId)?.peerReset();
      case 'ping':
        return this.send(pingFrame(frame.id));
      case 'goaway':
        void this.close();
        return;
      default:
      // SETTINGS and WINDOW_UPDATE change nothing here (no flow control, see the class comment).
    }
  }

  #updateFlow(): void {
    if (this.#busy || this.#lagging.size > 0) this.#transport.pause();
    else this.#transport.resume();
  }

  #drained(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const done of waiters) done();
  }

  #fail(): void {
    this.#frames.length = 0;
    if (!this.#transport.destroyed && this.#transport.writable) {
      this.#transport.end(goAwayFrame(this.#lastStreamId, GOAWAY_PROTOCOL_ERROR));
    }
    this.#teardown();
  }

  #teardown(): void {
    for (const stream of [...this.#streams.values()]) stream.peerReset();
    this.#streams.clear();
    this.#codec.close();
    this.#drained();
    if (this.#transport.writableEnded && !this.#transport.destroyed) {
      // Ended by us: give the GOAWAY a moment to leave, then let the transport go.
      this.#transport.once('finish', () => this.#transport.destroy());
    } else this.#transport.destroy();
  }
}

/**
 * One stream of a {@link SpdySession}, as a duplex: what the peer sends is read, what is
 * written goes out in DATA frames, `end()` sends FLAG_FIN and {@link reset} a RST_STREAM.
 */
export class SpdyStream extends Duplex {
  readonly id: number;
  /** The headers of the peer's SYN_STREAM. */
  readonly headers: SpdyHeaders;
  readonly #session: SpdySession;
  #finSent = false;
  #finReceived = false;
  #reset = false;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.id = id;
    this.headers = headers;
  }

  /** The first value of header `name` (lowercase), if sent. */
  header(name: string): string | undefined {
    return this.headers.get(name)?.[0];
  }

  /** Ends the stream at once with RST_STREAM `status` (default CANCEL). */
  reset(status: number = RstStatus.Cancel): void {
    if (this.#reset) return;
    this.#reset = true;
    this.#session.send(rstStreamFrame(this.id, status));
    this.destroy();
  }

  /** Data from the peer; false when the reader lags (see {@link SpdySession.resumeFor}). @internal */
  receive(data: Buffer, fin: boolean): boolean {
    if (this.#finReceived || this.destroyed) return true;
    const more = data.length === 0 || this.push(data);
    if (fin) {
      this.#finReceived = true;
      this.push(null);
    }
    return more;
  }

  /** The peer reset the stream (or the session ended): no frame goes out for it any more. @internal */
  peerReset(): void {
    this.#reset = true;
    this.destroy();
  }

  override _read(): void {
    this.#session.resumeFor(this);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let offset = 0;
    while (chunk.length - offset > MAX_FRAME_PAYLOAD_BYTES) {
      this.#session.send(dataFrame(this.id, chunk.subarray(offset, offset + MAX_FRAME_PAYLOAD_BYTES), false));
      offset += MAX_FRAME_PAYLOAD_BYTES;
    }
    this.#session.send(dataFrame(this.id, chunk.subarray(offset), false), () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finSent = true;
    this.#session.send(dataFrame(this.id, Buffer.alloc(0), true), () => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#reset && !(this.#finSent && this.#finReceived)) {
      this.#reset = true;
      this.#session.send(rstStreamFrame(this.id, RstStatus.Cancel));
    }
    this.#session.forget(this);
    callback(error);
  }
}
