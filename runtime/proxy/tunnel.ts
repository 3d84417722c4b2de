import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { httpResponse } from './http-text.js';
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
 * as they are (no websocket framing here): `pipe()` gives backpressure both ways (a side that
 * cannot take more pauses the other). Either side closing or failing destroys the other; a
 * half-closed pipe is destroyed after `halfOpenTimeoutMs`, so nothing leaks half-open.
 */
export class Tunnel {
  /** Resolves when the client socket and the gateway socket (if any) are both closed. */
  readonly closed: Promise<void>;
  readonly #client: Socket;
  readonly #limits: TunnelLimits;
  #upstream: Socket | undefined;
  #piped = false;
  #halfOpenTimer: NodeJS.Timeout | undefined;
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
      this.#client.write(first);
      upstream.pipe(this.#client);
      this.#watchHalfOpen();
    });
    upstream.on('error', (error) => init.settle({ kind: 'failed', error }));
    upstream.once('close', (hadError) => {
      if (this.#piped) this.#release(this.#client, hadError);
      else init.settle({ kind: 'failed', error: new Error('the gateway closed before answering') });
    });
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
