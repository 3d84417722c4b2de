import type { Ring } from './ring.js';

/** A key whose owner differs between two rings. */
export interface MovedKey {
  readonly key: string;
  /** Owner name in the first ring, or `null` when it has no members. */
  readonly from: string | null;
  readonly to: string | null;
}

/** The keys of `keys` whose owner in `before` differs from their owner in `after`. */
export function movedKeys(before: Ring, after: Ring, keys: Iterable<string>): MovedKey[] {
  const moved: MovedKey[] = [];
  for (const key of keys) {
    const from = before.owner(key)?.name ?? null;
    const to = after.owner(key)?.name ?? null;
    if (from !== to) moved.push({ key, from, to });
  }
  return moved;
}

/** Table entries whose member differs between two rings of the same table size. */
export function movedEntries(before: Ring, after: Ring): number {
  if (before.tableSize !== after.tableSize) {
    throw new RangeError(`movedEntries needs equal table sizes, got ${before.tableSize} and ${after.tableSize}`);
  }
  const a = before.tableNames();
  const b = after.tableNames();
  let moved = 0;
  for (let i = 0; i < before.tableSize; i++) if (a[i] !== b[i]) moved++;
  return moved;
}

/** Each member's share of the table, by name (shares add up to 1). */
export function tableShares(ring: Ring): Map<string, number> {
  const counts = ring.entryCounts();
  return new Map(ring.members.map((m, i) => [m.name, counts[i]! / ring.tableSize]));
}
