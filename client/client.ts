import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { WebSocket, type RawData } from 'ws';
import { MessageQueue } from './message-queue.js';
import {
  CloseCodes,
  ConnectParams,
  MIGRATE_GRACEFUL,
  type MigrateFrame,
  type MigrateReason,
} from '../ring/contract.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import { backoffDelay, closeAction, immediateDelay, moveRetryDelay, parseFrame, type ServerMessage } from './policy.js';

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
 * The payload of the 'move' event, once per move when it ends. `graceful`: the new connection opened and the client
 * closed the old one with 1000 (or the gateway had already replaced it, 4003, for the new one). `forced`: the old one
 * closed before a new one opened (the gateway's 4001/4002 at the deadline, or it died); the client then reconnects.
 */
export interface ClientMoveEvent {
  readonly reason: MigrateReason;
  readonly outcome: 'graceful' | 'forced';
  /** How long both connections were open, in ms (0 when forced). */
  readonly overlapMs: number;
  /** Connection attempts of this move, the successful one included. */
  readonly attempts: number;
}

/** How a socket closed, as the close handlers pass it on. */
interface Closed {
  readonly code: number;
  readonly reason: string;
  readonly httpStatus: number | undefined;
}

/** A move under way: asked to move, the new connection not open yet (DESIGN.md section 5, graceful migration). */
interface Move {
  readonly reason: MigrateReason;
  /** When the gateway closes the old connection, on the `now()` clock. */
  readonly deadline: number;
  /** The connection asked to move; undefined once the gateway replaced it (4003) for the new one. */
  old: WebSocket | undefined;
  /** The new connection while it opens. */
  next: WebSocket | undefined;
  attempts: number;
  /** Failed attempts of this move, for its backoff. */
  failures: number;
  retryTimer: unknown;
}

/**
 * An imring client (DESIGN.md sections 5 and 6): holds one websocket through the proxy and keeps it up; asked to
 * move, it opens the new connection before it closes the old one. Events: 'open' (from no open connection to one);
 * 'message' `{msgID, payload}` (from either connection while both are open); 'close' {@link ClientCloseEvent} (from
 * an open connection to none); 'move' {@link ClientMoveEvent} ('open' and 'close' do not fire for the swap of a
 * graceful move); 'error' (emitted only while someone listens: a reconnecting client must not crash its process on a
 * network error).
 */
export class ImringClient extends EventEmitter {
  readonly #options: ResolvedClientOptions;
  #state: ClientState = 'closed';
  /** The connection: open, or opening; while a move is under way, the old one. */
  #ws: WebSocket | undefined;
  #move: Move | undefined;
  /** Old connections of finished moves, closing. */
  readonly #departing = new Set<Promise<void>>();
  #failures = 0;
  /** Bumped by close() and connect(): an attempt of an older generation does nothing. */
  #generation = 0;
  #retryTimer: unknown;
  #stableTimer: unknown;
  #closing: Promise<void> | undefined;
  /** This client's own ID on every connection (the `clientID` connect parameter). */
  readonly #clientID = randomUUID();
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

  /**
   * Stops: closes the socket (code 1000), both of them during a move, cancels reconnects and moves (no 'move' event
   * for a move it cuts short), ends the iterators. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#generation += 1;
    this.#cancelTimers();
    this.#state = 'stopped';
    this.#endQueues();
    const move = this.#move;
    this.#move = undefined;
    if (move !== undefined) this.#cancelMoveRetry(move);
    const sockets = new Set([this.#ws, move?.old, move?.next].filter((ws) => ws !== undefined));
    const closing = [...sockets].map((ws) => this.#closeSocket(ws, 'client closed'));
    this.#closing = Promise.all([...closing, ...this.#departing]).then(() => undefined);
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
    const isStale = (): boolean => generation !== this.#generation;
    try {
      const ws = await this.#newSocket(isStale);
      if (ws !== undefined) this.#ws = ws;
    } catch (error) {
      if (isStale()) return;
      this.#emitError(new Error('while getting a token', { cause: error }));
      this.#afterClose({ code: 1006, reason: 'no token', httpStatus: undefined });
    }
  }

  /** Asks for a token, then opens a socket with it, unless `isStale()` says by then that it is no longer wanted. */
  async #newSocket(isStale: () => boolean): Promise<WebSocket | undefined> {
    const token = await this.#options.token();
    if (isStale()) return undefined;
    const url = new URL(this.#options.url);
    url.searchParams.set(ConnectParams.userID, this.#options.userID);
    url.searchParams.set(ConnectParams.platform, this.#options.platform);
    url.searchParams.set(ConnectParams.token, token);
    if (this.#options.migrate === 'graceful') url.searchParams.set(ConnectParams.migrate, MIGRATE_GRACEFUL);
    url.searchParams.set(ConnectParams.clientID, this.#clientID);
    const ws = new WebSocket(url, {
      maxPayload: this.#options.maxFrameBytes,
      handshakeTimeout: this.#options.handshakeTimeoutMs,
    });
    this.#listen(ws);
    return ws;
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
      const move = this.#move;
      if (move !== undefined && ws === move.next) this.#swap(move, ws);
      else if (ws === this.#ws) this.#onOpen();
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onFrame(ws, data);
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
      const closed = { code, reason: httpStatus === undefined ? reason.toString() : `HTTP ${httpStatus}`, httpStatus };
      const move = this.#move;
      if (move !== undefined && ws === move.next) this.#onNextClosed(move, closed);
      else if (move !== undefined && ws === move.old) this.#onOldClosed(move, closed);
      else if (ws === this.#ws) this.#onClosed(closed);
    });
  }

  #onOpen(): void {
    this.#state = 'open';
    this.#stableTimer = this.#options.setTimer(() => (this.#failures = 0), this.#options.policy.resetAfterMs);
    this.emit('open');
  }

  #onFrame(ws: WebSocket, data: RawData): void {
    const parsed = parseFrame(rawText(data));
    if (parsed.kind === 'invalid') {
      this.#emitError(new Error(parsed.reason));
    } else if (parsed.kind === 'message') {
      this.emit('message', parsed.message);
      for (const queue of this.#queues) queue.push(parsed.message);
    } else if (parsed.kind === 'migrate' && this.#shouldMove(ws)) {
      this.#startMove(ws, parsed.migrate);
    }
  }

  /** A client that opted in moves its open connection, one move at a time (a repeated request changes nothing). */
  #shouldMove(ws: WebSocket): boolean {
    const opted = this.#options.migrate === 'graceful';
    return opted && ws === this.#ws && this.#move === undefined && this.#state === 'open';
  }

  #startMove(old: WebSocket, frame: MigrateFrame): void {
    const deadline = this.#options.now() + frame.deadlineMs;
    const move: Move = {
      reason: frame.reason,
      deadline,
      old,
      next: undefined,
      attempts: 0,
      failures: 0,
      retryTimer: undefined,
    };
    this.#move = move;
    void this.#moveAttempt(move);
  }

  async #moveAttempt(move: Move): Promise<void> {
    move.attempts += 1;
    const isStale = (): boolean => this.#move !== move;
    try {
      const ws = await this.#newSocket(isStale);
      if (ws !== undefined) move.next = ws;
    } catch (error) {
      if (isStale()) return;
      this.#emitError(new Error('while getting a token to move', { cause: error }));
      this.#retryMove(move);
    }
  }

  /** The next attempt of a move, with backoff, if it starts before the deadline; else the old connection waits. */
  #retryMove(move: Move): void {
    const { policy, random, now } = this.#options;
    const delayMs = moveRetryDelay(move.failures++, policy, random, move.deadline - now());
    if (delayMs === undefined) return;
    move.retryTimer = this.#options.setTimer(() => {
      move.retryTimer = undefined;
      if (this.#move === move) void this.#moveAttempt(move);
    }, delayMs);
  }

  /** The new connection is open: it becomes the connection, and the old one is closed with 1000. */
  #swap(move: Move, ws: WebSocket): void {
    this.#move = undefined;
    this.#cancelMoveRetry(move);
    this.#ws = ws;
    const old = move.old;
    if (old === undefined) {
      this.#emitMove(move, 'graceful', 0);
      return;
    }
    const openedAt = this.#options.now();
    const departed = this.#closeSocket(old, 'moved').then(() => {
      this.#departing.delete(departed);
      this.#emitMove(move, 'graceful', this.#options.now() - openedAt);
    });
    this.#departing.add(departed);
  }

  /** The new connection failed before it opened: retry while the old one serves. */
  #onNextClosed(move: Move, closed: Closed): void {
    move.next = undefined;
    if (move.old !== undefined) {
      this.#retryMove(move);
      return;
    }
    // The gateway replaced the old one for this one (4003), which then failed: no connection is left.
    this.#endForced(move);
    this.#onClosed(closed);
  }

  /** The old connection closed before the new one opened. */
  #onOldClosed(move: Move, closed: Closed): void {
    move.old = undefined;
    const next = move.next;
    // Expected (DESIGN.md section 6): the new connection landed on the same gateway, which replaced the old one.
    if (closed.code === CloseCodes.replaced && next !== undefined) {
      this.#ws = next;
      return;
    }
    this.#endForced(move);
    if (next === undefined) {
      this.#onClosed(closed);
      return;
    }
    // The new connection, already opening through the proxy, is the reconnect.
    this.#ws = next;
    this.#state = 'connecting';
    this.#cancelStableTimer();
    this.emit('close', {
      code: closed.code,
      reason: closed.reason,
      willReconnect: true,
      delayMs: 0,
    } satisfies ClientCloseEvent);
  }

  #endForced(move: Move): void {
    this.#move = undefined;
    this.#cancelMoveRetry(move);
    this.#emitMove(move, 'forced', 0);
  }

  #emitMove(move: Move, outcome: ClientMoveEvent['outcome'], overlapMs: number): void {
    const event: ClientMoveEvent = { reason: move.reason, outcome, overlapMs, attempts: move.attempts };
    this.emit('move', event);
  }

  /** The connection closed: report it, and stop or schedule the next attempt. */
  #onClosed(closed: Closed): void {
    this.#ws = undefined;
    this.#cancelStableTimer();
    if (this.#state === 'stopped') {
      this.emit('close', { code: closed.code, reason: closed.reason, willReconnect: false } satisfies ClientCloseEvent);
      return;
    }
    this.#afterClose(closed);
  }

  /** Decides after a close: stop, or schedule the next attempt. */
  #afterClose(closed: Closed): void {
    const action = closeAction(closed.code, closed.httpStatus, closed.reason);
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

  #closeSocket(ws: WebSocket, reason: string): Promise<void> {
    return new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) {
        resolve();
        return;
      }
      ws.once('close', () => {
        this.#options.clearTimer(timer);
        resolve();
      });
      const timer = this.#options.setTimer(() => ws.terminate(), this.#options.closeTimeoutMs);
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, reason);
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

  #cancelMoveRetry(move: Move): void {
    if (move.retryTimer !== undefined) this.#options.clearTimer(move.retryTimer);
    move.retryTimer = undefined;
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
