import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { httpResponse } from './http-text.js';
import { FrameBoundaries } from './frame-boundaries.js';
import type { Rejection } from './routing.js';

/** Limits of one tunnel, in ms. */
export interface TunnelLimits {
  /** Bound on resolving + connecting + the gateway's first byte. */
  readonly connectTimeoutMs: number;
  /** How long one direction may stay open after the other ended. */
  readonly halfOpenTimeoutMs: number;
  /** How long a refused socket may linger after its response. */
  readonly rejectLingerMs: number;
}

/** Where and what to dial. */
export interface DialTarget {
  /** Resolves the gateway's address (the resolver's work; counted in the connect timeout). */
  readonly address: () => Promise<string>;
  readonly port: number;
  /** The forwarded request head, then the bytes that arrived after it. */
  readonly head: Buffer;
}

/** How a dial ended: piped (the gateway answered), failed (answer 502), or the client left. */
export type DialOutcome =
  { readonly kind: 'piped' } | { readonly kind: 'failed'; readonly error: Error } | { readonly kind: 'aborted' };

/**
 * One client upgrade from acceptance until both of its sockets are closed. Bytes are piped
 * as they are, with backpressure both ways (a side that cannot take more pauses the other); the
 * gateway's frame boundaries are followed only so that a handover can put a frame in between.
 * Either side closing or failing destroys the other; a half-closed pipe is destroyed after
 * `halfOpenTimeoutMs`, so nothing leaks half-open.
 */
export class Tunnel {
  /** Resolves when the client socket and the gateway socket (if any) are both closed. */
  readonly closed: Promise<void>;
  readonly #client: Socket;
  readonly #limits: TunnelLimits;
  #upstream: Socket | undefined;
  #piped = false;
  #halfOpenTimer: NodeJS.Timeout | undefined;
  readonly #frames = new FrameBoundaries();
  /** A frame to put in at the next frame boundary. */
  #pending: Buffer | undefined;
  /** The close frame the client gets once the gateway's side has ended ({@link finish}). */
  #closing: Buffer | undefined;
  #onClientClose: (() => void) | undefined;

