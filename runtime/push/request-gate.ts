import type { RingSource } from '../ring-source.js';

/** A request the gate let in (`release` when done, idempotent), or why it was refused. */
export type Admission =
  | { readonly ok: true; readonly release: () => void }
  | { readonly ok: false; readonly code: 'overloaded' | 'fenced'; readonly message: string };

/** Options of a {@link RequestGate}. */
export interface RequestGateOptions {
  /** Requests admitted at once (HTTP and gRPC together): `maxConcurrentRequests`. */
  readonly limit: number;
  /** Asked at each admission: a fenced routing ring refuses the request. */
  readonly ringSource: Pick<RingSource, 'routingRing'>;
}

/**
 * Admission for the push APIs: at most `limit` requests (HTTP and gRPC together) are read,
 * checked and delivered at once; one more is refused at once (HTTP 503 with Retry-After,
 * gRPC UNAVAILABLE) instead of waiting in an unbounded queue. With `maxBodyBytes` this bounds
 * the memory push spends on requests to `limit × maxBodyBytes`. While the ring source's
 * routing ring is fenced (the ring may be stale: RingFence), every request is refused the
 * same way. Without a ring, requests are let in: their users come back offline `no_ring`.
 */
export class RequestGate {
  readonly limit: number;
  readonly #ringSource: Pick<RingSource, 'routingRing'>;
  #inFlight = 0;

  constructor(options: RequestGateOptions) {
    const { limit } = options;
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`RequestGate: limit must be an integer >= 1, got ${limit}`);
    this.limit = limit;
    this.#ringSource = options.ringSource;
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Admits one request, or refuses it when `limit` are in flight or the ring is fenced. */
  enter(): Admission {
    const routing = this.#ringSource.routingRing();
    if ('refused' in routing && routing.refused === 'fenced') {
      return { ok: false, code: 'fenced', message: `${routing.reason}; retry` };
    }
    if (this.#inFlight >= this.limit)
      return { ok: false, code: 'overloaded', message: `more than ${this.limit} push requests at once; retry` };
    this.#inFlight++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#inFlight--;
    };
    return { ok: true, release };
  }
}
