import { CloseCodes, REPLACED_BY_SAME_CLIENT, type MigrateFrame } from '../ring/contract.js';

/**
 * The client's decisions as pure functions: what a close code means, how long to wait before
 * the next attempt, and what a frame says. The socket and timers live in `client.ts`.
 */

/** Reconnection timing, in ms (jitter as a fraction). */
export interface ReconnectPolicy {
  /** First delay after a failure. */
  readonly baseMs: number;
  /** Longest delay. */
  readonly maxMs: number;
  /** Each delay is scaled by a factor drawn from [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /** Longest delay of an "at once" reconnect (4001 moved, 4002 shutting down). */
  readonly immediateMaxMs: number;
  /** A connection open this long resets the backoff. */
  readonly resetAfterMs: number;
}

/** What to do after a socket closed. */
export type CloseAction =
  { readonly kind: 'stop'; readonly why: string } | { readonly kind: 'reconnect'; readonly immediate: boolean };

/**
 * The action for a close `code` (with its `reason`, and the HTTP status when the handshake was
 * refused): moved and shutting down reconnect at once (DESIGN.md section 5, step 5: the proxy
 * already routes by the new ring), and so does replaced by an attempt of this client's own (4003
 * with {@link REPLACED_BY_SAME_CLIENT}: one it had given up on reached the gateway late);
 * unauthorized (4401 or an HTTP 401) and replaced (4003: another connection of this user and
 * platform took over) stop; anything else backs off.
 */
export function closeAction(code: number, httpStatus?: number, reason?: string): CloseAction {
  if (code === CloseCodes.unauthorized || httpStatus === 401) return { kind: 'stop', why: 'unauthorized' };
  if (code === CloseCodes.replaced && reason === REPLACED_BY_SAME_CLIENT) return { kind: 'reconnect', immediate: true };
  if (code === CloseCodes.replaced) return { kind: 'stop', why: 'replaced by a newer connection' };
  if (code === CloseCodes.moved || code === CloseCodes.shuttingDown) return { kind: 'reconnect', immediate: true };
  return { kind: 'reconnect', immediate: false };
}

/**
 * The delay before attempt `failures + 1`: `baseMs · 2^failures`, capped at `maxMs`, scaled by
 * a jitter factor from `random()` in [0, 1) (so clients dropped together do not return together).
 */
export function backoffDelay(failures: number, policy: ReconnectPolicy, random: () => number): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures, 52));
  return Math.round(exponential * (1 + policy.jitter * (2 * random() - 1)));
}

/** The delay of an "at once" reconnect: up to `immediateMaxMs`, spread by `random()`. */
export function immediateDelay(policy: ReconnectPolicy, random: () => number): number {
  return Math.round(policy.immediateMaxMs * random());
}

/**
 * The delay before retry `failures + 1` of a move's new connection: the backoff delay, or `undefined` when the retry
 * would not start before the deadline, `remainingMs` from now (the client then keeps its old connection until the
 * gateway closes it, and reconnects as after any 4001/4002).
 */
export function moveRetryDelay(
  failures: number,
  policy: ReconnectPolicy,
  random: () => number,
  remainingMs: number,
): number | undefined {
  const delayMs = backoffDelay(failures, policy, random);
  return delayMs < remainingMs ? delayMs : undefined;
}

/** A message the gateway delivered. */
export interface ServerMessage {
  readonly msgID: string;
  readonly payload: string;
}

/** What a text frame holds: a message, a request to move, a frame of a type this client does not know, or junk. */
export type ParsedFrame =
  | { readonly kind: 'message'; readonly message: ServerMessage }
  | { readonly kind: 'migrate'; readonly migrate: MigrateFrame }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * Parses a gateway text frame (DESIGN.md section 6): `{"type":"message","msgID":"…","payload":"…"}` or
 * `{"type":"migrate","reason":"ring"|"shutdown","deadlineMs":<n>}`.
 */
export function parseFrame(text: string): ParsedFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'a frame is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { kind: 'invalid', reason: 'a frame is not a JSON object' };
  const frame = value as Record<string, unknown>;
  if (frame.type === 'migrate') return parseMigrate(frame);
  // Unknown types are for newer gateways; this client skips them.
  if (frame.type !== 'message') return { kind: 'ignored' };
  if (typeof frame.msgID !== 'string' || typeof frame.payload !== 'string')
    return { kind: 'invalid', reason: 'a message frame needs string msgID and payload' };
  return { kind: 'message', message: { msgID: frame.msgID, payload: frame.payload } };
}

function parseMigrate(frame: Record<string, unknown>): ParsedFrame {
  const { reason, deadlineMs } = frame;
  if (reason !== 'ring' && reason !== 'shutdown')
    return { kind: 'invalid', reason: 'a migrate frame needs reason "ring" or "shutdown"' };
  if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs < 0)
    return { kind: 'invalid', reason: 'a migrate frame needs a deadlineMs of at least 0' };
  return { kind: 'migrate', migrate: { type: 'migrate', reason, deadlineMs } };
}
