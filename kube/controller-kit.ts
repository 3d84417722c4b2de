import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type CoreV1Event,
} from '@kubernetes/client-node';
import { EventCorrelator } from './event-correlator.js';
import { nowNanos } from './nano-clock.js';

/**
 * A small controller kit on client-node: an informer that restarts itself, a keyed work
 * queue, and an event recorder. Shared by the local control plane's controllers, the
 * runtimes and the operator (kube/ depends on nothing of imring's).
 */

/** Exponential backoff: `base * 2^attempt`, capped at `max` (ms). Pure, so tests assert sequences. */
export function backoffMs(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt));
}

export interface InformerOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  /** The watch path, e.g. `/api/v1/pods`. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  /** Restart delays after errors: first and longest, in ms. Default 200 and 10,000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Told of each error before the restart (logging); never required. */
  readonly onError?: (error: unknown) => void;
}

type Handler<T> = (object: T) => void;

/**
 * A client-node informer that survives errors. client-node's ListWatch stops for good on any
 * watch or list error other than 410 (it only calls its error handlers); this one starts it
 * again with backoff until closed, relisting so no change is missed.
 */
export class ResilientInformer<T extends KubernetesObject> {
  readonly #options: InformerOptions<T>;
  readonly #informer;
  #closed = false;
  #failed = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;

  constructor(options: InformerOptions<T>) {
    this.#options = options;
    this.#informer = makeInformer<T>(options.kc, options.path, options.list, options.labelSelector);
    this.#informer.on('error', (error: unknown) => this.#onError(error));
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.#informer.on(event, handler);
  }

  /** Cached objects (in `namespace`, or all). */
  list(namespace?: string): readonly T[] {
    return this.#informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  /** Starts, and resolves once the first list has been loaded (retrying until it is). */
  start(): Promise<void> {
    this.#started ??= this.#startUntilSynced();
    return this.#started;
  }

  /** Stops watching. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#informer.stop();
  }

  async #startUntilSynced(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      this.#failed = false;
      await this.#informer.start();
      if (!this.#failed) {
        this.#attempt = 0;
        return;
      }
      await new Promise<void>((resolve) => {
        this.#timer = setTimeout(resolve, this.#delay());
      });
    }
  }

  #onError(error: unknown): void {
    this.#failed = true;
    // Closing aborts the watch, which client-node reports as an error: not one to report.
    if (this.#closed) return;
    this.#options.onError?.(error);
    if (this.#started === undefined) return;
    // Once synced, restarts happen here; before that, #startUntilSynced retries.
    void this.#started.then(() => {
      if (this.#closed || !this.#failed) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        if (this.#closed) return;
        this.#failed = false;
        void this.#informer.start();
      }, this.#delay());
    });
  }

  #delay(): number {
    return backoffMs(this.#attempt++, this.#options.retryBaseMs ?? 200, this.#options.retryMaxMs ?? 10_000);
  }
}

export interface WorkQueueOptions {
  /** Keys handled at once (each key by one worker at a time). Default 4. */
  readonly concurrency?: number;
  /** Per-key retry delays after a failure: first and longest, in ms. Default 5 and 300,000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Told of each failure (the key is retried). */
  readonly onError?: (key: string, error: unknown) => void;
}

/**
 * A keyed work queue: a key added while queued is handled once; a key added while being
 * handled is handled again after; a failed key is retried with per-key exponential backoff.
 */
export class WorkQueue {
  readonly #handle: (key: string) => Promise<void>;
  readonly #options: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { readonly timer: NodeJS.Timeout; readonly dueMs: number }>();
  readonly #idle = new Set<() => void>();
  #closed = false;

