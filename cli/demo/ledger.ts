/**
 * Accounts for every (message, user) pair of demo traffic: received by the user's clients,
 * reported realtime or offline by push, or neither. A client is a (user, platform); a user may
 * have several. Pure (no I/O, no clock of its own): the traffic driver tells it what happened
 * and when.
 *
 * - received: some client of the user got it, and so did every platform connected on one
 *   connection from the push until its answer (a platform reconnecting meanwhile may miss it);
 * - misrouted: push reported the user offline while one of its platforms was connected, on the
 *   same connection, from before the push call until after its answer (not reconnecting);
 * - lost: after the settle time, no client received it and push did not report it offline, or
 *   push answered realtime and a platform connected throughout never got it;
 * - duplicate: a (message, user, platform) received more than once.
 *
 * An offline answer for a user whose connection was already dead (its gateway or the proxy
 * killed: the connection ends abnormally, 1006, without a close frame) is not a misroute: push
 * answered before the client noticed. It is counted as `offlineOnDeadConnection` when that
 * connection ended abnormally within {@link DEAD_CONNECTION_WINDOW_MS} of the answer. A clean
 * close (4001 moved, 4002 shutting down) never excuses an offline answer. Likewise a realtime
 * answer without a receipt whose connection ended abnormally within that window was written to
 * a connection killed under it (frames in flight die with the process that holds them): counted
 * as `lostOnKilledConnection`, apart from `lost`, which stays the unexplained losses.
 *
 * Users fall in cohorts, each with its own totals: those whose every client connected before
 * the first push and was never stopped on purpose, by how they move (`graceful`, or `hard` for
 * clients that do not opt in), and the `other` users (never connected, or connected late).
 * Per client the ledger keeps its moves (the SDK's 'move' events; a plain client's 4001/4002
 * is a `closed` move) and its time without an open connection.
 */
import type { ClientMoveEvent, MigrateMode } from '../../client/index.js';
import { CloseCodes } from '../../ring/contract.js';
import { ClientRecord, type Close } from './ledger-clients.js';

/** How long after an offline answer an abnormal close still shows the connection was dead at the answer, ms. */
export const DEAD_CONNECTION_WINDOW_MS = 2000;

/** The platform of a client when the caller names none. */
export const DEFAULT_PLATFORM = 'web';

/** RFC 6455 close code of a connection that ended without a close frame. */
const ABNORMAL_CLOSURE = 1006;

/** Push's answer for one (message, user). */
export type Outcome =
  { readonly status: 'realtime'; readonly via: string } | { readonly status: 'offline'; readonly reason: string };

/** Which users a pair counts for: see the module comment. */
export type Cohort = MigrateMode | 'other';

export const COHORTS: readonly Cohort[] = ['graceful', 'hard', 'other'];

/** One platform of one pending pair: the connection the message met there, and what it received. */
interface Reach {
  /** The client's epoch at send time when connected then, else -1. */
  readonly epochAtSend: number;
  /** The client's latest epoch at send time, connected or not (0: never connected). */
  readonly lastEpochAtSend: number;
  /** Connected on the send-time connection when the answer came. */
  connectedThrough: boolean;
  /** The client's latest epoch when the answer came, connected or not. */
  lastEpochAtAnswer: number;
  receipts: number;
}

interface Pending {
  readonly user: string;
  readonly atMs: number;
  /** When push answered, ms (undefined when the caller did not say). */
  answeredAtMs: number | undefined;
  outcome: Outcome | undefined;
  /** The push call failed as a whole: push answered nothing for this pair. */
  callFailed: boolean;
  /** Platform → what reached it. */
  readonly platforms: Map<string, Reach>;
}

/** Totals over settled pairs (and receipts), by kind. */
export interface PairTotals {
  /** (message, user) pairs settled. */
  pairs: number;
  received: number;
  realtime: number;
  offline: number;
  offlineByReason: Record<string, number>;
  realtimeByVia: Record<string, number>;
  /** (message, user, platform) received, by platform. */
  deliveriesByPlatform: Record<string, number>;
  misrouted: number;
  lost: number;
  /** Receipts of a (message, user, platform) after its first. */
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
}

