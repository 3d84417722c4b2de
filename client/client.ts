import { EventEmitter } from 'node:events';
import { WebSocket, type RawData } from 'ws';
import { MessageQueue } from './message-queue.js';
import {
  backoffDelay,
  closeAction,
  immediateDelay,
  parseFrame,
  type ReconnectPolicy,
  type ServerMessage,
} from './policy.js';

/** Options of {@link ImringClient}. Validated at construction; a bad one throws naming it. */
export interface ClientOptions {
  /** The proxy's (or a gateway's) ws URL, e.g. `ws://127.0.0.1:10080/ws`. */
  url: string;
  userID: string;
  platform: string;
  /** Sent as the `token` query parameter; a function is asked before every attempt. */
  token: string | (() => Promise<string>);
  /**
   * Backoff in ms: `baseMs` 500, `maxMs` 30 000, `jitter` 0.2 (±20 %), `immediateMaxMs` 100 (4001/4002), `resetAfterMs`
   * 5 000 (open this long resets the backoff).
   */
  reconnect?: Partial<ReconnectPolicy>;
  /** Largest frame accepted from the server, in bytes. Default 1 MiB (larger: close 1009). */
  maxFrameBytes?: number;
  /** Messages one `messages()` iterator may hold unread. Default 10 000 (past it the iterator throws). */
  maxQueuedMessages?: number;
  /** Bound on the opening handshake, in ms. Default 10 000. */
  handshakeTimeoutMs?: number;
  /** How long `close()` waits for the close handshake before dropping the socket, in ms. Default 2 000. */
  closeTimeoutMs?: number;
  /** Randomness in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Timer functions (injected by tests). Default the global ones. */
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?(handle: unknown): void;
}

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

/** Defaults of {@link ClientOptions}. */
export const CLIENT_DEFAULTS = {
  reconnect: { baseMs: 500, maxMs: 30_000, jitter: 0.2, immediateMaxMs: 100, resetAfterMs: 5_000 },
  maxFrameBytes: 1024 * 1024,
  maxQueuedMessages: 10_000,
  handshakeTimeoutMs: 10_000,
  closeTimeoutMs: 2_000,
} as const;

interface Resolved {
  readonly url: URL;
  readonly userID: string;
  readonly platform: string;
  readonly token: () => Promise<string>;
  readonly policy: ReconnectPolicy;
  readonly maxFrameBytes: number;
  readonly maxQueuedMessages: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly random: () => number;
  readonly setTimer: (callback: () => void, ms: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
}

/**
 * An imring client (DESIGN.md section 6): holds one websocket through the proxy and keeps it
 * up. Events: 'open'; 'message' `{msgID, payload}`; 'close' {@link ClientCloseEvent};
 * 'error' (emitted only while someone listens: a reconnecting client must not crash its
 * process on a network error).
 */
export class ImringClient extends EventEmitter {
  readonly #options: Resolved;
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

/**
 * Validates every option at once and fills in the defaults.
 * @throws {TypeError | RangeError} naming the first bad option.
 */
export function resolveClientOptions(options: ClientOptions): Resolved {
  const url = checkedUrl(options.url);
  for (const name of ['userID', 'platform'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '')
      throw new TypeError(`${name} must be a non-empty string`);
  }
  const token = options.token;
  if (typeof token !== 'function' && (typeof token !== 'string' || token === ''))
    throw new TypeError('token must be a non-empty string or a function returning one');
  const policy = checkedPolicy(options.reconnect);
  const limits = { ...CLIENT_DEFAULTS, ...definedOnly(options) };
  for (const name of ['maxFrameBytes', 'maxQueuedMessages', 'handshakeTimeoutMs', 'closeTimeoutMs'] as const)
    positive(name, limits[name]);
  return {
    url,
    userID: options.userID,
    platform: options.platform,
    token: typeof token === 'string' ? () => Promise.resolve(token) : token,
    policy,
    maxFrameBytes: limits.maxFrameBytes,
    maxQueuedMessages: limits.maxQueuedMessages,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    closeTimeoutMs: limits.closeTimeoutMs,
    random: options.random ?? Math.random,
    setTimer: options.setTimeout ?? ((callback: () => void, ms: number) => setTimeout(callback, ms)),
    clearTimer: options.clearTimeout
      ? (handle: unknown) => options.clearTimeout?.(handle)
      : (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
  };
}

function checkedUrl(value: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch (error) {
    throw new TypeError(`url must be a ws:// or wss:// URL, got ${String(value)}`, { cause: error });
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new TypeError(`url must be a ws:// or wss:// URL, got ${String(value)}`);
  return url;
}

function checkedPolicy(reconnect: Partial<ReconnectPolicy> | undefined): ReconnectPolicy {
  const policy = { ...CLIENT_DEFAULTS.reconnect, ...definedOnly(reconnect ?? {}) };
  for (const name of ['baseMs', 'maxMs', 'immediateMaxMs', 'resetAfterMs'] as const)
    nonNegative(`reconnect.${name}`, policy[name]);
  if (policy.maxMs < policy.baseMs)
    throw new RangeError(`reconnect.maxMs (${policy.maxMs}) must be at least reconnect.baseMs (${policy.baseMs})`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1))
    throw new RangeError(`reconnect.jitter must be from 0 to 1, got ${policy.jitter}`);
  return policy;
}

function nonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${name} must be a number of ms, got ${String(value)}`);
  if (value < 0) throw new RangeError(`${name} must not be negative, got ${value}`);
}

function positive(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < 1) throw new RangeError(`${name} must be at least 1, got ${value}`);
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
