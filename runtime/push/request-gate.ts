/**
 * Admission for the push APIs: at most `limit` requests (HTTP and gRPC together) are read,
 * checked and delivered at once; one more is refused at once (HTTP 503 with Retry-After,
 * gRPC UNAVAILABLE) instead of waiting in an unbounded queue. With `maxBodyBytes` this bounds
 * the memory push spends on requests to `limit × maxBodyBytes`.
 */
export class RequestGate {
  readonly limit: number;
  #inFlight = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`RequestGate: limit must be an integer >= 1, got ${limit}`);
    this.limit = limit;
  }

  /** Requests admitted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Admits one request: its release function (idempotent), or undefined when `limit` are in flight. */
  enter(): (() => void) | undefined {
    if (this.#inFlight >= this.limit) return undefined;
    this.#inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight--;
    };
  }
}
