import { performance } from 'node:perf_hooks';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import {
  Annotations,
  describeRefusal,
  Labels,
  LEASE_DURATION_SECONDS,
  LEASE_RENEW_SECONDS,
  leaseAnnotations,
  runtimeLeaseName,
  type Ring,
  type RingRefusal,
  type RuntimeComponent,
} from '../ring/index.js';
import { apiStatusCode } from '../kube/api-errors.js';

/** What the reporter reads: a {@link RingWatcher} (or any source that also reports refusals). */
export interface ReportedRingSource {
  current(): Ring | undefined;
  onChange(listener: (ring: Ring) => void): () => void;
  lastError(): Pick<RingRefusal, 'code' | 'message'> | undefined;
  /** When present, a change of `lastError()` is written at once; otherwise at the next renewal. */
  onErrorChange?(listener: () => void): () => void;
}

/** A gateway's connection counts, and whether it is draining (SIGTERM: about to leave the ring). */
export interface GatewayStats {
  readonly connections: number;
  readonly misplaced: number;
  readonly draining?: boolean;
}

export interface LeaseReporterOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** Name of the IMGateway served. */
  readonly gateway: string;
  readonly component: RuntimeComponent;
  /** This pod's name: the Lease's holder and the last part of its name. */
  readonly pod: string;
  readonly ringSource: ReportedRingSource;
  /** Gateways only (required there): the counts for `connections` and `misplaced`. */
  readonly stats?: () => GatewayStats;
  /** Seconds between renewals. Default 5 (LEASE_RENEW_SECONDS); fractions allowed. */
  readonly renewSeconds?: number;
  /** `spec.leaseDurationSeconds`, whole seconds. Default 15 (LEASE_DURATION_SECONDS). */
  readonly durationSeconds?: number;
  /** Most Lease writes per second; changes within a gap are coalesced into one. Default 2. */
  readonly maxWritesPerSecond?: number;
  /** Wall clock for renewTime/acquireTime, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  /** Default silent. */
  readonly logger?: Logger;
}

/** Defaults of {@link LeaseReporterOptions}. */
export const LEASE_REPORTER_DEFAULTS = {
  renewSeconds: LEASE_RENEW_SECONDS,
  durationSeconds: LEASE_DURATION_SECONDS,
  maxWritesPerSecond: 2,
} as const;

/** Write attempts within one tick when another writer keeps winning (409) or deletes the Lease. */
const MAX_ATTEMPTS_PER_WRITE = 3;
/** First wait before a failed write is made again, ms; doubled per failure, at most the renew period. */
const RETRY_BASE_MS = 250;

type ResolvedOptions = Required<Omit<LeaseReporterOptions, 'stats'>> & Pick<LeaseReporterOptions, 'stats'>;

/** Validates every option at once. @throws {TypeError|RangeError} naming the option. */
export function resolveLeaseReporterOptions(options: LeaseReporterOptions): ResolvedOptions {
  checkIdentity(options);
  const resolved = { ...LEASE_REPORTER_DEFAULTS, now: Date.now, logger: pino({ level: 'silent' }), ...options };
  if (!(resolved.renewSeconds > 0)) throw new RangeError(`renewSeconds must be positive, got ${resolved.renewSeconds}`);
  if (!Number.isInteger(resolved.durationSeconds) || resolved.durationSeconds < 1) {
    throw new RangeError(`durationSeconds must be a positive integer, got ${resolved.durationSeconds}`);
  }
  if (resolved.renewSeconds >= resolved.durationSeconds) {
    throw new RangeError(
      `renewSeconds (${resolved.renewSeconds}) must be less than durationSeconds (${resolved.durationSeconds})`,
    );
  }
  if (!(resolved.maxWritesPerSecond > 0))
    throw new RangeError(`maxWritesPerSecond must be positive, got ${resolved.maxWritesPerSecond}`);
  if (typeof resolved.now !== 'function') throw new TypeError('now must be a function');
  return resolved;
}

function checkIdentity(options: LeaseReporterOptions): void {
  if (options.kc === undefined || options.kc === null) throw new TypeError('kc must be a KubeConfig');
  for (const key of ['namespace', 'gateway', 'pod'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '')
      throw new TypeError(`${key} must be a non-empty string`);
  }
  if (!['gateway', 'proxy', 'push'].includes(options.component))
    throw new TypeError(`component must be gateway, proxy or push, got ${String(options.component)}`);
  if (typeof options.ringSource?.current !== 'function' || typeof options.ringSource.lastError !== 'function') {
    throw new TypeError('ringSource must have current(), onChange() and lastError()');
  }
  if (options.component === 'gateway' && typeof options.stats !== 'function')
    throw new TypeError('stats is required for a gateway');
}

