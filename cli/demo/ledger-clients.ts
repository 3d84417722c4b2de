/**
 * The demo ledger's record of one client, a (user, platform): its connections as the SDK
 * reported them ('open', 'close'), so the ledger can tell which connection a message met and
 * how it ended, and the time it spent with no open connection. A graceful move swaps
 * connections without an 'open' or a 'close': for the ledger the client stays on one
 * connection throughout. Pure.
 */
import type { MigrateMode } from '../../client/index.js';

/** How one connection ended: when (ms) and with which WebSocket close code. */
export interface Close {
  readonly atMs: number;
  readonly code: number;
}

/** One client's connection history. */
export class ClientRecord {
  readonly migrate: MigrateMode;
  /** When the client first opened a connection, ms. */
  readonly firstOpenMs: number;
  connected = false;
  /** Incremented on every open: a changed epoch means the client reconnected in between. */
  epoch = 0;
  /** The client was stopped on purpose (not a failure): it no longer counts as staying connected. */
  stopped = false;
  /** Epoch → how that connection ended. */
  readonly closes = new Map<number, Close>();
  /** Each time without an open connection, close → next open, ms. */
  readonly windowsMs: number[] = [];
  /** When the current connection opened, or when the last one closed; ms. */
  #sinceMs: number;

  constructor(migrate: MigrateMode, atMs: number) {
    this.migrate = migrate;
    this.firstOpenMs = atMs;
    this.#sinceMs = atMs;
  }

  /** A connection opened at `atMs`; returns the time the client was without one (undefined for the first open). */
  opened(atMs: number): number | undefined {
    const window = !this.connected && this.epoch > 0 ? atMs - this.#sinceMs : undefined;
    if (window !== undefined) this.windowsMs.push(window);
    this.connected = true;
    this.epoch++;
    this.#sinceMs = atMs;
    return window;
  }

  /** The open connection closed at `atMs` with `code`. */
  closed(atMs: number, code: number): void {
    if (this.connected) this.closes.set(this.epoch, { atMs, code });
    this.connected = false;
    this.#sinceMs = atMs;
  }

  /** The longest time without an open connection since the first open, counting one still going on at `nowMs`; ms. */
  longestGapMs(nowMs: number): number {
    const current = this.connected ? 0 : nowMs - this.#sinceMs;
    return Math.max(current, ...this.windowsMs);
  }
}
