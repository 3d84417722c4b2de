import type { Ring } from '../ring/index.js';

/**
 * Whether a routing runtime (proxy, push) may route now, and with which ring: the ring, or
 * why not. `fenced`: the runtime may be behind the operator (its Lease could not be renewed in
 * time, see RingFence), so its ring is not to be trusted; `no_ring`: no ring is loaded yet.
 */
export type RoutingRing = { readonly ring: Ring } | { readonly refused: 'no_ring' | 'fenced'; readonly reason: string };

/**
 * Where a runtime gets the ring it serves: the ring watcher in production (behind a RingFence
 * for the proxy and push), a {@link StaticRingSource} in tests. Routing asks
 * {@link routingRing} once per decision (it is a field read); components subscribe to changes
 * to act on them (gateways migrate connections).
 */
export interface RingSource {
  /** The ring being served, or undefined before the first good document. */
  current(): Ring | undefined;
  /** Calls `listener` with each newly served ring; returns the function that unsubscribes. */
  onChange(listener: (ring: Ring) => void): () => void;
  /** The ring to route with now, or why there is none: the one answer routing asks for. */
  routingRing(): RoutingRing;
}

/** The routing answer of a source that is never fenced: `ring`, or `no_ring` before the first. */
export function unfencedRoutingRing(ring: Ring | undefined): RoutingRing {
  return ring === undefined ? { refused: 'no_ring', reason: 'no ring is loaded yet' } : { ring };
}

/** A ring source set by hand (tests, benchmarks, `--ring FILE`). */
export class StaticRingSource implements RingSource {
  #ring: Ring | undefined;
  #fenced: string | undefined;
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

  /** Fenced while {@link fence} set a reason (as a RingFence would be), else the ring set. */
  routingRing(): RoutingRing {
    return this.#fenced === undefined ? unfencedRoutingRing(this.#ring) : { refused: 'fenced', reason: this.#fenced };
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
