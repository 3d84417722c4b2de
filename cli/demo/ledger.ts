/**
 * Accounts for every (message, user) pair of demo traffic: received by the client, reported
 * realtime or offline by push, or neither. Pure (no I/O, no clock of its own): the traffic
 * driver tells it what happened and when.
 *
 * - misrouted: push reported the user offline while the user's client was connected, on the
 *   same connection, from before the push call until after its answer (not reconnecting);
 * - lost: after the settle time, the client has not received it and push did not report it
 *   offline (a realtime report without a receipt is lost too);
 * - duplicate: a client received the same message more than once.
 *
 * An offline answer for a user whose connection was already dead (its gateway or the proxy
 * killed: the connection ends abnormally, 1006, without a close frame) is not a misroute: push
 * answered before the client noticed. It is counted as `offlineOnDeadConnection` when that
 * connection ended abnormally within {@link DEAD_CONNECTION_WINDOW_MS} of the answer. A clean
 * close (4001 moved, 4002 shutting down) never excuses an offline answer. Likewise a realtime
 * answer without a receipt whose connection ended abnormally within that window was written to
 * a connection killed under it (frames in flight die with the process that holds them): counted
 * as `lostOnKilledConnection`, apart from `lost`, which stays the unexplained losses.
 */

/** How long after an offline answer an abnormal close still shows the connection was dead at the answer, ms. */
export const DEAD_CONNECTION_WINDOW_MS = 2000;

/** RFC 6455 close code of a connection that ended without a close frame. */
const ABNORMAL_CLOSURE = 1006;

/** Push's answer for one (message, user). */
export type Outcome =
  { readonly status: 'realtime'; readonly via: string } | { readonly status: 'offline'; readonly reason: string };

interface UserState {
  connected: boolean;
  /** Incremented on every open: a changed epoch means the user reconnected in between. */
  epoch: number;
  /** When the current connection opened, or when it closed; ms. */
  sinceMs: number;
  /** Epoch → how that connection ended: when (ms) and with which close code. */
  readonly closes: Map<number, { readonly atMs: number; readonly code: number }>;
}

interface Pending {
  readonly user: string;
  readonly atMs: number;
  /** When push answered, ms (undefined when the caller did not say). */
  answeredAtMs: number | undefined;
  /** The user's epoch at send time when connected then, else -1. */
  readonly epochAtSend: number;
  /** The user's latest epoch at send time, connected or not (0: never connected). */
  readonly lastEpochAtSend: number;
  outcome: Outcome | undefined;
  /** The user was connected on the send-time connection when the answer came. */
  connectedThrough: boolean;
  /** The user's latest epoch when the answer came, connected or not. */
  lastEpochAtAnswer: number;
  /** The push call failed as a whole: push answered nothing for this pair. */
  callFailed: boolean;
  receipts: number;
}

/** Totals over settled pairs (and receipts), by kind. */
export interface LedgerTotals {
  /** (message, user) pairs settled. */
  pairs: number;
  received: number;
  realtime: number;
  offline: number;
  offlineByReason: Record<string, number>;
  realtimeByVia: Record<string, number>;
  misrouted: number;
  lost: number;
  duplicates: number;
  /** Offline for a user that was connected at send time but reconnecting by the answer: expected, not a misroute. */
  offlineWhileReconnecting: number;
  /** Offline for a user whose connection was dead (it ended abnormally right after the answer): not a misroute. */
  offlineOnDeadConnection: number;
  /**
   * Realtime without a receipt, on a connection that ended abnormally right after the answer: in flight when it was
   * killed.
   */
  lostOnKilledConnection: number;
  /** Reconnect windows of migrated users (close → open), ms. */
  reconnectWindowsMs: number[];
}

export class Ledger {
  readonly #users = new Map<string, UserState>();
  readonly #pending = new Map<string, Pending>();
  readonly #misrouteSamples: string[] = [];
  readonly #lostSamples: string[] = [];
  readonly totals: LedgerTotals = {
    pairs: 0,
    received: 0,
    realtime: 0,
    offline: 0,
    offlineByReason: {},
    realtimeByVia: {},
    misrouted: 0,
    lost: 0,
    duplicates: 0,
    offlineWhileReconnecting: 0,
    offlineOnDeadConnection: 0,
    lostOnKilledConnection: 0,
    reconnectWindowsMs: [],
  };

