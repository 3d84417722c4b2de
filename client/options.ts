import type { ReconnectPolicy } from './policy.js';

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
  /**
   * How long `close()`, or the end of a move, waits for the close handshake before dropping the socket, in ms.
   * Default 2 000.
   */
  closeTimeoutMs?: number;
  /**
   * `graceful` (default): the client adds `migrate=graceful` to its connect URL and, asked to move (a `migrate`
   * frame), moves make-before-break. `hard`: it does not opt in; the gateway closes it with 4001/4002 and it
   * reconnects.
   */
  migrate?: MigrateMode;
  /** Randomness in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
  /** Monotonic clock in ms (move deadlines and `overlapMs`). Default `performance.now`. */
  now?: () => number;
  /** Timer functions (injected by tests). Default the global ones. */
  setTimeout?: (callback: () => void, ms: number) => unknown;
  clearTimeout?(handle: unknown): void;
}

/** How a client moves when its gateway no longer owns it (DESIGN.md section 5, graceful migration). */
export type MigrateMode = 'graceful' | 'hard';

/** Defaults of {@link ClientOptions}. */
export const CLIENT_DEFAULTS = {
  reconnect: { baseMs: 500, maxMs: 30_000, jitter: 0.2, immediateMaxMs: 100, resetAfterMs: 5_000 },
  maxFrameBytes: 1024 * 1024,
  maxQueuedMessages: 10_000,
  handshakeTimeoutMs: 10_000,
  closeTimeoutMs: 2_000,
  migrate: 'graceful',
} as const;

/** {@link ClientOptions} validated, with the defaults filled in. */
export interface ResolvedClientOptions {
  readonly url: URL;
  readonly userID: string;
  readonly platform: string;
  readonly token: () => Promise<string>;
  readonly policy: ReconnectPolicy;
  readonly maxFrameBytes: number;
  readonly maxQueuedMessages: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly migrate: MigrateMode;
  readonly random: () => number;
  readonly now: () => number;
  readonly setTimer: (callback: () => void, ms: number) => unknown;
  readonly clearTimer: (handle: unknown) => void;
}

/**
 * Validates every option at once and fills in the defaults.
 * @throws {TypeError | RangeError} naming the first bad option.
 */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
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
    migrate: checkedMigrate(options.migrate ?? CLIENT_DEFAULTS.migrate),
    random: options.random ?? Math.random,
    now: options.now ?? (() => performance.now()),
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

function checkedMigrate(value: unknown): MigrateMode {
  if (value !== 'graceful' && value !== 'hard')
    throw new TypeError(`migrate must be 'graceful' or 'hard', got ${String(value)}`);
  return value;
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