/** {@link PairTotals} of every pair, and what the clients did. */
export interface LedgerTotals extends PairTotals {
  /** Times without an open connection of clients that had one (close → open), ms. */
  reconnectWindowsMs: number[];
  /**
   * Moves by outcome: the SDK's `graceful` and `forced` (at the deadline, or the gateway died); `closed`: a plain
   * client's 4001/4002.
   */
  moves: { graceful: number; forced: number; closed: number };
  /** How long both connections of a graceful move were open, ms. */
  moveOverlapsMs: number[];
  /** Connection closes the clients saw, by WebSocket close code. */
  closesByCode: Record<string, number>;
}

/** One client as the ledger saw it. */
export interface ClientSummary {
  readonly user: string;
  readonly platform: string;
  readonly migrate: MigrateMode;
  readonly cohort: Cohort;
  /** Each time it was without an open connection, close → next open, ms. */
  readonly windowsMs: readonly number[];
  /** The longest time without an open connection since its first open, ms (0: always had one). */
  readonly longestGapMs: number;
}

/** A pair's fate, added to the totals of everyone and of its user's cohort. */
type Kind = 'misrouted' | 'lost' | 'offlineWhileReconnecting' | 'offlineOnDeadConnection' | 'lostOnKilledConnection';

interface Verdict {
  readonly received: boolean;
  readonly outcome: Outcome | undefined;
  readonly delivered: readonly string[];
  readonly duplicates: number;
  readonly kind: Kind | undefined;
}

export class Ledger {
  /** User → platform → client. */
  readonly #users = new Map<string, Map<string, ClientRecord>>();
  readonly #pending = new Map<string, Pending>();
  readonly #misrouteSamples: string[] = [];
  readonly #lostSamples: string[] = [];
  #firstSendMs: number | undefined;
  readonly totals: LedgerTotals = {
    ...pairTotals(),
    reconnectWindowsMs: [],
    moves: { graceful: 0, forced: 0, closed: 0 },
    moveOverlapsMs: [],
    closesByCode: {},
  };
  /** Totals of the pairs of each cohort's users. */
  readonly cohorts: Record<Cohort, PairTotals> = { graceful: pairTotals(), hard: pairTotals(), other: pairTotals() };

  /** A client of `user` opened a connection at `atMs` (its platform, default {@link DEFAULT_PLATFORM}; `graceful`). */
  opened(user: string, atMs: number, client: { platform?: string; migrate?: MigrateMode } = {}): void {
    const platform = client.platform ?? DEFAULT_PLATFORM;
    const clients = this.#users.get(user) ?? new Map<string, ClientRecord>();
    this.#users.set(user, clients);
    const record = clients.get(platform) ?? new ClientRecord(client.migrate ?? 'graceful', atMs);
    clients.set(platform, record);
    const window = record.opened(atMs);
    if (window !== undefined) this.totals.reconnectWindowsMs.push(window);
  }

  /** A client's connection closed at `atMs`, with WebSocket close `code` (default 1000). */
  closed(user: string, atMs: number, code = 1000, platform = DEFAULT_PLATFORM): void {
    const record = this.#users.get(user)?.get(platform);
    if (!record) return;
    const moves = this.totals.moves;
    if (record.connected) bump(this.totals.closesByCode, String(code));
    if (record.connected && record.migrate === 'hard' && isMoveClose(code)) moves.closed++;
    record.closed(atMs, code);
  }

