import { EventEmitter } from 'node:events';
import { WebSocket, type RawData } from 'ws';
import { MessageQueue } from './message-queue.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import { backoffDelay, closeAction, immediateDelay, parseFrame, type ServerMessage } from './policy.js';

/** Where the client is: never started (`closed`), live states, or `stopped` (close() or a refusal). */
export type ClientState = 'connecting' | 'open' | 'closed' | 'reconnecting' | 'stopped';

/** The payload of the 'close' event. */
export interface ClientCloseEvent {
  readonly code: number;
  readonly reason: string;
  readonly willReconnect: boolean;
  /** When reconnecting: the delay before the next attempt, in ms. */
  readonly delayMs?: number;
}

/**
 * An imring client (DESIGN.md section 6): holds one websocket through the proxy and keeps it
 * up. Events: 'open'; 'message' `{msgID, payload}`; 'close' {@link ClientCloseEvent};
 * 'error' (emitted only while someone listens: a reconnecting client must not crash its
 * process on a network error).
 */
export class ImringClient extends EventEmitter {
  readonly #options: ResolvedClientOptions;
  #state: ClientState = 'closed';
  #ws: WebSocket | undefined;
  #failures = 0;
  /** Bumped by close() and connect(): an attempt of an older generation does nothing. */
  #generation = 0;
  #retryTimer: unknown;
  #stableTimer: unknown;
  #closing: Promise<void> | undefined;
  readonly #queues = new Set<MessageQueue<ServerMessage>>();

  constructor(options: ClientOptions) {
    super();
    this.#options = resolveClientOptions(options);
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Starts connecting (again, after close() or a refusal). A no-op while live. */
  connect(): void {
    if (this.#state !== 'closed' && this.#state !== 'stopped') return;
    this.#closing = undefined;
    this.#failures = 0;
    void this.#attempt(++this.#generation);
  }

  /** Stops: closes the socket (code 1000), cancels reconnects, ends the iterators. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#generation += 1;
    this.#cancelTimers();
    this.#state = 'stopped';
    this.#endQueues();
    const ws = this.#ws;
    this.#closing = ws === undefined ? Promise.resolve() : this.#closeSocket(ws);
    return this.#closing;
  }

  /** The messages received from now on, until close() or a refusal ends the client. */
  messages(): AsyncIterableIterator<ServerMessage> {
    const queue: MessageQueue<ServerMessage> = new MessageQueue(this.#options.maxQueuedMessages, () =>
      this.#queues.delete(queue),
    );
    if (this.#state === 'stopped') queue.end();
    else this.#queues.add(queue);
    return queue;
  }

  async #attempt(generation: number): Promise<void> {
    this.#state = 'connecting';
    let token: string;
    try {
      token = await this.#options.token();
    } catch (error) {
      if (generation !== this.#generation) return;
      this.#emitError(new Error('while getting a token', { cause: error }));
      this.#afterClose({ code: 1006, reason: 'no token', httpStatus: undefined });
      return;
    }
    if (generation !== this.#generation) return;
    const url = new URL(this.#options.url);
    url.searchParams.set('userID', this.#options.userID);
    url.searchParams.set('platform', this.#options.platform);
    url.searchParams.set('token', token);
    const ws = new WebSocket(url, {
      maxPayload: this.#options.maxFrameBytes,
      handshakeTimeout: this.#options.handshakeTimeoutMs,
    });
    this.#ws = ws;
    this.#listen(ws);
  }

  #listen(ws: WebSocket): void {
    let httpStatus: number | undefined;
    ws.on('unexpected-response', (_request, response) => {
      // Listening to this event makes ending the handshake ours: remember why, then abort.
      httpStatus = response.statusCode;
      response.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.#state = 'open';
      this.#stableTimer = this.#options.setTimer(() => (this.#failures = 0), this.#options.policy.resetAfterMs);
      this.emit('open');
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onFrame(data);
    });
    ws.on('error', (error) => {
      if (this.#state === 'stopped') return;
      this.#emitError(
        httpStatus === undefined
          ? error
          : new Error(`the server refused the upgrade with HTTP ${httpStatus}`, { cause: error }),
      );
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      this.#cancelStableTimer();
      if (this.#state === 'stopped') {
        this.emit('close', { code, reason: reason.toString(), willReconnect: false } satisfies ClientCloseEvent);
        return;
      }
      this.#afterClose({
        code,
        reason: httpStatus === undefined ? reason.toString() : `HTTP ${httpStatus}`,
        httpStatus,
      });
    });
  }

  #onFrame(data: RawData): void {
    const parsed = parseFrame(rawText(data));
    if (parsed.kind === 'invalid') {
      this.#emitError(new Error(parsed.reason));
    } else if (parsed.kind === 'message') {
      this.emit('message', parsed.message);
      for (const queue of this.#queues) queue.push(parsed.message);
    }
  }

  /** Decides after a close: stop, or schedule the next attempt. */
  #afterClose(closed: { code: number; reason: string; httpStatus: number | undefined }): void {
    const action = closeAction(closed.code, closed.httpStatus);
    if (action.kind === 'stop') {
      this.#state = 'stopped';
      this.#closing = Promise.resolve();
      this.#endQueues();
      this.emit('close', { code: closed.code, reason: closed.reason, willReconnect: false } satisfies ClientCloseEvent);
      return;
    }
    const { policy, random } = this.#options;
    const delayMs = action.immediate ? immediateDelay(policy, random) : backoffDelay(this.#failures++, policy, random);
    this.#state = 'reconnecting';
    const generation = this.#generation;
    this.#retryTimer = this.#options.setTimer(() => {
      this.#retryTimer = undefined;
      if (generation === this.#generation) void this.#attempt(generation);
    }, delayMs);
    this.emit('close', {
      code: closed.code,
      reason: closed.reason,
      willReconnect: true,
      delayMs,
    } satisfies ClientCloseEvent);
  }

  #closeSocket(ws: WebSocket): Promise<void> {
    return new Promise<void>((resolve) => {
      ws.once('close', () => {
        this.#options.clearTimer(timer);
        resolve();
      });
      const timer = this.#options.setTimer(() => ws.terminate(), this.#options.closeTimeoutMs);
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closed');
    });
  }

  #cancelTimers(): void {
    if (this.#retryTimer !== undefined) this.#options.clearTimer(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#cancelStableTimer();
  }

  #cancelStableTimer(): void {
    if (this.#stableTimer !== undefined) this.#options.clearTimer(this.#stableTimer);
    this.#stableTimer = undefined;
  }

  #endQueues(): void {
    for (const queue of [...this.#queues]) queue.end();
  }

  #emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