  /** A user's client opened a connection at `atMs`. */
  opened(user: string, atMs: number): void {
    const state = this.#users.get(user) ?? { connected: false, epoch: 0, sinceMs: atMs, closes: new Map() };
    if (!state.connected && state.epoch > 0) this.totals.reconnectWindowsMs.push(atMs - state.sinceMs);
    state.connected = true;
    state.epoch++;
    state.sinceMs = atMs;
    this.#users.set(user, state);
  }

  /** A user's connection closed at `atMs`, with WebSocket close `code` (default 1000). */
  closed(user: string, atMs: number, code = 1000): void {
    const state = this.#users.get(user);
    if (!state) return;
    if (state.connected) state.closes.set(state.epoch, { atMs, code });
    state.connected = false;
    state.sinceMs = atMs;
  }

  /** Whether `user` is connected now. */
  isConnected(user: string): boolean {
    return this.#users.get(user)?.connected ?? false;
  }

  /** Message `msgID` was handed to push for `users` at `atMs`. */
  sent(msgID: string, users: readonly string[], atMs: number): void {
    for (const user of users) {
      const state = this.#users.get(user);
      const epoch = state?.epoch ?? 0;
      this.#pending.set(key(msgID, user), {
        user,
        atMs,
        answeredAtMs: undefined,
        epochAtSend: state?.connected ? epoch : -1,
        lastEpochAtSend: epoch,
        outcome: undefined,
        connectedThrough: false,
        lastEpochAtAnswer: epoch,
        callFailed: false,
        receipts: 0,
      });
    }
  }

  /** Push answered for (`msgID`, `user`) at `atMs`. */
  answered(msgID: string, user: string, outcome: Outcome, atMs?: number): void {
    const entry = this.#pending.get(key(msgID, user));
    if (!entry || entry.outcome) return;
    entry.outcome = outcome;
    entry.answeredAtMs = atMs;
    const state = this.#users.get(user);
    entry.lastEpochAtAnswer = state?.epoch ?? 0;
    entry.connectedThrough =
      entry.epochAtSend >= 0 && state !== undefined && state.connected && state.epoch === entry.epochAtSend;
  }

  /**
   * The push call for these users failed as a whole (push unreachable): reported offline to the
   * sender, and never a misroute, since push routed nothing.
   */
  failed(msgID: string, users: readonly string[], reason: string, atMs?: number): void {
    for (const user of users) {
      this.answered(msgID, user, { status: 'offline', reason }, atMs);
      const entry = this.#pending.get(key(msgID, user));
      if (entry) entry.callFailed = true;
    }
  }

  /** A client received `msgID`. */
  received(msgID: string, user: string): void {
    const entry = this.#pending.get(key(msgID, user));
    if (entry) entry.receipts++;
    else this.totals.duplicates++; // already settled as received: a late duplicate
  }

  /** Settles every pair sent before `beforeMs`, adding it to the totals. Returns how many were settled. */
  settle(beforeMs: number): number {
    let settled = 0;
    for (const [pair, entry] of this.#pending) {
      if (entry.atMs >= beforeMs) continue;
      this.#pending.delete(pair);
      this.#count(pair, entry);
      settled++;
    }
    return settled;
  }

  /** Up to 10 pairs that were misrouted (`msgID/user (reason, how the connection ended)`), for the report. */
  get misrouteSamples(): readonly string[] {
    return this.#misrouteSamples;
  }

  /**
   * Up to 10 pairs that were lost (`msgID/user (what push answered, how the user's connections ended)`), for the
   * report.
   */
  get lostSamples(): readonly string[] {
    return this.#lostSamples;
  }

  /** Pairs not settled yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Pairs push answered realtime whose frame has not been received yet. */
  get awaitingReceipt(): number {
    let n = 0;
    for (const entry of this.#pending.values()) if (entry.outcome?.status === 'realtime' && entry.receipts === 0) n++;
    return n;
  }

  #count(pair: string, entry: Pending): void {
    const t = this.totals;
    t.pairs++;
    if (entry.receipts > 0) t.received++;
    if (entry.receipts > 1) t.duplicates += entry.receipts - 1;
    const outcome = entry.outcome;
    if (outcome?.status === 'realtime') this.#countRealtime(pair, entry, outcome.via);
    else if (outcome?.status === 'offline') this.#countOffline(pair, entry, outcome.reason);
    else if (entry.receipts === 0) this.#lost(pair, entry, 'no answer');
  }

  #countRealtime(pair: string, entry: Pending, via: string): void {
    const t = this.totals;
    t.realtime++;
    t.realtimeByVia[via] = (t.realtimeByVia[via] ?? 0) + 1;
    if (entry.receipts > 0) return;
    if (this.#killedUnder(entry)) t.lostOnKilledConnection++;
    else this.#lost(pair, entry, `realtime via ${via}`);
  }

  #lost(pair: string, entry: Pending, what: string): void {
    this.totals.lost++;
    if (this.#lostSamples.length >= 10) return;
    const answered = entry.answeredAtMs === undefined ? '' : ` ${entry.answeredAtMs - entry.atMs} ms after the send`;
    const closes: string[] = [];
    for (const { epoch, close } of this.#connectionsAround(entry)) {
      if (close) closes.push(`connection ${epoch} closed ${close.code} at send ${signed(close.atMs - entry.atMs)} ms`);
      else if (epoch > 0) closes.push(`connection ${epoch} still open`);
    }
    this.#lostSamples.push(`${pair} (${what}${answered}; ${closes.join(', ') || 'never connected'})`);
  }

  /**
   * Whether a connection the user held between the send and the answer, or the one that ended
   * last before the send, ended abnormally no earlier than the window before the send and no
   * later than the window after the answer: a frame written to it died with the killed process.
   */
  #killedUnder(entry: Pending): boolean {
    const answeredAtMs = entry.answeredAtMs;
    if (answeredAtMs === undefined) return false;
    return this.#connectionsAround(entry).some(
      ({ close }) =>
        close?.code === ABNORMAL_CLOSURE &&
        close.atMs >= entry.atMs - DEAD_CONNECTION_WINDOW_MS &&
        close.atMs <= answeredAtMs + DEAD_CONNECTION_WINDOW_MS,
    );
  }

  /**
   * The user's connections from the latest one at the send to the latest one at the answer, each with how it ended
   * (undefined: still open).
   */
  #connectionsAround(
    entry: Pending,
  ): { epoch: number; close: { readonly atMs: number; readonly code: number } | undefined }[] {
    const closes = this.#users.get(entry.user)?.closes;
    const out = [];
    for (let epoch = entry.lastEpochAtSend; epoch <= entry.lastEpochAtAnswer; epoch++)
      out.push({ epoch, close: closes?.get(epoch) });
    return out;
  }

  #countOffline(pair: string, entry: Pending, reason: string): void {
    const t = this.totals;
    t.offline++;
    t.offlineByReason[reason] = (t.offlineByReason[reason] ?? 0) + 1;
    // Delivered and also reported offline: counted, not harmful. A failed call routed nothing.
    if (entry.receipts > 0 || entry.callFailed) return;
    if (entry.connectedThrough && this.#diedAfterAnswer(entry, entry.epochAtSend)) {
      t.offlineOnDeadConnection++;
    } else if (entry.connectedThrough) {
      t.misrouted++;
      if (this.#misrouteSamples.length < 10)
        this.#misrouteSamples.push(`${pair} (${reason}${this.#closeAfterAnswer(entry)})`);
    } else if (entry.epochAtSend >= 0) {
      t.offlineWhileReconnecting++;
    }
  }

  /** Whether the user's connection `epoch` ended abnormally within the window after the answer. */
  #diedAfterAnswer(entry: Pending, epoch: number): boolean {
    const close = this.#users.get(entry.user)?.closes.get(epoch);
    if (close?.code !== ABNORMAL_CLOSURE || entry.answeredAtMs === undefined) return false;
    return close.atMs - entry.answeredAtMs <= DEAD_CONNECTION_WINDOW_MS;
  }

  /** `, closed <code> <n> ms after the answer`: how the send-time connection ended, for a misroute's sample. */
  #closeAfterAnswer(entry: Pending): string {
    const close = this.#users.get(entry.user)?.closes.get(entry.epochAtSend);
    if (close === undefined) return ', still open';
    return `, closed ${close.code} ${entry.answeredAtMs === undefined ? '' : `${close.atMs - entry.answeredAtMs} ms `}after the answer`;
  }
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

function key(msgID: string, user: string): string {
  return `${msgID}/${user}`;
}
