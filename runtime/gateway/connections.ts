import type { Ring } from '../../ring/index.js';

/** One client connection as the connection table sees it; the ws server implements it over a socket. */
export interface ClientConnection {
  readonly userID: string;
  readonly platform: string;
  /** Opted in to graceful migration (`migrate=graceful`): asked to move with a migrate frame instead of closed. */
  readonly graceful: boolean;
  /** The client's own ID (`clientID` connect parameter), when it sent one. */
  readonly clientID?: string | undefined;
  /**
   * Writes a prepared text frame; false when the connection is closing or was just closed for
   * being too slow (the frame then counts as not delivered to it).
   */
  send(frame: Buffer): boolean;
  /** Starts the closing handshake with `code`; the connection leaves the table at once. */
  close(code: number, reason: string): void;
}

interface UserEntry {
  /** At most one per platform; a handful per user, so an array beats a Map on the hot path. */
  readonly connections: ClientConnection[];
  /** Whether `self` owns the user in the ring last given to `setRing` (true without a ring). */
  owned: boolean;
}

const EMPTY: readonly ClientConnection[] = Object.freeze([]);

/**
 * Users → their connections here (one per platform), the misplaced count, and the users
 * closed for migration with when (for MIGRATED answers). No I/O: closing is the
 * connection's business; the table only keeps the books.
 */
export class ConnectionTable {
  readonly #self: string;
  readonly #users = new Map<string, UserEntry>();
  /** userID → ms when it was closed for migration; in insertion (= time) order, for pruning. */
  readonly #migrated = new Map<string, number>();
  #ring: Ring | undefined;
  #connections = 0;
  #misplaced = 0;

  constructor(self: string, ring?: Ring) {
    this.#self = self;
    this.#ring = ring;
  }

  /** Open connections. */
  get size(): number {
    return this.#connections;
  }

  /** Connections of users whose owner in the current ring is not `self`. */
  get misplaced(): number {
    return this.#misplaced;
  }

  /** Users with at least one connection here. */
  userIDs(): IterableIterator<string> {
    return this.#users.keys();
  }

  /** Whether `self` owns `userID` in the current ring (true when there is no ring or no member). */
  isOwned(userID: string): boolean {
    const owner = this.#ring?.owner(userID);
    return owner === undefined || owner.name === this.#self;
  }

  /** Serves `ring` from now on: recounts misplaced connections (one hash per user). */
  setRing(ring: Ring): void {
    this.#ring = ring;
    let misplaced = 0;
    for (const [userID, entry] of this.#users) {
      entry.owned = this.isOwned(userID);
      if (!entry.owned) misplaced += entry.connections.length;
    }
    this.#misplaced = misplaced;
  }

  /** Adds `connection`; returns the connection it replaces (same user and platform), if any. */
  add(connection: ClientConnection): ClientConnection | undefined {
    let entry = this.#users.get(connection.userID);
    if (entry === undefined) {
      entry = { connections: [], owned: this.isOwned(connection.userID) };
      this.#users.set(connection.userID, entry);
    }
    const index = entry.connections.findIndex((c) => c.platform === connection.platform);
    const replaced = index >= 0 ? entry.connections[index] : undefined;
    if (index >= 0) entry.connections[index] = connection;
    else {
      entry.connections.push(connection);
      this.#count(entry, 1);
    }
    return replaced;
  }

  /** Removes `connection` if it is still in the table; true when it was. */
  remove(connection: ClientConnection): boolean {
    const entry = this.#users.get(connection.userID);
    if (entry === undefined) return false;
    const index = entry.connections.indexOf(connection);
    if (index < 0) return false;
    entry.connections.splice(index, 1);
    this.#count(entry, -1);
    if (entry.connections.length === 0) this.#users.delete(connection.userID);
    return true;
  }

  /** The user's connections; the live array (do not keep it), empty when none. */
  connectionsOf(userID: string): readonly ClientConnection[] {
    return this.#users.get(userID)?.connections ?? EMPTY;
  }

  /**
   * Closes every connection of `userID` with `code` (each leaves the table as it closes);
   * returns how many were closed.
   */
  closeUser(userID: string, code: number, reason: string): number {
    const connections = this.#users.get(userID)?.connections;
    if (connections === undefined) return 0;
    let closed = 0;
    // Backwards: each close splices its connection out of this very array.
    for (let i = connections.length - 1; i >= 0; i--) {
      const connection = connections[i]!;
      connection.close(code, reason);
      this.remove(connection);
      closed++;
    }
    return closed;
  }

  /** Remembers that `userID` was closed here for migration at `nowMs`. */
  markMigrated(userID: string, nowMs: number): void {
    // Delete first so the Map stays in time order and pruning can stop at the first live entry.
    this.#migrated.delete(userID);
    this.#migrated.set(userID, nowMs);
  }

  /** Whether `userID` was closed here for migration less than `windowMs` before `nowMs`. */
  wasMigrated(userID: string, nowMs: number, windowMs: number): boolean {
    if (this.#migrated.size === 0) return false;
    const at = this.#migrated.get(userID);
    return at !== undefined && nowMs - at < windowMs;
  }

  /** Forgets migrations older than `windowMs`; returns how many are still remembered. */
  pruneMigrated(nowMs: number, windowMs: number): number {
    for (const [userID, at] of this.#migrated) {
      if (nowMs - at < windowMs) break;
      this.#migrated.delete(userID);
    }
    return this.#migrated.size;
  }

  #count(entry: UserEntry, delta: 1 | -1): void {
    this.#connections += delta;
    if (!entry.owned) this.#misplaced += delta;
  }
}
