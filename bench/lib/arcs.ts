/**
 * Exact shares and exact moved fractions of point rings on the 2^32 circle.
 *
 * A circle is a list of points sorted ascending, each naming its owner. Point `i` owns the arc
 * from point `i - 1` to point `i` (the first point owns the wrap-around arc). Whether an arc
 * is half-open at its start (stathat: first point strictly greater than the hash) or at its
 * end (hashring: first point greater than or equal) shifts every boundary by one position,
 * which changes neither arc lengths nor the measure where two circles of one kind differ.
 */

/** 2^32: the number of positions on the circle. */
export const CIRCLE = 2 ** 32;

export interface Circle {
  /** Uint32 positions, sorted ascending (duplicates allowed: the first one owns the arc). */
  readonly points: ArrayLike<number>;
  /** The owner of each point, as an identity string. */
  readonly owners: ArrayLike<string>;
}

/** Each owner's exact share of the circle (shares add up to 1), in the order of `names`. */
export function arcShares(circle: Circle, names: readonly string[]): number[] {
  const index = new Map(names.map((name, i) => [name, i]));
  const arcs = new Array<number>(names.length).fill(0);
  const { points, owners } = circle;
  const n = points.length;
  for (let i = 0; i < n; i++) {
    const previous = i === 0 ? points[n - 1]! - CIRCLE : points[i - 1]!;
    const slot = index.get(owners[i]!);
    if (slot === undefined) throw new RangeError(`arcShares: unknown owner ${owners[i]}`);
    arcs[slot]! += points[i]! - previous;
  }
  return arcs.map((arc) => arc / CIRCLE);
}

/** The exact fraction of the circle whose owner differs between `a` and `b`. */
export function arcMovedFraction(a: Circle, b: Circle): number {
  const cuts = new Float64Array(a.points.length + b.points.length + 2);
  cuts.set(Array.from(a.points), 0);
  cuts.set(Array.from(b.points), a.points.length);
  cuts[cuts.length - 2] = 0;
  cuts[cuts.length - 1] = CIRCLE;
  cuts.sort();
  let i = 0;
  let j = 0;
  let moved = 0;
  for (let k = 0; k + 1 < cuts.length; k++) {
    const start = cuts[k]!;
    // Every position in [start, next cut) has the same first point strictly above it.
    while (i < a.points.length && a.points[i]! <= start) i++;
    while (j < b.points.length && b.points[j]! <= start) j++;
    if (ownerAt(a, i) !== ownerAt(b, j)) moved += cuts[k + 1]! - start;
  }
  return moved / CIRCLE;
}

function ownerAt(circle: Circle, index: number): string {
  return circle.owners[index === circle.points.length ? 0 : index]!;
}

/** max / mean of a list of shares (1 is perfect balance). */
export function maxOverMean(shares: readonly number[]): number {
  const mean = shares.reduce((sum, s) => sum + s, 0) / shares.length;
  return Math.max(...shares) / mean;
}
