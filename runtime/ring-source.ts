import type { Ring } from '../ring/index.js';

/**
 * Where a runtime gets the ring it serves: the ring watcher in production, a
 * {@link StaticRingSource} in tests. Components read `current()` on every request (it is a
 * field read) and subscribe to changes to act on them (gateways migrate connections).
 */
export interface RingSource {
  /** The ring being served, or undefined before the first good document. */
  current(): Ring | undefined;
  /** Calls `listener` with each newly served ring; returns the function that unsubscribes. */
  onChange(listener: (ring: Ring) => void): () => void;
  /**
   * Why the served ring must not be routed with now, or undefined (absent: always trusted).
   * A RingFence (ring-fence.ts) says so when the runtime's Lease could not be renewed in time.
   */
  fenced?(): string | undefined;
}

/** A ring source set by hand (tests, benchmarks, `--ring FILE`). */
export class StaticRingSource implements RingSource {
  #ring: Ring | undefined;
  readonly #listeners = new Set<(ring: Ring) => void>();

  constructor(ring?: Ring) {
    this.#ring = ring;
  }

  current(): Ring | undefined {
    return this.#ring;
  }

  onChange(listener: (ring: Ring) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #fenced: string | undefined;

  fenced(): string | undefined {
    return this.#fenced;
  }

  /** Fences the ring with `reason` (as a RingFence does), or opens the fence (undefined). */
  fence(reason: string | undefined): void {
    this.#fenced = reason;
  }

  /** Serves `ring` from now on and tells the listeners. */
  set(ring: Ring): void {
    this.#ring = ring;
    for (const listener of [...this.#listeners]) listener(ring);
  }
}
