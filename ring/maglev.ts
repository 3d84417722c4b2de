import { murmur3 } from './murmur3.js';

/** A Maglev lookup table: entry `e` holds the index of its member in the sorted member list. */
export type MaglevTable = Uint16Array | Uint32Array;

/**
 * Populates the Maglev lookup table of RING-SPEC.md section 3 (Eisenbud et al., NSDI 2016,
 * section 3.4) for members already sorted by name.
 *
 * Each member keeps a running position `pos = (offset + j * skip) mod M` instead of `j`, so
 * all arithmetic stays below 2 * M, exact in doubles for every legal M.
 * @param names sorted member names; at least one, fewer than `tableSize`.
 * @param tableSize M, a prime greater than `names.length`.
 */
export function maglevTable(names: readonly string[], tableSize: number): MaglevTable {
  const n = names.length;
  if (n === 0 || n >= tableSize) {
    throw new RangeError(`maglevTable needs 1 to tableSize - 1 members, got ${n} for ${tableSize}`);
  }
  // A Uint16Array halves the table's cache footprint whenever the member index fits.
  const empty = n < 0xffff ? 0xffff : 0xffffffff;
  const table: MaglevTable = empty === 0xffff ? new Uint16Array(tableSize) : new Uint32Array(tableSize);
  table.fill(empty);
  const pos = new Uint32Array(n);
  const skip = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    pos[i] = murmur3(names[i]!, 1) % tableSize;
    skip[i] = (murmur3(names[i]!, 2) % (tableSize - 1)) + 1;
  }
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      const step = skip[i]!;
      let c = pos[i]!;
      while (table[c] !== empty) {
        c += step;
        if (c >= tableSize) c -= tableSize;
      }
      table[c] = i;
      c += step;
      if (c >= tableSize) c -= tableSize;
      pos[i] = c;
      if (++filled === tableSize) return table;
    }
  }
}
