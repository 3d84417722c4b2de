/**
 * Demo traffic: simulated users connected through the proxy with the client SDK (one client per
 * platform of a user: web, and for some users ios too; graceful clients, or plain ones that do
 * not opt in to graceful migration), and a steady stream of messages pushed through push's HTTP
 * API (single messages and batches, direct and group fan-out), every (message, user) accounted
 * for by a {@link Ledger}. Used by `imring local` and by the end-to-end scenario test.
 */
import { SignJWT } from 'jose';
import { ImringClient, type ClientMoveEvent, type MigrateMode } from '../../client/index.js';
import { Ledger, type ClientSummary, type Outcome } from './ledger.js';
import { PushCaller } from './push-caller.js';

export interface TrafficOptions {
  /** The proxy's ws URL, e.g. `ws://127.1.0.5:10080/ws`. */
  readonly proxyUrl: string;
  /** Push's HTTP base URL, e.g. `http://127.1.0.6:10091`. */
  readonly pushUrl: string;
  /** HS256 key of client tokens. */
  readonly tokenSecret: string;
  /** Users that connect (one client per platform). Default 200. */
  readonly users?: number;
  /** Share of the users on two platforms, web and ios (the others on web alone), from 0 to 1. Default 0.2. */
  readonly twoPlatformShare?: number;
  /** Share of the users whose clients do not opt in to graceful migration (`migrate: 'hard'`), 0 to 1. Default 0. */
  readonly plainShare?: number;
  /** Users that never connect: messages to them end offline (`not_connected`), as they should. Default users / 20. */
  readonly offlineUsers?: number;
  /** Messages pushed per second. Default 100. */
  readonly messagesPerSecond?: number;
  /** Share of messages sent to a group of `groupSize` users instead of one. Default 0.2, size 10. */
  readonly groupShare?: number;
  readonly groupSize?: number;
  /** Messages per push call in batched calls (every other call carries one message). Default 10. */
  readonly batch?: number;
  /** Seed of the recipients' choice. Default 1. */
  readonly seed?: number;
  /** Wall clock, ms. Default Date.now. */
  readonly now?: () => number;
}

export const TRAFFIC_DEFAULTS = {
  users: 200,
  twoPlatformShare: 0.2,
  plainShare: 0,
  messagesPerSecond: 100,
  groupShare: 0.2,
  groupSize: 10,
  batch: 10,
  seed: 1,
} as const;

/** Period of the push loop, ms: each tick sends the messages that are due. */
const TICK_MS = 20;
/** Longest wait for frames push reported delivered, ms. */
const RECEIPT_TIMEOUT_MS = 10_000;
/** Users connecting at once. */
const CONNECT_CONCURRENCY = 100;
/** The platforms of a user on one, and of a user on two. */
const ONE_PLATFORM = ['web'] as const;
const TWO_PLATFORMS = ['web', 'ios'] as const;
/** Mixed into the seed for the draws of users on two platforms and of plain users, apart from the recipients'. */
const PLATFORM_SALT = 0x2f1a_7c3d;
const PLAIN_SALT = 0x51d3_0e97;

type Resolved = Required<TrafficOptions>;

/** Per-second rates of push's answers, over the last full second. */
export interface Rates {
  readonly realtimePerSecond: number;
  readonly offlinePerSecond: number;
  /** Moves of every kind (graceful, forced, a plain client's closed one). */
  readonly movesPerSecond: number;
}

/** One user's clients: their platforms, and how they move. */
interface UserPlan {
  readonly platforms: readonly string[];
  readonly migrate: MigrateMode;
}

/** One simulated client of {@link DemoTraffic}. */
interface TrafficClient {
  readonly user: string;
  readonly platform: string;
  readonly client: ImringClient;
  /** The client's last error (a refused or failed attempt) and close, for a diagnosis. */
  lastError?: string;
  lastClose?: string;
}

export class DemoTraffic {
  readonly ledger = new Ledger();
  readonly #o: Resolved;
  /** Every client, with its user and platform. */
  readonly #clients: TrafficClient[] = [];
  readonly #offline: string[];
  readonly #online: string[];
  readonly #plans = new Map<string, UserPlan>();
  readonly #random: () => number;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #pushCaller = new PushCaller();
  #timer: NodeJS.Timeout | undefined;
  #sent = 0;
  #pushErrors = 0;
  #window = { startMs: 0, realtime: 0, offline: 0, moves: 0 };
  #rates: Rates = { realtimePerSecond: 0, offlinePerSecond: 0, movesPerSecond: 0 };