  constructor(handle: (key: string) => Promise<void>, options: WorkQueueOptions = {}) {
    this.#handle = handle;
    this.#options = { concurrency: 4, retryBaseMs: 5, retryMaxMs: 300_000, ...options };
    if (!Number.isInteger(this.#options.concurrency) || this.#options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${this.#options.concurrency}`);
    }
  }

  /** Queues `key` (now, or after `delayMs`; of two delayed adds of a key, the earlier wins). */
  add(key: string, delayMs = 0): void {
    if (this.#closed) return;
    if (delayMs > 0) {
      const dueMs = performance.now() + delayMs;
      const pending = this.#timers.get(key);
      if (pending !== undefined && pending.dueMs <= dueMs) return;
      if (pending !== undefined) clearTimeout(pending.timer);
      const timer = setTimeout(() => {
        this.#timers.delete(key);
        this.add(key);
      }, delayMs);
      this.#timers.set(key, { timer, dueMs });
      return;
    }
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#queued.add(key);
    this.#pump();
  }

  /** Keys waiting to be handled now (delayed keys aside): the queue depth. */
  get depth(): number {
    return this.#queued.size;
  }

  /** Resolves when nothing is queued or being handled (timers aside). */
  idle(): Promise<void> {
    if (this.#queued.size === 0 && this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Stops taking keys, drops timers, and waits for the keys being handled. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queued.clear();
    for (const pending of this.#timers.values()) clearTimeout(pending.timer);
    this.#timers.clear();
    await this.idle();
  }

  #pump(): void {
    for (const key of this.#queued) {
      if (this.#active.size >= this.#options.concurrency) return;
      this.#queued.delete(key);
      this.#active.add(key);
      void this.#run(key);
    }
  }

  async #run(key: string): Promise<void> {
    try {
      await this.#handle(key);
      this.#failures.delete(key);
    } catch (error) {
      const failures = this.#failures.get(key) ?? 0;
      this.#failures.set(key, failures + 1);
      this.#options.onError?.(key, error);
      this.add(key, backoffMs(failures, this.#options.retryBaseMs, this.#options.retryMaxMs));
    } finally {
      this.#active.delete(key);
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
      if (this.#queued.size === 0 && this.#active.size === 0) for (const resolve of this.#idle) resolve();
      if (this.#queued.size === 0 && this.#active.size === 0) this.#idle.clear();
    }
  }
}

/** What an event is about. */
export interface EventTarget {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** Options of {@link EventRecorder}. */
export interface EventRecorderOptions {
  /**
   * Whether events are correlated (counted, combined, throttled), which updates Events with
   * `patch`. `false`: each event is a new Event, for a component allowed only to create them.
   * Default true.
   */
  readonly correlate?: boolean;
}

/**
 * Records core/v1 Events as the real components' recorders do (client-go's tools/record): each
 * event goes through an {@link EventCorrelator}, so a repeated event updates one Event's count
 * and lastTimestamp, similar ones are combined and a flood about one object is throttled; Events
 * are written one at a time, in order. Recording never throws: an event that cannot be written is
 * reported to `onError`.
 */
export class EventRecorder {
  readonly #core: CoreV1Api;
  readonly #component: string;
  readonly #onError: (error: unknown) => void;
  readonly #correlator: EventCorrelator | undefined;
  #tail: Promise<void> = Promise.resolve();

  constructor(
    kc: KubeConfig,
    component: string,
    onError: (error: unknown) => void = () => undefined,
    options: EventRecorderOptions = {},
  ) {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#component = component;
    this.#onError = onError;
    this.#correlator = options.correlate === false ? undefined : new EventCorrelator({ now: nowNanos });
  }

  /** Resolves once this event (and every one recorded before it) is written, or given up. */
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const event = this.#event(target, { type, reason, message });
    const correlation = this.#correlator?.correlate(event) ?? { action: 'create', event };
    if (correlation.action === 'skip') return this.#tail;
    this.#tail = this.#tail.then(() => this.#write(correlation.action, correlation.event));
    return this.#tail;
  }

  #event(target: EventTarget, init: { type: string; reason: string; message: string }): CoreV1Event {
    const meta = target.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const nanos = nowNanos();
    const now = new Date(Number(nanos / 1_000_000n));
    return {
      // client-go names an Event itself, so a later occurrence can update it before the create is answered.
      metadata: { name: `${meta.name ?? 'object'}.${nanos.toString(16)}`, namespace },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      ...init,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.#component },
      reportingComponent: this.#component,
      reportingInstance: this.#component,
    };
  }

  async #write(action: 'create' | 'update', event: CoreV1Event): Promise<void> {
    const namespace = event.metadata.namespace ?? 'default';
    try {
      if (action === 'update' && (await this.#update(event))) return;
      await this.#core.createNamespacedEvent({ namespace, body: event });
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Patches the Event's count, lastTimestamp and message; false when it is gone (expired), so it is created again. */
  async #update(event: CoreV1Event): Promise<boolean> {
    const { name = '', namespace = 'default' } = event.metadata;
    const body = { count: event.count, lastTimestamp: event.lastTimestamp, message: event.message };
    try {
      await this.#core.patchNamespacedEvent({ name, namespace, body }, mergePatch);
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    }
  }
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
