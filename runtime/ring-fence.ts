import { performance } from 'node:perf_hooks';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { judgeRingDocument, LEASE_DURATION_SECONDS, RING_DATA_KEY, ringConfigMapName } from '../ring/index.js';
import type { Ring } from '../ring/index.js';
import { registryGauge } from '../kube/metrics.js';
import type { RingSource, RoutingRing } from './ring-source.js';

/** What the fence needs of the Lease reporter. */
export interface HeldLease {
  /** performance.now() until which the operator counts this runtime as live for sure. */
  heldUntil(): number;
  onRenewed(listener: () => void): () => void;
}

export interface RingFenceOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** Name of the IMGateway; its ring ConfigMap is read to check the served ring on recovery. */
  readonly gateway: string;
  /** The ring served (the ring watcher). */
  readonly source: RingSource;
  readonly lease: HeldLease;
  /** How long before the Lease may lapse the fence closes, ms (the operator's clock may run ahead). Default 3000. */
  readonly marginMs?: number;
  /**
   * The Lease's duration, ms: how long after start the fence closes if no renewal came. Default 15,000
   * (LEASE_DURATION_SECONDS).
   */
  readonly leaseMs?: number;
  readonly logger?: Logger;
  readonly registry?: Registry;
}

export const RING_FENCE_DEFAULTS = { marginMs: 3000, leaseMs: LEASE_DURATION_SECONDS * 1000 } as const;

/**
 * Self-fencing of a routing runtime (proxy, push). The operator's barrier waits for every
 * runtime whose Lease is live; a runtime that cannot renew its Lease drops out of that wait
 * once the Lease lapses, and the operator may then commit a ring this runtime has not seen.
 * So, `marginMs` before its Lease may lapse without a renewal, the runtime stops trusting its
 * ring: {@link routingRing} says why, and the proxy refuses upgrades (503) and push refuses calls
 * (503 / UNAVAILABLE), which their callers retry: a refused call is never a misrouted one.
 *
 * The fence opens again after a renewal, once the ring ConfigMap, read then, holds no ring
 * newer than the one served (else once the watcher serves it): after the Lease is live again,
 * the operator waits for this runtime, and the ring served is the newest.
 *
 * Before the first renewal the fence counts a Lease's duration from start (the watcher has
 * just listed the ring).
 * Metric: `imring_ring_fenced` (1 while fenced).
 */
export class RingFence implements RingSource {
  readonly #o: Required<RingFenceOptions>;
  readonly #core: CoreV1Api;
  readonly #name: string;
  readonly #gauge;
  readonly #unsubscribe: (() => void)[] = [];
  readonly #listeners = new Set<(reason: string | undefined) => void>();
  #startedAt = -Infinity;
  #fenced: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;
  #recheck = false;
  #closed = false;