  constructor(client: Duplex, limits: TunnelLimits) {
    this.#client = client as Socket;
    this.#limits = limits;
    const clientClosed = new Promise<void>((resolve) => {
      this.#client.once('close', (hadError) => {
        this.#onClientClose?.();
        this.#release(this.#upstream, hadError);
        resolve();
      });
    });
    this.closed = clientClosed.then(() => this.#upstreamClosed());
  }

  /** Whether the client socket is gone (then nothing more is sent to it). */
  get clientGone(): boolean {
    return this.#client.destroyed;
  }

  /** Bytes the gateway socket moved so far: written to it (upstream) and read from it (downstream). */
  get upstreamBytes(): { written: number; read: number } {
    return { written: this.#upstream?.bytesWritten ?? 0, read: this.#upstream?.bytesRead ?? 0 };
  }

  /** Answers the client with `rejection` instead of a pipe. */
  reject(rejection: Rejection): void {
    rejectSocket(this.#client, rejection, this.#limits.rejectLingerMs);
  }

  /** Dials the gateway, forwards the head, and pipes once the gateway's first byte arrives. */
  dial(target: DialTarget): Promise<DialOutcome> {
    return new Promise<DialOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: DialOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#onClientClose = undefined;
        if (outcome.kind !== 'piped') this.#upstream?.destroy();
        resolve(outcome);
      };
      const timer = setTimeout(
        () => settle({ kind: 'failed', error: new Error(`no answer within ${this.#limits.connectTimeoutMs} ms`) }),
        this.#limits.connectTimeoutMs,
      );
      this.#onClientClose = () => settle({ kind: 'aborted' });
      target.address().then(
        (address) => {
          if (!settled) this.#connect({ address, port: target.port, head: target.head, settle });
        },
        (error: unknown) => settle({ kind: 'failed', error: error as Error }),
      );
    });
  }

  /**
   * Puts `frame` (a whole websocket frame) into what the client receives, between two of the
   * gateway's frames: at once at a frame's end, else as soon as the current frame ends; the pipe
   * goes on. False when the tunnel does not pipe (yet, or any more).
   */
  insert(frame: Buffer): boolean {
    if (!this.#pipes()) return false;
    this.#pending = frame;
    if (this.#frames.atBoundary) this.#flushPending();
    return true;
  }

  /**
   * Ends the connection without losing a frame: the gateway's side is ended first (it stops
   * sending to this client and drops it from its table), what it sent until then reaches the
   * client, then `frame` (a close frame) if the stream is at a frame's end, then the client's
   * socket is ended. Bounded by `halfOpenTimeoutMs`. False when the tunnel does not pipe.
   */
  finish(frame: Buffer): boolean {
    if (!this.#pipes()) return false;
    this.#closing = frame;
    const upstream = this.#upstream!;
    // What the client still sends (its close reply) goes nowhere: its socket is read to its end.
    this.#client.unpipe(upstream);
    this.#client.resume();
    upstream.end();
    this.#armHalfOpen();
    return true;
  }

  /** Destroys both sockets now (proxy shutdown). */
  destroy(): void {
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  #connect(init: { address: string; port: number; head: Buffer; settle: (outcome: DialOutcome) => void }): void {
    const upstream = connect({ host: init.address, port: init.port, noDelay: true });
    this.#upstream = upstream;
    upstream.once('connect', () => {
      upstream.write(init.head);
      // Frames the client sends early wait in the gateway's socket, as they would without us.
      this.#client.pipe(upstream);
    });
    upstream.once('data', (first: Buffer) => {
      this.#piped = true;
      init.settle({ kind: 'piped' });
      this.#forwardDownstream(upstream, first);
      this.#watchHalfOpen();
    });
    upstream.on('error', (error) => init.settle({ kind: 'failed', error }));
    upstream.once('close', (hadError) => {
      if (this.#piped) this.#release(this.#client, hadError);
      else init.settle({ kind: 'failed', error: new Error('the gateway closed before answering') });
    });
  }

  /**
   * Gateway → client, with backpressure as pipe() gives it, following frame boundaries so that a
   * frame can go in between two frames; the gateway's FIN is forwarded (after a close frame when
   * the tunnel is finishing).
   */
  #forwardDownstream(upstream: Socket, first: Buffer): void {
    const client = this.#client;
    const forward = (chunk: Buffer): void => {
      let from = 0;
      for (const end of this.#frames.feed(chunk)) {
        if (this.#pending === undefined) break;
        client.write(chunk.subarray(from, end));
        from = end;
        this.#flushPending();
      }
      if (!client.write(from === 0 ? chunk : chunk.subarray(from))) upstream.pause();
    };
    client.on('drain', () => upstream.resume());
    upstream.on('data', forward);
    upstream.once('end', () => {
      if (this.#closing !== undefined && this.#frames.atBoundary && !client.destroyed) client.write(this.#closing);
      client.end();
    });
    forward(first);
  }

  #pipes(): boolean {
    return this.#piped && !this.#client.destroyed && this.#upstream !== undefined && !this.#upstream.destroyed;
  }

  #flushPending(): void {
    const frame = this.#pending;
    this.#pending = undefined;
    if (frame !== undefined && !this.#client.destroyed) this.#client.write(frame);
  }

  #watchHalfOpen(): void {
    // pipe() forwards a FIN; the timer bounds how long the other direction may go on.
    const arm = (): void => this.#armHalfOpen();
    this.#client.once('end', arm);
    this.#upstream?.once('end', arm);
    void this.closed.then(() => clearTimeout(this.#halfOpenTimer));
  }

  #armHalfOpen(): void {
    this.#halfOpenTimer ??= setTimeout(() => this.destroy(), this.#limits.halfOpenTimeoutMs);
  }

  /**
   * One side closed: the other goes too. After a clean close it is ended, so what was already
   * piped to it (a close frame) is flushed first; after an error, or before piping, destroyed.
   */
  #release(other: Socket | undefined, hadError: boolean): void {
    if (other === undefined || other.destroyed) return;
    if (hadError || !this.#piped) {
      other.destroy();
      return;
    }
    other.end();
    this.#armHalfOpen();
  }

  #upstreamClosed(): Promise<void> {
    const upstream = this.#upstream;
    if (upstream === undefined || upstream.closed) return Promise.resolve();
    return new Promise((resolve) => upstream.once('close', () => resolve()));
  }
}

/**
 * Writes `rejection` as a `Connection: close` response and ends the socket. The socket is
 * drained until the client closes (closing with unread input would send an RST, which can
 * discard the response before the client reads it; RFC 9112 section 9.6), at most `lingerMs`.
 */
export function rejectSocket(socket: Duplex, rejection: Rejection, lingerMs: number): void {
  if (socket.destroyed) return;
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.resume();
  socket.end(httpResponse(rejection.status, { body: rejection.reason, headers: rejection.headers }));
}
