import { CloseCodes, type MigrateFrame, type MigrateReason, type RingPolicy } from '../../ring/index.js';
import type { ClientConnection, ConnectionTable } from './connections.js';
import type { Timers } from './options.js';

/**
 * How a migration ended, per connection: `graceful` (asked to move, gone before its deadline: closed
 * by the client or replaced by its new connection here), `deadline` (asked to move, closed by the
 * gateway at the deadline), `closed` (did not opt in: closed with 4001/4002 at once).
 */
export type MigrationOutcome = 'graceful' | 'deadline' | 'closed';

/** Every {@link MigrationOutcome}, for metrics that start at 0. */
export const MIGRATION_OUTCOMES: readonly MigrationOutcome[] = Object.freeze(['graceful', 'deadline', 'closed']);

/** The close code and reason of a move that is not (or no longer) graceful, per reason. */
const CLOSES: Readonly<Record<MigrateReason, { code: number; reason: string }>> = {
  ring: { code: CloseCodes.moved, reason: 'moved' },
  shutdown: { code: CloseCodes.shuttingDown, reason: 'shutting down' },
};

/** The migrate frame of DESIGN.md section 6, as the bytes sent. */
export function encodeMigrateFrame(reason: MigrateReason, deadlineMs: number): Buffer {
  const frame: MigrateFrame = { type: 'migrate', reason, deadlineMs };
  return Buffer.from(JSON.stringify(frame));
}

/** Options of {@link ConnectionMover}. */
export interface ConnectionMoverOptions {
  connections: ConnectionTable;
  timers: Timers;
  /** Clock in ms (marks users migrated for the handoff window). */
  now: () => number;
  /** The policy in force: `moveDeadlineMs` for new moves, `handoffWindowMs` for MIGRATED answers. */
  policy: () => RingPolicy;
  /**
   * Whether a ring move's deadline spares `userID`'s connection: the ring served now gives the user
   * back to this gateway (the client's new connection, routed here, replaces it with 4003).
   */
  isKept: (userID: string) => boolean;
  /** Each migration that ended, by outcome. */
  onOutcome: (outcome: MigrationOutcome) => void;
  /** A connection asked to move is no longer moving (gone, replaced, closed at its deadline, or kept). */
  onSettled?: () => void;
}

/** A connection asked to move, until it goes or its deadline passes. */
interface Move {
  readonly reason: MigrateReason;
  readonly timer: unknown;
}

/**
 * Moves users off this gateway (DESIGN.md section 5, graceful migration): a connection that opted
 * in gets a migrate frame and stays (delivered to, counted as misplaced) until the client closes
 * it or `moveDeadlineMs` passes; the others are closed with 4001 (`ring`) or 4002 (`shutdown`) at
 * once. A user whose last connection left for a move is marked migrated (MIGRATED answers for the
 * handoff window).
 */
export class ConnectionMover {
  readonly #o: ConnectionMoverOptions;
  readonly #moving = new Map<ClientConnection, Move>();

  constructor(options: ConnectionMoverOptions) {
    this.#o = options;
  }

  /** Connections asked to move that are still here. */
  get moving(): number {
    return this.#moving.size;
  }

  /**
   * Asks `userID`'s connections to move, or closes them; connections already asked are left alone.
   * @returns the frames sent and connections closed (a migrate frame costs the pacing budget of a close).
   */
  move(userID: string, reason: MigrateReason): number {
    const { connections } = this.#o;
    let acted = 0;
    let closed = false;
    // A copy: each close splices its connection out of the table's live array.
    for (const connection of [...connections.connectionsOf(userID)]) {
      if (this.#moving.has(connection)) continue;
      if (connection.graceful) {
        if (this.#ask(connection, reason)) acted++;
        continue;
      }
      const close = CLOSES[reason];
      connection.close(close.code, close.reason);
      connections.remove(connection);
      this.#o.onOutcome('closed');
      acted++;
      closed = true;
    }
    if (closed) this.#leftForMove(userID);
    return acted;
  }

  /** Whether `connection` was asked to move and has not gone yet. */
  isMoving(connection: ClientConnection): boolean {
    return this.#moving.has(connection);
  }

  /** `connection` was replaced by a newer one of its user and platform: a move it was in ended well. */
  replaced(connection: ClientConnection): void {
    if (this.#end(connection)) this.#o.onOutcome('graceful');
  }

  /** `connection`'s socket closed; `byClient`: the client closed it (the end of a graceful move). */
  closed(connection: ClientConnection, init: { byClient: boolean }): void {
    if (!this.#end(connection)) return;
    // Dropped, too slow, kicked: gone, but not moved, so neither an outcome nor a MIGRATED answer.
    if (!init.byClient) return;
    this.#o.onOutcome('graceful');
    this.#leftForMove(connection.userID);
  }

  /** Cancels every deadline (the gateway stops). */
  clear(): void {
    for (const move of this.#moving.values()) this.#o.timers.clearTimeout(move.timer);
    this.#moving.clear();
  }

  /** Sends the migrate frame and starts the deadline; false when the connection could not take it. */
  #ask(connection: ClientConnection, reason: MigrateReason): boolean {
    const { moveDeadlineMs } = this.#o.policy();
    if (!connection.send(encodeMigrateFrame(reason, moveDeadlineMs))) return false;
    const timer = this.#o.timers.setTimeout(() => this.#deadline(connection), moveDeadlineMs);
    this.#moving.set(connection, { reason, timer });
    return true;
  }

  #deadline(connection: ClientConnection): void {
    const move = this.#moving.get(connection);
    if (move === undefined) return;
    this.#moving.delete(connection);
    this.#o.onSettled?.();
    // Given back before it moved: it stays, no longer moving (its move has no outcome).
    if (move.reason === 'ring' && this.#o.isKept(connection.userID)) return;
    const close = CLOSES[move.reason];
    connection.close(close.code, close.reason);
    this.#o.connections.remove(connection);
    this.#o.onOutcome('deadline');
    this.#leftForMove(connection.userID);
  }

  /** Ends `connection`'s move, cancelling its deadline; false when it was not moving. */
  #end(connection: ClientConnection): boolean {
    const move = this.#moving.get(connection);
    if (move === undefined) return false;
    this.#o.timers.clearTimeout(move.timer);
    this.#moving.delete(connection);
    this.#o.onSettled?.();
    return true;
  }

  /** Marks `userID` migrated once its last connection here is gone. */
  #leftForMove(userID: string): void {
    const { connections } = this.#o;
    if (connections.connectionsOf(userID).length > 0) return;
    const now = this.#o.now();
    connections.pruneMigrated(now, this.#o.policy().handoffWindowMs);
    connections.markMigrated(userID, now);
  }
}
