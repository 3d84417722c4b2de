import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { RingSource } from '../ring-source.js';

/** Timer functions the migration runner schedules with (injected by tests to assert pacing). */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** Address the ws and gRPC servers bind (tests: 127.0.0.1). */
  host: string;
  /** ws port (`GET /ws` upgrades) and gRPC port; 0 picks a free one. The http/ops port is the CLI's. */
  ports: { ws: number; grpc: number };
  /** This gateway's member name in the ring (its pod name), e.g. `im-3`. */
  self: string;
  ringSource: RingSource;
  /** HS256 key of client tokens (bytes, or a string taken as its UTF-8 bytes). Required, not empty. */
  tokenSecret: Uint8Array | string;
  /** Largest client frame in bytes; a bigger one closes the connection with 1009. Default 64 KiB. */
  maxPayloadBytes?: number;
  /** Per-connection send buffer limit in bytes; above it the connection is closed with 4008. Default 1 MiB. */
  maxSendBufferBytes?: number;
  /**
   * Ping period in ms (each connection is pinged once per period; the pings are spread over it); a connection that has
   * not answered by its next ping is terminated. Default 30 000.
   */
  pingIntervalMs?: number;
  /** Open connections per process; beyond it upgrades are refused with 503. Default 50 000. */
  maxConnections?: number;
  /**
   * The pod's grace period in ms (`terminationGracePeriodSeconds`): how long after drain() (SIGTERM)
   * the process may still run. Default 30 000, Kubernetes' default.
   */
  terminationGraceMs?: number;
  /**
   * What drain() (SIGTERM) does with the connections: `leave-ring` (default) keeps serving them until a committed
   * ring without this gateway moves them; `close` closes every one with 4002 at once, for a gateway whose operator
   * does not take stopping members out of the ring (kept for comparison: bench:lifecycle).
   */
  shutdown?: 'leave-ring' | 'close';
  /**
   * How long before the grace period ends a draining gateway closes every connection left with 4002,
   * in ms (no migrate frame: no time is left for a move). Default: the larger of 2 s and a tenth of
   * `terminationGraceMs`, but at most half of it (30 s → 3 s, 60 s → 6 s, 2 s → 1 s).
   */
  forceCloseMarginMs?: number;
  /** How long a closing handshake may take before the socket is destroyed, in ms. Default 10 000. */
  closeTimeoutMs?: number;
  logger?: Logger;
  registry?: Registry;
  /**
   * Told when the gateway's last misplaced connection, or its last connection, is gone: what the
   * operator waits for to call a ring converged, so the CLI reports it on the Lease at once
   * instead of at the next renewal. Default none.
   */
  onSettled?: () => void;
  /** Clock in ms since the epoch (handoff windows). Default `Date.now`. */
  now?: () => number;
  /** Uniform [0, 1) source for migration jitter. Default `Math.random`. */
  random?: () => number;
  /** Timers of the migration and drain pacing. Default the global ones. */
  timers?: Timers;
}

/** Defaults of {@link GatewayOptions}; each limit named with its unit. */
export const DEFAULTS = Object.freeze({
  maxPayloadBytes: 64 * 1024,
  maxSendBufferBytes: 1024 * 1024,
  pingIntervalMs: 30_000,
  maxConnections: 50_000,
  closeTimeoutMs: 10_000,
  terminationGraceMs: 30_000,
});

/** The default {@link GatewayOptions.forceCloseMarginMs} for a grace period of `graceMs`. */
export function defaultForceCloseMarginMs(graceMs: number): number {
  return Math.min(Math.max(2000, graceMs / 10), graceMs / 2);
}

export type ResolvedGatewayOptions = Required<Omit<GatewayOptions, 'tokenSecret'>> & { tokenKey: Uint8Array };

const realTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const LIMITS = [
  'maxPayloadBytes',
  'maxSendBufferBytes',
  'pingIntervalMs',
  'maxConnections',
  'closeTimeoutMs',
  'terminationGraceMs',
] as const;

/**
 * Fills defaults and validates every option at once.
 * @throws {TypeError | RangeError} naming the first bad option.
 */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  checkPlacement(options);
  const limits: Record<(typeof LIMITS)[number], number> = { ...DEFAULTS };
  for (const name of LIMITS) {
    const value = options[name] ?? DEFAULTS[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      throw new RangeError(`startGateway: options.${name} must be a positive number`);
    limits[name] = value;
  }
  const forceCloseMarginMs = forceCloseMarginOf(options, limits.terminationGraceMs);
  for (const name of ['now', 'random', 'onSettled'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function')
      throw new TypeError(`startGateway: options.${name} must be a function`);
  }
  return {
    host: options.host,
    ports: { ws: options.ports.ws, grpc: options.ports.grpc },
    self: options.self,
    ringSource: options.ringSource,
    tokenKey: tokenKeyOf(options.tokenSecret),
    ...limits,
    forceCloseMarginMs,
    logger: options.logger ?? pino({ level: 'silent' }),
    registry: options.registry ?? new Registry(),
    now: options.now ?? Date.now,
    random: options.random ?? Math.random,
    timers: options.timers ?? realTimers,
    onSettled: options.onSettled ?? (() => undefined),
    shutdown: shutdownOf(options.shutdown),
  };
}

function shutdownOf(mode: GatewayOptions['shutdown']): 'leave-ring' | 'close' {
  if (mode === undefined || mode === 'leave-ring' || mode === 'close') return mode ?? 'leave-ring';
  throw new RangeError(`startGateway: options.shutdown must be leave-ring or close, got ${JSON.stringify(mode)}`);
}

function forceCloseMarginOf(options: GatewayOptions, graceMs: number): number {
  const marginMs = options.forceCloseMarginMs ?? defaultForceCloseMarginMs(graceMs);
  if (!(marginMs >= 0 && marginMs < graceMs))
    throw new RangeError(
      'startGateway: options.forceCloseMarginMs must be at least 0 and less than terminationGraceMs',
    );
  return marginMs;
}

function checkPlacement(options: GatewayOptions): void {
  if (typeof options.host !== 'string' || options.host === '')
    throw new TypeError('startGateway: options.host must be a non-empty string');
  for (const name of ['ws', 'grpc'] as const) {
    const port = options.ports?.[name];
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError(`startGateway: options.ports.${name} must be an integer in 0..65535`);
  }
  if (typeof options.self !== 'string' || options.self === '')
    throw new TypeError('startGateway: options.self must be a non-empty string');
  if (typeof options.ringSource?.current !== 'function')
    throw new TypeError('startGateway: options.ringSource must be a RingSource');
}

function tokenKeyOf(secret: Uint8Array | string): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (!(key instanceof Uint8Array) || key.length === 0)
    throw new TypeError('startGateway: options.tokenSecret must be a non-empty string or Uint8Array');
  return key;
}