  constructor(options: RingFenceOptions) {
    const { marginMs, leaseMs } = { ...RING_FENCE_DEFAULTS, ...options };
    if (!(marginMs >= 0)) throw new RangeError(`marginMs must be a non-negative number of ms, got ${marginMs}`);
    if (!(leaseMs > marginMs)) throw new RangeError(`leaseMs must be more than marginMs (${marginMs}), got ${leaseMs}`);
    if (typeof options.lease?.heldUntil !== 'function' || typeof options.lease.onRenewed !== 'function')
      throw new TypeError('lease must have heldUntil() and onRenewed()');
    if (typeof options.source?.current !== 'function') throw new TypeError('source must be a RingSource');
    this.#o = {
      ...options,
      marginMs,
      leaseMs,
      logger: options.logger ?? pino({ level: 'silent' }),
      registry: options.registry ?? new Registry(),
    };
    this.#core = options.kc.makeApiClient(CoreV1Api);
    this.#name = ringConfigMapName(options.gateway);
    this.#gauge = registryGauge(this.#o.registry, {
      name: 'imring_ring_fenced',
      help: '1 while the runtime distrusts its ring: its Lease could not be renewed in time.',
    });
    this.#gauge.set(0);
  }

  /** Arms the fence: from now, the Lease must be renewed in time. */
  start(): void {
    if (this.#startedAt !== -Infinity || this.#closed) return;
    this.#startedAt = performance.now();
    this.#unsubscribe.push(this.#o.lease.onRenewed(() => this.#onRenewed()));
    this.#unsubscribe.push(this.#o.source.onChange(() => this.#fenced !== undefined && this.#verify()));
    this.#arm();
  }

  /** Stops the timer and the subscriptions. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    return Promise.resolve();
  }

  /** The served ring while it is trusted, else `fenced` with the reason. */
  routingRing(): RoutingRing {
    return this.#fenced === undefined ? this.#o.source.routingRing() : { refused: 'fenced', reason: this.#fenced };
  }

  /**
   * Calls `listener` when the fence closes (with the reason) or opens (undefined); returns the function that
   * unsubscribes.
   */
  onFenceChange(listener: (reason: string | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  current(): Ring | undefined {
    return this.#o.source.current();
  }

  onChange(listener: (ring: Ring) => void): () => void {
    return this.#o.source.onChange(listener);
  }

  /**
   * performance.now() at which the fence closes unless the Lease is renewed (before any renewal: a Lease's duration
   * after start).
   */
  #closesAt(): number {
    return Math.max(this.#o.lease.heldUntil(), this.#startedAt + this.#o.leaseMs) - this.#o.marginMs;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#closed || this.#fenced !== undefined) return;
    const delay = this.#closesAt() - performance.now();
    if (delay <= 0) {
      this.#fence();
      return;
    }
    this.#timer = setTimeout(() => this.#arm(), delay);
    this.#timer.unref();
  }

  #fence(): void {
    this.#set('this runtime could not renew its Lease: the operator may commit a ring it has not seen');
    this.#o.logger.warn('Lease not renewed in time: distrusting the ring until it is renewed and the ring checked');
  }

  #set(reason: string | undefined): void {
    this.#fenced = reason;
    this.#gauge.set(reason === undefined ? 0 : 1);
    for (const listener of [...this.#listeners]) {
      try {
        listener(reason);
      } catch (error) {
        this.#o.logger.error({ err: error }, 'a fence listener threw');
      }
    }
  }

  #onRenewed(): void {
    if (this.#fenced === undefined) this.#arm();
    else this.#verify();
  }

  /** Reads the ring ConfigMap; opens the fence when it holds nothing newer than the served ring. */
  #verify(): void {
    if (this.#checking) {
      this.#recheck = true;
      return;
    }
    if (this.#closed || this.#fenced === undefined || this.#closesAt() <= performance.now()) return;
    this.#checking = true;
    void this.#newerRing()
      .then(
        (stale) => {
          if (stale !== undefined) {
            this.#o.logger.info({ configMap: stale }, 'the ring served may be stale: still fenced');
            return;
          }
          // The renewal that started the check may have run out while it read.
          if (this.#closed || this.#closesAt() <= performance.now()) return;
          this.#set(undefined);
          this.#o.logger.info('Lease renewed and the ring served is the newest: trusting it again');
          this.#arm();
        },
        (error: unknown) =>
          this.#o.logger.warn({ err: error }, 'could not read the ring ConfigMap; fenced until the next renewal'),
      )
      .finally(() => {
        this.#checking = false;
        if (this.#recheck) {
          this.#recheck = false;
          this.#verify();
        }
      });
  }

  /**
   * What the ConfigMap holds when the served ring may be stale (`version state` of a newer ring, or an invalid
   * document), else undefined.
   */
  async #newerRing(): Promise<string | undefined> {
    // A list by name, not a get: the runtimes' Role allows list/watch of their ring ConfigMap only (config/demo).
    const { items } = await this.#core.listNamespacedConfigMap({
      namespace: this.#o.namespace,
      fieldSelector: `metadata.name=${this.#name}`,
    });
    const configMap = items[0];
    const served = this.#o.source.current();
    const judged = judgeRingDocument({
      text: configMap?.data?.[RING_DATA_KEY],
      gateway: { namespace: this.#o.namespace, name: this.#o.gateway },
      trusted: served?.document ?? (served && { version: served.version, state: served.state }),
    });
    // A refused document hides what the operator last wrote: fenced until it restores a good one.
    if (judged.verdict === 'invalid') return `an invalid document (${judged.error.code})`;
    // Older, reused or regressed documents are refused by the watcher too: they are never served.
    return judged.verdict === 'newer' ? `${judged.document.version} ${judged.document.state}` : undefined;
  }
}
