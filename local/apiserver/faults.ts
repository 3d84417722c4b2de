/**
 * Fault injection: failures, latency, dropped watches and expired history. A caller that wants
 * faults builds a {@link Faults}, hands it to the server (its `faults` option) and keeps it.
 */

export interface FaultSettings {
  /** Share of resource requests (0..1) answered with an error instead. Default 0. */
  failureRate?: number;
  /** Codes the failures use, drawn evenly: 500 (InternalError) and/or 429 (TooManyRequests with Retry-After). */
  failureCodes?: readonly (500 | 429)[];
  /** Extra latency per resource request, drawn evenly from [min, max] ms. Default none. */
  latencyMs?: readonly [number, number];
  /** The requests the failures and latency apply to (method, path, User-Agent). Default every resource request. */
  matching?: (request: FaultedRequest) => boolean;
}

/** What {@link FaultSettings.matching} sees of a request. */
export interface FaultedRequest {
  readonly method: string;
  readonly path: string;
  /** The client's `User-Agent` ('' without one): which component made the request. */
  readonly userAgent: string;
}

/** The faults in force; the server given them consults them on every resource request. */
export class Faults {
  #settings: Required<FaultSettings> = { failureRate: 0, failureCodes: [500], latencyMs: [0, 0], matching: () => true };
  readonly #random: () => number;
  #dropWatches: () => void = () => undefined;
  #expireHistory: () => void = () => undefined;
  #bound = false;

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Replaces the settings (omitted ones return to their defaults). */
  set(settings: FaultSettings): void {
    const failureRate = settings.failureRate ?? 0;
    if (!(failureRate >= 0 && failureRate <= 1))
      throw new RangeError(`failureRate must be within 0..1, got ${failureRate}`);
    const [min, max] = settings.latencyMs ?? [0, 0];
    if (!(min >= 0 && max >= min))
      throw new RangeError(`latencyMs must be [min, max] with 0 <= min <= max, got [${min}, ${max}]`);
    const failureCodes = settings.failureCodes ?? [500];
    if (failureCodes.length === 0) throw new RangeError('failureCodes must name at least one code');
    const matching = settings.matching ?? (() => true);
    if (typeof matching !== 'function') throw new TypeError('matching must be a function of the request');
    this.#settings = { failureRate, failureCodes, latencyMs: [min, max], matching };
  }

  /** Back to no faults. */
  clear(): void {
    this.set({});
  }

  /** Ends every open watch now (clients resume from their last resourceVersion). */
  dropWatches(): void {
    this.#dropWatches();
  }

  /** Forgets the change history, so every resuming watch gets 410 Gone and must relist. */
  expireHistory(): void {
    this.#expireHistory();
  }

  /**
   * @internal The server given these faults connects the actions it owns.
   * @throws Error when another server already did: one Faults, one server.
   */
  bind(actions: { dropWatches: () => void; expireHistory: () => void }): void {
    if (this.#bound) throw new Error('these Faults are already bound to a server');
    this.#bound = true;
    this.#dropWatches = actions.dropWatches;
    this.#expireHistory = actions.expireHistory;
  }

  /** The delay for this request, in ms (0 for none). */
  latency(request: FaultedRequest): number {
    const [min, max] = this.#settings.latencyMs;
    return max === 0 || !this.#settings.matching(request) ? 0 : min + this.#random() * (max - min);
  }

  /** The failure code for this request, or undefined to serve it. */
  failure(request: FaultedRequest): 500 | 429 | undefined {
    const { failureRate, failureCodes, matching } = this.#settings;
    if (failureRate === 0 || !matching(request) || this.#random() >= failureRate) return undefined;
    return failureCodes[Math.floor(this.#random() * failureCodes.length)];
  }
}
