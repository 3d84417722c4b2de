/** A request the gate let in (`release` when done, idempotent), or why it was refused. */
export type Admission = { readonly ok: true; readonly release: () => void } | { readonly ok: false; readonly code: 'overloaded' | 'fenced'; readonly message: string };

/**
 * Admission for the push APIs: at most `limit` requests (HTTP and gRPC together) are read,
 * checked and delivered at once; one more is refused at once (HTTP 503 with Retry-After,
 * gRPC UNAVAILABLE) instead of waiting in an unbounded queue. With `maxBodyBytes` this bounds
 * the memory push spends on requests to `limit × maxBodyBytes`. While `fenced()` gives a
 * reason (the ring may be stale: RingFence), every request is refused the same way.
 */
export class RequestGate {
  readonly limit: number;
  readonly #fenced: () => string | undefined;
  #inFlight = 0;

  constructor(limit: number, fenced: () => string | undefined = () => undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`RequestGate: limit must be an integer >= 1, got ${limit}`);
    this.limit = limit;
    this.#fenced = fenced;
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Admits one request, or refuses it when `limit` are in flight or the ring is fenced. */
  enter(): Admission {
    const fenced = this.#fenced();
    if (fenced !== undefined) return { ok: false, code: 'fenced', message: `${fenced}; retry` };
    if (this.#inFlight >= this.limit) return { ok: false, code: 'overloaded', message: `more than ${this.limit} push requests at once; retry` };
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