const OWN_ANNOTATIONS: readonly string[] = Object.values(Annotations);

/**
 * Holds this pod's runtime Lease `<gateway>-<component>-<pod>` (DESIGN.md section 6): renews
 * it every `renewSeconds`, rewrites it at once when the served ring or its refusal changes
 * (at most `maxWritesPerSecond`, the latest state always written last), recreates it if
 * deleted, and deletes it on close. A failed write is logged and made again after 250 ms,
 * doubling up to the renew period: a few failed requests never let the Lease lapse.
 *
 * {@link heldUntil} says until when the operator counts this runtime as live for sure (the
 * last successful write's start plus the duration): a runtime that cannot renew must not
 * trust its ring after that (see RingFence).
 */
export class LeaseReporter {
  readonly #options: ResolvedOptions;
  readonly #api: CoordinationV1Api;
  readonly #name: string;
  readonly #log: Logger;
  readonly #unsubscribe: (() => void)[] = [];
  /** The Lease as last written or read; its resourceVersion makes the next replace conditional. */
  #lease: V1Lease | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;
  #lastWriteAt = -Infinity;
  #writing: Promise<void> | undefined;
  #again = false;
  /**
   * A refusal not written yet. It is written even when a good document replaced the refused
   * one before the (throttled) write: the operator restores a corrupted ring within
   * milliseconds, and a refusal no Lease ever showed would be a refusal nobody saw.
   */
  #unreported: Pick<RingRefusal, 'code' | 'message'> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;
  /** Consecutive failed writes (0 after a success). */
  #failures = 0;
  /** performance.now() until which the last written Lease is live for sure. */
  #heldUntil = -Infinity;
  readonly #renewedListeners = new Set<() => void>();

  constructor(options: LeaseReporterOptions) {
    this.#options = resolveLeaseReporterOptions(options);
    const { kc, gateway, component, pod } = this.#options;
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#name = runtimeLeaseName(gateway, component, pod);
    this.#log = this.#options.logger.child({ lease: `${this.#options.namespace}/${this.#name}` });
  }

  /** The Lease's name. */
  get name(): string {
    return this.#name;
  }

  /**
   * performance.now() until which the operator counts this runtime's Lease as live for sure:
   * the start of the last successful write plus `durationSeconds` (-Infinity before one).
   */
  heldUntil(): number {
    return this.#heldUntil;
  }

  /** Calls `listener` after each successful write; returns the function that unsubscribes. */
  onRenewed(listener: () => void): () => void {
    this.#renewedListeners.add(listener);
    return () => this.#renewedListeners.delete(listener);
  }

