import { DEFAULT_TABLE_SIZE, sortedMembers, type RingDocument, type RingMember, type RingState } from './document.js';
import { maglevTable, type MaglevTable } from './maglev.js';
import { murmur3 } from './murmur3.js';

/** How a ring without a document (tests, benchmarks, `previous`) is described. */
export interface RingInit {
  members: readonly RingMember[];
  /** Default 65537. */
  tableSize?: number;
  /** Default 0 (no document). */
  version?: number;
  /** Default `Committed`. */
  state?: RingState;
  previous?: { version: number; members: readonly RingMember[] } | null;
}

/**
 * The one mapping from user IDs to gateways (RING-SPEC.md sections 3 and 4). Built once per
 * document: the Maglev table is computed here, so `owner()` is one hash and one array read.
 */
export class Ring {
  /** Ring version (0 for a ring built without a document). */
  readonly version: number;
  readonly state: RingState;
  readonly tableSize: number;
  /** Members sorted by name (RING-SPEC.md section 2). */
  readonly members: readonly RingMember[];
  /** The document this ring was built from, if any. */
  readonly document: RingDocument | null;
  readonly #table: MaglevTable | null;
  readonly #previousInit: RingInit | null;
  #previous: Ring | null | undefined;
  #counts: readonly number[] | undefined;

  constructor(init: RingInit, document: RingDocument | null = null) {
    this.version = init.version ?? 0;
    this.state = init.state ?? 'Committed';
    this.tableSize = init.tableSize ?? DEFAULT_TABLE_SIZE;
    this.members = Object.freeze(sortedMembers(init.members));
    this.document = document;
    this.#table =
      this.members.length === 0
        ? null
        : maglevTable(
            this.members.map((m) => m.name),
            this.tableSize,
          );
    this.#previousInit = init.previous
      ? { members: init.previous.members, version: init.previous.version, tableSize: this.tableSize }
      : null;
  }

  /** Builds the ring a validated document describes (see `parseRingDocument`). */
  static fromDocument(document: RingDocument): Ring {
    return new Ring(
      {
        members: document.members,
        tableSize: document.algorithm.tableSize,
        version: document.version,
        state: document.state,
        previous: document.previous,
      },
      document,
    );
  }

  /**
   * The member that owns `key` (a user ID, exactly as the client sent it), or `undefined` when
   * the ring has no members. Allocates nothing.
   */
  owner(key: string): RingMember | undefined {
    const table = this.#table;
    if (table === null) return undefined;
    return this.members[table[murmur3(key, 0) % this.tableSize]!];
  }

  /** The ring this one replaces, built on first use; `null` at version 1 or without one. */
  get previous(): Ring | null {
    if (this.#previous === undefined) {
      this.#previous = this.#previousInit ? new Ring(this.#previousInit) : null;
    }
    return this.#previous;
  }

  /** The member named `name`, if it is in this ring. */
  member(name: string): RingMember | undefined {
    return this.members.find((m) => m.name === name);
  }

  /** How many table entries each member holds, in member order (counted once, then kept). */
  entryCounts(): number[] {
    if (this.#counts === undefined) {
      const counts = new Array<number>(this.members.length).fill(0);
      for (const index of this.#table ?? []) counts[index]! += 1;
      this.#counts = counts;
    }
    return [...this.#counts];
  }

  /** The share of the table (and so of users, in expectation) `name` owns: 0 when absent. */
  shareOf(name: string): number {
    const index = this.members.findIndex((m) => m.name === name);
    if (index < 0) return 0;
    return this.entryCounts()[index]! / this.tableSize;
  }

  /** The member name at each table entry, in entry order (for conformance tests and tools). */
  tableNames(): string[] {
    const table = this.#table;
    if (table === null) return [];
    return Array.from(table, (index) => this.members[index]!.name);
  }
}