  constructor(options: TrafficOptions) {
    const users = options.users ?? TRAFFIC_DEFAULTS.users;
    if (!Number.isInteger(users) || users < 1) throw new RangeError(`users must be a positive integer, got ${users}`);
    const rate = options.messagesPerSecond ?? TRAFFIC_DEFAULTS.messagesPerSecond;
    if (!(rate > 0)) throw new RangeError(`messagesPerSecond must be positive, got ${rate}`);
    for (const name of ['twoPlatformShare', 'plainShare'] as const) {
      const share = options[name];
      if (share !== undefined && !(share >= 0 && share <= 1))
        throw new RangeError(`${name} must be from 0 to 1, got ${share}`);
    }
    this.#o = {
      ...TRAFFIC_DEFAULTS,
      offlineUsers: Math.ceil(users / 20),
      now: Date.now,
      ...options,
      users,
      messagesPerSecond: rate,
    };
    this.#online = Array.from({ length: users }, (_, i) => `user-${String(i).padStart(5, '0')}`);
    this.#offline = Array.from({ length: this.#o.offlineUsers }, (_, i) => `away-${String(i).padStart(4, '0')}`);
    this.#random = mulberry32(this.#o.seed);
    const twoPlatforms = drawn(users, this.#o.twoPlatformShare, mulberry32(this.#o.seed ^ PLATFORM_SALT));
    const plain = drawn(users, this.#o.plainShare, mulberry32(this.#o.seed ^ PLAIN_SALT));
    this.#online.forEach((user, i) =>
      this.#plans.set(user, {
        platforms: twoPlatforms.has(i) ? TWO_PLATFORMS : ONE_PLATFORM,
        migrate: plain.has(i) ? 'hard' : 'graceful',
      }),
    );
  }

  /** Every client the ledger saw, with its cohort and longest time without a connection until now. */
  clients(): ClientSummary[] {
    return this.ledger.clients(this.#o.now());
  }

  /**
   * Messages pushed, push calls that failed as a whole, and those sent again on a new connection after the
   * reused one was closed under them (see {@link PushCaller}).
   */
  get counts(): {
    readonly messages: number;
    readonly pushErrors: number;
    readonly pushRetries: number;
    readonly connected: number;
  } {
    return {
      messages: this.#sent,
      pushErrors: this.#pushErrors,
      pushRetries: this.#pushCaller.retried,
      connected: this.#online.filter((u) => this.ledger.isConnected(u)).length,
    };
  }

  get rates(): Rates {
    return this.#rates;
  }

  /** Connects every online user through the proxy; resolves once all are open. */
  async connect(): Promise<void> {
    const key = new TextEncoder().encode(this.#o.tokenSecret);
    const queue = [...this.#online];
    const worker = async (): Promise<void> => {
      for (let user = queue.shift(); user !== undefined; user = queue.shift()) {
        const token = await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(user)
          .setExpirationTime('24h')
          .sign(key);
        const { platforms, migrate } = this.#plans.get(user)!;
        await Promise.all(platforms.map((platform) => this.#open({ user, platform, migrate }, token)));
      }
    };
    await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  }

  /** Starts pushing `messagesPerSecond`. */
  start(): void {
    if (this.#timer) return;
    const startedMs = this.#o.now();
    this.#window = { startMs: startedMs, realtime: 0, offline: 0, moves: this.#moves() };
    const tick = (): void => {
      const due = Math.floor(((this.#o.now() - startedMs) / 1000) * this.#o.messagesPerSecond);
      const messages: Message[] = [];
      while (this.#sent < due) messages.push(this.#message(this.#sent++));
      for (let i = 0; i < messages.length;) {
        const size = i % 2 === 0 ? 1 : this.#o.batch;
        this.#push(messages.slice(i, i + size));
        i += size;
      }
      this.#roll();
      this.#timer = setTimeout(tick, TICK_MS);
    };
    tick();
  }

  /** Stops pushing; resolves when every push call has been answered. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.all(this.#inFlight);
  }

  /**
   * Resolves once every message push answered realtime has reached its client (checked at
   * each receipt), or after `timeoutMs`: what is still missing then is lost, and the ledger says so.
   */
  async receipts(timeoutMs = RECEIPT_TIMEOUT_MS): Promise<void> {
    if (this.ledger.awaitingReceipt === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const check = (): void => {
        if (this.ledger.awaitingReceipt === 0) done();
      };
      function done(): void {
        clearTimeout(timer);
        for (const client of clients) client.off('message', check);
        resolve();
      }
      const clients = this.#clients.map((c) => c.client);
      for (const client of clients) client.on('message', check);
    });
  }

  /**
   * Resolves true once every online user is connected (checked at each open), or false after
   * `timeoutMs`: after a gateway, proxy or ring fault, whether every user found its way back.
   */
  /** The clients not connected now: user, platform, state and last error (a diagnosis when some never return). */
  notConnected(): string[] {
    return this.#clients
      .filter(({ client }) => client.state !== 'open')
      .map(
        (c) => `${c.user}/${c.platform} ${c.client.state}: closed ${c.lastClose ?? '-'}, ${c.lastError ?? 'no error'}`,
      );
  }

  async allConnected(timeoutMs = RECEIPT_TIMEOUT_MS): Promise<boolean> {
    const isDone = (): boolean => this.counts.connected === this.#online.length;
    if (isDone()) return true;
    return new Promise<boolean>((resolve) => {
      const clients = this.#clients.map((c) => c.client);
      const finish = (value: boolean): void => {
        clearTimeout(timer);
        for (const client of clients) client.off('open', check);
        resolve(value);
      };
      const check = (): void => {
        if (isDone()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      for (const client of clients) client.on('open', check);
    });
  }

  /** Stops pushing and closes every client (stopped on purpose, for the ledger). Idempotent. */
  async close(): Promise<void> {
    await this.stop();
    this.#pushCaller.close();
    for (const { user, platform } of this.#clients) this.ledger.stopped(user, platform);
    await Promise.all(this.#clients.map(({ client }) => client.close()));
    this.#clients.length = 0;
  }

  #open(init: { user: string; platform: string; migrate: MigrateMode }, token: string): Promise<void> {
    const { user, platform, migrate } = init;
    const client = new ImringClient({ url: this.#o.proxyUrl, userID: user, platform, token, migrate });
    const entry: TrafficClient = { user, platform, client };
    this.#clients.push(entry);
    const ledger = this.ledger;
    client.on('message', (message: { msgID: string }) => ledger.received(message.msgID, user, platform));
    client.on('close', (event: { code: number; reason: string }) => {
      entry.lastClose = `${event.code} ${event.reason}`;
      ledger.closed(user, this.#o.now(), event.code, platform);
    });
    client.on('move', (event: ClientMoveEvent) => ledger.moved(user, event, platform));
    // It reconnects on its own and closes are accounted above; the last error is kept for a diagnosis.
    client.on('error', (error: Error) => (entry.lastError = error.message));
    return new Promise((resolve) => {
      client.on('open', () => {
        ledger.opened(user, this.#o.now(), { platform, migrate });
        resolve();
      });
      client.connect();
    });
  }

  #message(n: number): Message {
    const group = this.#random() < this.#o.groupShare;
    const size = group ? Math.min(this.#o.groupSize, this.#online.length) : 1;
    const recipients = new Set<string>();
    while (recipients.size < size) recipients.add(this.#online[Math.floor(this.#random() * this.#online.length)]!);
    // One message in 20 also goes to a user who is not connected: offline, correctly.
    if (this.#offline.length > 0 && this.#random() < 0.05)
      recipients.add(this.#offline[Math.floor(this.#random() * this.#offline.length)]!);
    return { msgID: `m${n}`, toUserIDs: [...recipients], payload: `demo message ${n}` };
  }

  #push(messages: Message[]): void {
    const atMs = this.#o.now();
    for (const m of messages) this.ledger.sent(m.msgID, m.toUserIDs, atMs);
    const call = this.#call(messages);
    this.#inFlight.add(call);
    void call.finally(() => this.#inFlight.delete(call));
  }

  async #call(messages: Message[]): Promise<void> {
    try {
      const response = await this.#pushCaller.post(`${this.#o.pushUrl}/v1/push`, { messages });
      if (response.status !== 200) throw new Error(`push answered ${response.status}`);
      const body = response.body as {
        results: { msgID: string; userID: string; status: string; via?: string; reason?: string }[];
      };
      for (const r of body.results) {
        const outcome: Outcome =
          r.status === 'realtime'
            ? { status: 'realtime', via: r.via ?? 'current' }
            : { status: 'offline', reason: r.reason ?? 'unknown' };
        if (outcome.status === 'realtime') this.#window.realtime++;
        else this.#window.offline++;
        this.ledger.answered(r.msgID, r.userID, outcome, this.#o.now());
      }
    } catch {
      this.#pushErrors++;
      for (const m of messages) this.ledger.failed(m.msgID, m.toUserIDs, 'push_unreachable', this.#o.now());
    }
  }

  #roll(): void {
    const now = this.#o.now();
    if (now - this.#window.startMs < 1000) return;
    const seconds = (now - this.#window.startMs) / 1000;
    const moves = this.#moves();
    this.#rates = {
      realtimePerSecond: this.#window.realtime / seconds,
      offlinePerSecond: this.#window.offline / seconds,
      movesPerSecond: (moves - this.#window.moves) / seconds,
    };
    this.#window = { startMs: now, realtime: 0, offline: 0, moves };
  }

  /** Moves so far, of every kind. */
  #moves(): number {
    const { graceful, forced, closed } = this.ledger.totals.moves;
    return graceful + forced + closed;
  }
}

interface Message {
  readonly msgID: string;
  readonly toUserIDs: string[];
  readonly payload: string;
}

/** `round(count × share)` distinct indices below `count`, drawn with `random`. */
function drawn(count: number, share: number, random: () => number): Set<number> {
  const indices = Array.from({ length: count }, (_, i) => i);
  const wanted = Math.round(count * share);
  // A partial Fisher-Yates shuffle: the first `wanted` places are a uniform draw.
  for (let i = 0; i < wanted; i++) {
    const j = i + Math.floor(random() * (count - i));
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return new Set(indices.slice(0, wanted));
}

/** A small seeded PRNG (mulberry32): the demo's recipients are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