  /** A client reported a move (the SDK's 'move' event). */
  moved(user: string, move: Pick<ClientMoveEvent, 'outcome' | 'overlapMs'>, platform = DEFAULT_PLATFORM): void {
    if (!this.#users.get(user)?.has(platform)) return;
    this.totals.moves[move.outcome]++;
    if (move.outcome === 'graceful') this.totals.moveOverlapsMs.push(move.overlapMs);
  }

  /** A client is being stopped on purpose: from now on its user does not count as staying connected. */
  stopped(user: string, platform = DEFAULT_PLATFORM): void {
    const record = this.#users.get(user)?.get(platform);
    if (record) record.stopped = true;
  }

  /** Whether every client of `user` is connected now (false for a user never seen). */
  isConnected(user: string): boolean {
    const clients = this.#users.get(user);
    return clients !== undefined && [...clients.values()].every((c) => c.connected);
  }

  /** Message `msgID` was handed to push for `users` at `atMs`. */
  sent(msgID: string, users: readonly string[], atMs: number): void {
    this.#firstSendMs ??= atMs;
    for (const user of users) {
      const platforms = new Map<string, Reach>();
      for (const [platform, record] of this.#users.get(user) ?? []) {
        const epoch = record.epoch;
        platforms.set(platform, {
          epochAtSend: record.connected ? epoch : -1,
          lastEpochAtSend: epoch,
          connectedThrough: false,
          lastEpochAtAnswer: epoch,
          receipts: 0,
        });
      }
      const pending = { user, atMs, answeredAtMs: undefined, outcome: undefined, callFailed: false, platforms };
      this.#pending.set(key(msgID, user), pending);
    }
  }

  /** Push answered for (`msgID`, `user`) at `atMs`. */
  answered(msgID: string, user: string, outcome: Outcome, atMs?: number): void {
    const entry = this.#pending.get(key(msgID, user));
    if (!entry || entry.outcome) return;
    entry.outcome = outcome;
    entry.answeredAtMs = atMs;
    for (const [platform, reach] of entry.platforms) {
      const record = this.#users.get(user)?.get(platform);
      reach.lastEpochAtAnswer = record?.epoch ?? 0;
      reach.connectedThrough =
        reach.epochAtSend >= 0 && record?.connected === true && record.epoch === reach.epochAtSend;
    }
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

  /** A client of `user` on `platform` received `msgID`. */
  received(msgID: string, user: string, platform = DEFAULT_PLATFORM): void {
    const entry = this.#pending.get(key(msgID, user));
    if (!entry) {
      // Already settled: a late duplicate.
      for (const totals of this.#totalsOf(user)) totals.duplicates++;
      return;
    }
    const reach = entry.platforms.get(platform);
    if (reach) reach.receipts++;
    else entry.platforms.set(platform, notConnectedAtSend(1));
  }

  /** Settles every pair sent before `beforeMs`, adding it to the totals. Returns how many were settled. */
  settle(beforeMs: number): number {
    let settled = 0;
    for (const [pair, entry] of this.#pending) {
      if (entry.atMs >= beforeMs) continue;
      this.#pending.delete(pair);
      const verdict = this.#judge(pair, entry);
      for (const totals of this.#totalsOf(entry.user)) add(totals, verdict);
      settled++;
    }
    return settled;
  }

  /** Every client seen, with its cohort and its longest time without an open connection up to `nowMs`. */
  clients(nowMs: number): ClientSummary[] {
    const out: ClientSummary[] = [];
    for (const [user, clients] of this.#users) {
      const cohort = this.#cohort(user);
      for (const [platform, record] of clients) {
        const { migrate, windowsMs } = record;
        out.push({
          user,
          platform,
          migrate,
          cohort,
          windowsMs: [...windowsMs],
          longestGapMs: record.longestGapMs(nowMs),
        });
      }
    }
    return out;
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

  /** Pairs push answered realtime that a platform still has to receive (none has, or one connected throughout). */
  get awaitingReceipt(): number {
    let n = 0;
    for (const entry of this.#pending.values()) {
      if (entry.outcome?.status === 'realtime' && (!hasReceipt(entry) || missing(entry).length > 0)) n++;
    }
    return n;
  }

  /** The user's cohort: see the module comment. */
  #cohort(user: string): Cohort {
    const clients = [...(this.#users.get(user)?.values() ?? [])];
    const first = this.#firstSendMs;
    if (clients.length === 0 || first === undefined) return 'other';
    if (clients.some((c) => c.stopped || c.firstOpenMs > first)) return 'other';
    return clients[0]!.migrate;
  }

  #totalsOf(user: string): PairTotals[] {
    return [this.totals, this.cohorts[this.#cohort(user)]];
  }

  #judge(pair: string, entry: Pending): Verdict {
    const reaches = [...entry.platforms.values()];
    const delivered = [...entry.platforms].filter(([, r]) => r.receipts > 0).map(([platform]) => platform);
    const duplicates = reaches.reduce((sum, r) => sum + Math.max(0, r.receipts - 1), 0);
    const received = hasReceipt(entry) && missing(entry).length === 0;
    return { received, outcome: entry.outcome, delivered, duplicates, kind: this.#kind(pair, entry) };
  }

  #kind(pair: string, entry: Pending): Kind | undefined {
    const outcome = entry.outcome;
    if (outcome?.status === 'offline') return this.#offlineKind(pair, entry, outcome.reason);
    const gone = missing(entry);
    if (gone.length === 0 && hasReceipt(entry)) return undefined;
    if (gone.length > 0 && gone.every(([platform]) => this.#killedUnder(entry, platform)))
      return 'lostOnKilledConnection';
    this.#sampleLost(pair, entry, outcome === undefined ? 'no answer' : `realtime via ${outcome.via}`);
    return 'lost';
  }

  #sampleLost(pair: string, entry: Pending, what: string): void {
    if (this.#lostSamples.length >= 10) return;
    const answered = entry.answeredAtMs === undefined ? '' : ` ${entry.answeredAtMs - entry.atMs} ms after the send`;
    const named = entry.platforms.size > 1;
    const closes: string[] = [];
    for (const [platform, reach] of missing(entry)) {
      const on = named ? `${platform} ` : '';
      for (const { epoch, close } of this.#connectionsAround(entry.user, platform, reach)) {
        if (close)
          closes.push(`${on}connection ${epoch} closed ${close.code} at send ${signed(close.atMs - entry.atMs)} ms`);
        else if (epoch > 0) closes.push(`${on}connection ${epoch} still open`);
      }
    }
    this.#lostSamples.push(`${pair} (${what}${answered}; ${closes.join(', ') || 'never connected'})`);
  }

  /**
   * Whether a connection of `platform` held between the send and the answer, or the one that ended last before the
   * send, ended abnormally no earlier than the window before the send and no later than the window after the answer:
   * a frame written to it died with the killed process.
   */
  #killedUnder(entry: Pending, platform: string): boolean {
    const answeredAtMs = entry.answeredAtMs;
    const reach = entry.platforms.get(platform);
    if (answeredAtMs === undefined || reach === undefined) return false;
    return this.#connectionsAround(entry.user, platform, reach).some(
      ({ close }) =>
        close?.code === ABNORMAL_CLOSURE &&
        close.atMs >= entry.atMs - DEAD_CONNECTION_WINDOW_MS &&
        close.atMs <= answeredAtMs + DEAD_CONNECTION_WINDOW_MS,
    );
  }

  /** The client's connections from the latest one at the send to the latest at the answer, each with how it ended. */
  #connectionsAround(user: string, platform: string, reach: Reach): { epoch: number; close: Close | undefined }[] {
    const closes = this.#users.get(user)?.get(platform)?.closes;
    const out = [];
    for (let epoch = reach.lastEpochAtSend; epoch <= reach.lastEpochAtAnswer; epoch++)
      out.push({ epoch, close: closes?.get(epoch) });
    return out;
  }

  #offlineKind(pair: string, entry: Pending, reason: string): Kind | undefined {
    const reaches = [...entry.platforms];
    // Delivered and also reported offline: counted, not harmful. A failed call routed nothing.
    if (hasReceipt(entry) || entry.callFailed) return undefined;
    const through = reaches.filter(([, r]) => r.connectedThrough);
    const alive = through.find(([platform, r]) => !this.#diedAfterAnswer(entry, platform, r.epochAtSend));
    if (alive) {
      if (this.#misrouteSamples.length < 10) {
        const on = entry.platforms.size > 1 ? ` on ${alive[0]}` : '';
        this.#misrouteSamples.push(`${pair} (${reason}${on}${this.#closeAfterAnswer(entry, alive[0], alive[1])})`);
      }
      return 'misrouted';
    }
    if (through.length > 0) return 'offlineOnDeadConnection';
    return reaches.some(([, r]) => r.epochAtSend >= 0) ? 'offlineWhileReconnecting' : undefined;
  }

  /** Whether the client's connection `epoch` ended abnormally within the window after the answer. */
  #diedAfterAnswer(entry: Pending, platform: string, epoch: number): boolean {
    const close = this.#users.get(entry.user)?.get(platform)?.closes.get(epoch);
    if (close?.code !== ABNORMAL_CLOSURE || entry.answeredAtMs === undefined) return false;
    return close.atMs - entry.answeredAtMs <= DEAD_CONNECTION_WINDOW_MS;
  }

  /** `, closed <code> <n> ms after the answer`: how the send-time connection ended, for a misroute's sample. */
  #closeAfterAnswer(entry: Pending, platform: string, reach: Reach): string {
    const close = this.#users.get(entry.user)?.get(platform)?.closes.get(reach.epochAtSend);
    if (close === undefined) return ', still open';
    return `, closed ${close.code} ${entry.answeredAtMs === undefined ? '' : `${close.atMs - entry.answeredAtMs} ms `}after the answer`;
  }
}

/**
 * The platforms that should have received a pair and did not: those connected throughout without a receipt; when no
 * platform received it, those connected throughout, or else all of them.
 */
function missing(entry: Pending): [string, Reach][] {
  const reaches = [...entry.platforms];
  const lacking = reaches.filter(([, r]) => r.connectedThrough && r.receipts === 0);
  if (hasReceipt(entry) || lacking.length > 0) return lacking;
  return reaches;
}

function hasReceipt(entry: Pending): boolean {
  for (const reach of entry.platforms.values()) if (reach.receipts > 0) return true;
  return false;
}

/** A platform the pair did not know at send time (it connected later). */
function notConnectedAtSend(receipts: number): Reach {
  return { epochAtSend: -1, lastEpochAtSend: 0, connectedThrough: false, lastEpochAtAnswer: 0, receipts };
}

function add(t: PairTotals, v: Verdict): void {
  t.pairs++;
  if (v.received) t.received++;
  t.duplicates += v.duplicates;
  for (const platform of v.delivered) bump(t.deliveriesByPlatform, platform);
  if (v.outcome?.status === 'realtime') {
    t.realtime++;
    bump(t.realtimeByVia, v.outcome.via);
  } else if (v.outcome?.status === 'offline') {
    t.offline++;
    bump(t.offlineByReason, v.outcome.reason);
  }
  if (v.kind !== undefined) t[v.kind]++;
}

function pairTotals(): PairTotals {
  return {
    pairs: 0,
    received: 0,
    realtime: 0,
    offline: 0,
    offlineByReason: {},
    realtimeByVia: {},
    deliveriesByPlatform: {},
    misrouted: 0,
    lost: 0,
    duplicates: 0,
    offlineWhileReconnecting: 0,
    offlineOnDeadConnection: 0,
    lostOnKilledConnection: 0,
  };
}

function isMoveClose(code: number): boolean {
  return code === CloseCodes.moved || code === CloseCodes.shuttingDown;
}

function bump(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

function key(msgID: string, user: string): string {
  return `${msgID}/${user}`;
}
