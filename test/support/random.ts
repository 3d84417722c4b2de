/**
 * A seeded pseudo-random generator (mulberry32), so that property tests and benchmarks draw
 * the same values on every run and every machine.
 * @returns a function giving floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct user IDs like `user-123456`, drawn with `seed`. */
export function randomUserIds(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const ids = new Set<string>();
  while (ids.size < count) ids.add(`user-${Math.floor(random() * 1e12)}`);
  return [...ids];
}

/** A copy of `items` in an order drawn with `random` (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
