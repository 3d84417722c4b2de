import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { checkAcceptLimit, type AcceptLimit } from '../accept-gate.js';
import type { RingSource } from '../ring-source.js';
import { createResolver, type Resolver } from '../resolver.js';

/** Options of {@link startProxy}. Validated all at once; a bad one throws naming it. */
export interface ProxyOptions {
  /** Address to bind: client traffic (`/ws`) only; probes and metrics are served by the ops server. */
  host: string;
  /** Port to bind (0: any free port; the bound one is `Proxy.port`). */
  port: number;
  /** Where the ring comes from: its routing ring is asked for on every upgrade. */
  ringSource: RingSource;
  /** Resolves member hosts. Default `createResolver()` (closed with the proxy). */
  resolver?: Resolver;
  /** HS256 key: when set, tokens are checked (sub = userID, exp required) before dialling. */
  tokenSecret?: Uint8Array | string;
  /** Bound on resolving + connecting + the gateway's first byte, in ms. Default 3 000 → 502. */
  connectTimeoutMs?: number;
  /** Upgrades handled at once (dialling or piped; two sockets each). Default 9 000 → 503. */
  maxConnections?: number;
  /** Largest request head accepted, in bytes. Default 16 KiB (Node's own default) → 431. */
  maxHeaderBytes?: number;
  /** How long one direction may stay open after the other ended (half-open), in ms. Default 5 000. */
  halfOpenTimeoutMs?: number;
  /** How long a refused upgrade's socket may linger after its response, in ms. Default 1 000. */
  rejectLingerMs?: number;
  /**
   * New connections taken per second and at once; beyond, each is closed before any of it is
   * read (a connection flood costs little more than the accept). Open connections are never
   * affected. Default none (the CLI sets one).
   */
  acceptLimit?: AcceptLimit;
  /** Clients handed over per second when the proxy stops (`handOver()`). Default 500 (a gateway's migration rate). */
  handoverRatePerSecond?: number;
  /** How long a graceful client has to move when handed over, ms (its `migrate` frame's deadline). Default 10 000. */
  handoverDeadlineMs?: number;
  /** Default: silent. */
  logger?: Logger;
  /** Where the proxy's metrics are registered (for the ops server to serve). Default: a new Registry. */
  registry?: Registry;
}

/** Defaults of {@link ProxyOptions}. */
export const DEFAULTS = {
  connectTimeoutMs: 3_000,
  // Two sockets per connection against an open-file limit of 20 000, with room for the rest.
  maxConnections: 9_000,
  maxHeaderBytes: 16 * 1024,
  halfOpenTimeoutMs: 5_000,
  rejectLingerMs: 1_000,
  handoverRatePerSecond: 500,
  handoverDeadlineMs: 10_000,
} as const;

/** Options with every default filled in. */
export interface ResolvedProxyOptions {
  readonly host: string;
  readonly port: number;
  readonly ringSource: RingSource;
  readonly resolver: Resolver;
  /** Whether the resolver was created here (and so is closed with the proxy). */
  readonly ownsResolver: boolean;
  readonly tokenKey: Uint8Array | undefined;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxHeaderBytes: number;
  readonly halfOpenTimeoutMs: number;
  readonly rejectLingerMs: number;
  readonly handoverRatePerSecond: number;
  readonly handoverDeadlineMs: number;
  readonly acceptLimit: AcceptLimit | undefined;
  readonly logger: Logger;
  readonly registry: Registry;
}

/**
 * Validates every option at once and fills in the defaults.
 * @throws {TypeError | RangeError} naming the first bad option.
 */
export function resolveProxyOptions(options: ProxyOptions): ResolvedProxyOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('startProxy: options must be an object');
  if (typeof options.host !== 'string' || options.host === '') throw new TypeError('host must be a non-empty string');
  integer('port', options.port, { min: 0, max: 65_535 });
  const source = options.ringSource as Partial<RingSource> | undefined;
  if (typeof source?.routingRing !== 'function' || typeof source.onChange !== 'function') {
    throw new TypeError('ringSource must be a RingSource');
  }
  if (options.resolver !== undefined && typeof options.resolver.resolve !== 'function')
    throw new TypeError('resolver must be a Resolver');
  const merged = { ...DEFAULTS, ...definedOnly(options) };
  integer('connectTimeoutMs', merged.connectTimeoutMs, { min: 1, max: 600_000 });
  integer('maxConnections', merged.maxConnections, { min: 1, max: 1_000_000 });
  integer('maxHeaderBytes', merged.maxHeaderBytes, { min: 1_024, max: 1024 * 1024 });
  integer('halfOpenTimeoutMs', merged.halfOpenTimeoutMs, { min: 1, max: 600_000 });
  integer('rejectLingerMs', merged.rejectLingerMs, { min: 1, max: 60_000 });
  integer('handoverRatePerSecond', merged.handoverRatePerSecond, { min: 1, max: 1_000_000 });
  integer('handoverDeadlineMs', merged.handoverDeadlineMs, { min: 0, max: 600_000 });
  if (options.acceptLimit !== undefined) checkAcceptLimit(options.acceptLimit, 'acceptLimit');
  const key = tokenKey(options.tokenSecret);
  return {
    host: options.host,
    port: options.port,
    ringSource: options.ringSource,
    resolver: options.resolver ?? createResolver(),
    ownsResolver: options.resolver === undefined,
    tokenKey: key,
    connectTimeoutMs: merged.connectTimeoutMs,
    maxConnections: merged.maxConnections,
    maxHeaderBytes: merged.maxHeaderBytes,
    halfOpenTimeoutMs: merged.halfOpenTimeoutMs,
    rejectLingerMs: merged.rejectLingerMs,
    handoverRatePerSecond: merged.handoverRatePerSecond,
    handoverDeadlineMs: merged.handoverDeadlineMs,
    acceptLimit: options.acceptLimit,
    logger: options.logger ?? pino({ level: 'silent' }),
    registry: options.registry ?? new Registry(),
  };
}

function tokenKey(secret: Uint8Array | string | undefined): Uint8Array | undefined {
  if (secret === undefined) return undefined;
  if (typeof secret === 'string') {
    if (secret === '') throw new TypeError('tokenSecret must not be empty');
    return new TextEncoder().encode(secret);
  }
  if (!(secret instanceof Uint8Array) || secret.length === 0)
    throw new TypeError('tokenSecret must be a non-empty string or Uint8Array');
  return secret;
}

function integer(name: string, value: unknown, range: { min: number; max: number }): void {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < range.min || value > range.max)
    throw new RangeError(`${name} must be from ${range.min} to ${range.max}, got ${value}`);
}

/** The keys of `options` whose value is not undefined (so `{ x: undefined }` keeps the default). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