  /** Writes the Lease now and keeps it renewed. Never rejects: a failed write is retried. */
  start(): Promise<void> {
    if (this.#started || this.#closing !== undefined) return Promise.resolve();
    this.#started = true;
    const source = this.#options.ringSource;
    this.#unsubscribe.push(source.onChange(() => this.update()));
    if (source.onErrorChange) this.#unsubscribe.push(source.onErrorChange(() => this.#onErrorChange()));
    this.#writing = this.#write();
    return this.#writing;
  }

  /** Writes the current state soon (throttled): for a state change the reporter cannot see. */
  update(): void {
    if (!this.#started || this.#closing !== undefined) return;
    if (this.#writing !== undefined) {
      this.#again = true;
      return;
    }
    const gapMs = 1000 / this.#options.maxWritesPerSecond;
    this.#arm(Math.max(0, this.#lastWriteAt + gapMs - performance.now()));
  }

  /**
   * Writes the current state now, past the write throttle (after a write in flight): for a change
   * the operator must see at once (a gateway that starts draining). Resolves once written or failed
   * (a failed write is retried as any other); never rejects.
   */
  async flush(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    if (!this.#started || this.#closing !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    this.#writing = this.#write();
    await this.#writing;
  }

  #onErrorChange(): void {
    const error = this.#options.ringSource.lastError();
    if (error !== undefined) this.#unreported = error;
    this.update();
  }

  /** Stops renewing and deletes the Lease (a clean shutdown, not a lapse). Idempotent; never rejects. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    clearTimeout(this.#timer);
    await this.#writing;
    if (!this.#started) return;
    try {
      await this.#api.deleteNamespacedLease({ name: this.#name, namespace: this.#options.namespace });
    } catch (error) {
      if (apiStatusCode(error) !== 404) this.#log.warn({ err: error }, 'could not delete the Lease');
    }
  }

  /** Sets the single timer to fire in `delayMs`, unless it already fires sooner. */
  #arm(delayMs: number): void {
    const due = performance.now() + delayMs;
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#writing = this.#write();
    }, delayMs);
  }

  async #write(): Promise<void> {
    const startedAt = performance.now();
    let renewed = false;
    try {
      await this.#writeLease();
      this.#failures = 0;
      this.#heldUntil = startedAt + this.#options.durationSeconds * 1000;
      renewed = true;
    } catch (error) {
      this.#lease = undefined;
      this.#failures++;
      this.#log.warn({ err: error, failures: this.#failures }, 'could not write the Lease; retrying');
    } finally {
      this.#lastWriteAt = performance.now();
      this.#writing = undefined;
      this.#afterWrite();
    }
    if (!renewed) return;
    for (const listener of [...this.#renewedListeners]) {
      try {
        listener();
      } catch (error) {
        this.#log.error({ err: error }, 'a Lease renewal listener threw');
      }
    }
  }

  #afterWrite(): void {
    if (this.#closing !== undefined) return;
    const renewMs = this.#options.renewSeconds * 1000;
    this.#arm(this.#failures === 0 ? renewMs : Math.min(renewMs, RETRY_BASE_MS * 2 ** (this.#failures - 1)));
    if (this.#again) {
      this.#again = false;
      this.update();
    }
  }

  async #writeLease(): Promise<void> {
    const { namespace } = this.#options;
    for (let attempt = 1; ; attempt++) {
      try {
        const current = this.#lease ?? (await this.#read());
        const latest = this.#options.ringSource.lastError();
        const error = latest ?? this.#unreported;
        const body = this.#desired(current, error);
        this.#lease =
          current === undefined
            ? await this.#api.createNamespacedLease({ namespace, body })
            : await this.#api.replaceNamespacedLease({ name: this.#name, namespace, body });
        if (error !== undefined) this.#unreported = undefined;
        // A refusal written after its document was replaced: write the cleared state next.
        if (error !== latest) this.#again = true;
        return;
      } catch (error) {
        // 409: someone wrote since we read (or created it first); 404: deleted. Re-read and retry.
        const code = apiStatusCode(error);
        if ((code !== 409 && code !== 404) || attempt >= MAX_ATTEMPTS_PER_WRITE) throw error;
        this.#lease = undefined;
      }
    }
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#options.namespace });
    } catch (error) {
      if (apiStatusCode(error) === 404) return undefined;
      throw error;
    }
  }

  /** The Lease to write over `current` (never mutated): our labels, annotations and spec. */
  #desired(current: V1Lease | undefined, error: Pick<RingRefusal, 'code' | 'message'> | undefined): V1Lease {
    const { namespace, gateway, component, pod, durationSeconds, ringSource, stats } = this.#options;
    const now = new V1MicroTime(this.#options.now());
    const metadata = current?.metadata ?? {};
    const spec = current?.spec ?? {};
    const kept = Object.entries(metadata.annotations ?? {}).filter(([key]) => !OWN_ANNOTATIONS.includes(key));
    const ring = ringSource.current();
    const reported = leaseAnnotations({
      ...(ring !== undefined ? { version: ring.version, state: ring.state } : {}),
      ...(component === 'gateway' ? stats?.() : {}),
      ...(error !== undefined ? { ringError: describeRefusal(error) } : {}),
    });
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...metadata,
        name: this.#name,
        namespace,
        labels: { ...metadata.labels, [Labels.gateway]: gateway, [Labels.component]: component },
        annotations: { ...Object.fromEntries(kept), ...reported },
      },
      spec: {
        ...spec,
        holderIdentity: pod,
        leaseDurationSeconds: durationSeconds,
        // Held since we first wrote it; a Lease another holder left behind is acquired now.
        acquireTime: (spec.holderIdentity === pod ? spec.acquireTime : undefined) ?? now,
        renewTime: now,
      },
    };
  }
}
