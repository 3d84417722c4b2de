import type { Timers } from './options.js';

/** Base tick of paced closing, in ms: closes (or migrate frames) happen in batches about this often. */
export const PACE_TICK_MS = 100;
/** Each gap between batches is stretched by up to this fraction at random (never shortened). */
export const PACE_JITTER = 0.1;

/**
 * Connections a gateway asks to move at once, in seconds of its migrate rate: at 500/s, at most
 * 250 asked and not yet gone. The rate paces the asking; this window paces it by completion too,
 * as TCP's congestion window does: when handshakes slow down (the proxies, the new gateways or the
 * machine busy), fewer moves run at once instead of every one queueing behind the others until its
 * deadline. Unloaded, a move takes well under half a second, so the window does not slow a
 * migration below its rate.
 */
export const MOVE_WINDOW_SECONDS = 0.5;

/** How many connections may be moving at once at `ratePerSecond` (at least 1). */
export function moveWindow(ratePerSecond: number): number {
  return Math.max(1, Math.ceil(ratePerSecond * MOVE_WINDOW_SECONDS));
}

/** The users (of `userIDs`) this gateway no longer owns, in the order given. */
export function usersToMigrate(userIDs: Iterable<string>, isOwned: (userID: string) => boolean): string[] {
  const users: string[] = [];
  for (const userID of userIDs) if (!isOwned(userID)) users.push(userID);
  return users;
}

/**
 * Batches of `batch` closes every `intervalMs` make `ratePerSecond`: about ten batches a
 * second, or one close per batch for slow rates (e.g. 2/s → 1 close every 500 ms).
 */
export function pace(ratePerSecond: number): { batch: number; intervalMs: number } {
  const batch = Math.max(1, Math.floor((ratePerSecond * PACE_TICK_MS) / 1000));
  return { batch, intervalMs: (batch * 1000) / ratePerSecond };
}

/** Options of {@link PacedCloser}. */
export interface PacedCloserOptions {
  timers: Timers;
  /** Clock in ms (any origin, monotonic enough). */
  now: () => number;
  /** Uniform [0, 1). */
  random: () => number;
  /**
   * Closes a user's connections, or asks them to move; returns how many it closed or asked (0: nothing
   * to do, costs no budget).
   */
  close: (userID: string) => number;
  /** Called when the queue runs empty after closing something. */
  onIdle?: () => void;
  /**
   * How many more it may close or ask now (default unlimited): a batch takes at most this many, and at 0 it waits
   * for {@link PacedCloser.wake}.
   */
  room?: () => number;
}

/**
 * Closes queued users' connections at most `ratePerSecond` per second (averaged over each
 * batch; a user's connections close together, so a batch may exceed its budget by the
 * last user's extra connections). The first batch waits a random part of one interval and
 * every later gap is stretched by up to {@link PACE_JITTER}, so gateways that see the same
 * ring at the same moment do not send their clients back in lockstep.
 */
export class PacedCloser {
  readonly #options: PacedCloserOptions;
  #queue = new Set<string>();
  #pace = pace(1);
  #timer: unknown = undefined;
  #lastBatchMs: number | undefined;
  /** A batch found no room: the next waits for {@link PacedCloser.wake}. */
  #waiting = false;

  constructor(options: PacedCloserOptions) {
    this.#options = options;
  }

  /** Users still queued. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Replaces the queue with `userIDs` (users not listed are no longer closed) at `ratePerSecond`. */
  replace(userIDs: Iterable<string>, ratePerSecond: number): void {
    this.#queue = new Set(userIDs);
    this.#pace = pace(ratePerSecond);
    this.#schedule();
  }

  /** Adds one user to the queue at the current rate. */
  add(userID: string): void {
    this.#queue.add(userID);
    this.#schedule();
  }

  /** Room was made (a move ended): a batch that found none is scheduled again. */
  wake(): void {
    if (!this.#waiting) return;
    this.#waiting = false;
    this.#schedule();
  }

  /** Empties the queue and cancels the pending batch. */
  clear(): void {
    this.#queue.clear();
    this.#waiting = false;
    if (this.#timer !== undefined) this.#options.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiting || this.#queue.size === 0) return;
    const { intervalMs } = this.#pace;
    const random = this.#options.random();
    // After a batch the next one waits a full (stretched) interval, however the queue refilled.
    const delayMs =
      this.#lastBatchMs === undefined
        ? intervalMs * random
        : Math.max(0, this.#lastBatchMs + intervalMs * (1 + PACE_JITTER * random) - this.#options.now());
    this.#timer = this.#options.timers.setTimeout(() => this.#tick(), delayMs);
  }

  #tick(): void {
    this.#timer = undefined;
    this.#lastBatchMs = this.#options.now();
    const budget = Math.min(this.#pace.batch, this.#options.room?.() ?? Number.POSITIVE_INFINITY);
    if (budget <= 0) {
      this.#waiting = true;
      return;
    }
    let closed = 0;
    for (const userID of this.#queue) {
      if (closed >= budget) break;
      this.#queue.delete(userID);
      closed += this.#options.close(userID);
    }
    if (this.#queue.size > 0) this.#schedule();
    else if (closed > 0) this.#options.onIdle?.();
  }
}
