/**
 * How a figure grows with N, for the growth bench: the factor from one N to the next, the
 * log-log slope between consecutive N (1 linear, 2 quadratic, 0 constant), and a least-squares
 * slope over every N. Pure.
 */

/** One figure at each N (same order as the sizes; undefined where not measured). */
export type Series = readonly (number | undefined)[];

/** The growth of a series: per step (from the previous N) and overall. */
export interface Growth {
  /** value(N_i) / value(N_{i-1}); undefined for the first N or where either is missing or ≤ 0. */
  readonly factors: readonly (number | undefined)[];
  /** log(value ratio) / log(N ratio) between consecutive N. */
  readonly slopes: readonly (number | undefined)[];
  /** Least-squares slope of log(value) on log(N) over every positive value; undefined with fewer than two. */
  readonly slope: number | undefined;
}

/** The growth of `values` measured at `sizes`. @throws {RangeError} when the lengths differ. */
export function growthOf(sizes: readonly number[], values: Series): Growth {
  if (sizes.length !== values.length)
    throw new RangeError(`sizes (${sizes.length}) and values (${values.length}) differ in length`);
  const factors: (number | undefined)[] = [];
  const slopes: (number | undefined)[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const [a, b] = [values[i - 1], values[i]];
    const usable = i > 0 && a !== undefined && b !== undefined && a > 0 && b > 0;
    factors.push(usable ? b / a : undefined);
    slopes.push(usable ? Math.log(b / a) / Math.log(sizes[i]! / sizes[i - 1]!) : undefined);
  }
  return { factors, slopes, slope: leastSquaresSlope(sizes, values) };
}

/** What a slope says, in words: constant, sublinear, linear, superlinear or quadratic. */
export function describeSlope(slope: number | undefined): string {
  if (slope === undefined) return 'n/a';
  if (slope < 0.25) return 'constant';
  if (slope < 0.8) return 'sublinear';
  if (slope <= 1.2) return 'linear';
  if (slope < 1.75) return 'superlinear';
  return 'quadratic or worse';
}

function leastSquaresSlope(sizes: readonly number[], values: Series): number | undefined {
  const points = sizes.flatMap((n, i) => {
    const v = values[i];
    return v !== undefined && v > 0 ? [[Math.log(n), Math.log(v)] as const] : [];
  });
  if (points.length < 2) return undefined;
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx === 0 ? undefined : sxy / sxx;
}
