import { performance } from 'node:perf_hooks';

/**
 * A token bucket: `perSecond` tokens a second, at most `burst` stored (default `perSecond`),
 * full at start. `tryTake` never waits (admission: the proxy's accept limit); `take` waits its
 * turn (pacing: the operator's reconciles).
 */
export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #lastMs: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(perSecond: number, options: { burst?: number; now?: () => number } = {}) {
    this.#perSecond = perSecond;
    this.#burst = options.burst ?? perSecond;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.#burst;
    this.#lastMs = this.#now();
  }

  /** Takes a token if one is there now. */
  tryTake(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#lastMs) / 1000) * this.#perSecond);
    this.#lastMs = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Resolves when a token is taken (callers are served in order). */
  take(): Promise<void> {
    this.#tail = this.#tail.then(async () => {
      while (!this.tryTake())
        await new Promise((resolve) => setTimeout(resolve, ((1 - this.#tokens) / this.#perSecond) * 1000));
    });
    return this.#tail;
  }
}
