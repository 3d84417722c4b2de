import type { KubeConfig } from '@kubernetes/client-node';
import { WorkQueue } from '../../kube/controller-kit.js';
import { Lifecycle } from './lifecycle.js';

/** Options every workload controller of the local control plane takes (StatefulSets, ReplicaSets, Deployments). */
export interface WorkloadControllerOptions {
  /** Where the API server is; every read and write goes through client-node with it. */
  readonly kc: KubeConfig;
  /** The namespace to watch. Default: all namespaces. */
  readonly namespace?: string;
  /** Told of informer errors and failed reconciles (which are retried with backoff). */
  readonly onError?: (error: unknown) => void;
  /** Every object is reconciled again this often, in ms. Default 30,000. */
  readonly resyncMs?: number;
  /** Delay before an object is reconciled again after a 409 (a stale cache), in ms. Default 100. */
  readonly conflictRetryMs?: number;
  /** The clock, epoch ms, for `minReadySeconds` and progress deadlines. Default `Date.now`. */
  readonly now?: () => number;
  /** Told after each reconcile of an object (`namespace/name`), done or failed; for tests and metrics. */
  readonly onReconciled?: (key: string) => void;
}

const DEFAULTS = {
  namespace: undefined,
  onError: (): void => undefined,
  resyncMs: 30_000,
  conflictRetryMs: 100,
  now: (): number => Date.now(),
  onReconciled: (): void => undefined,
} satisfies Omit<WorkloadControllerOptions, 'kc'>;

/** {@link WorkloadControllerOptions} with the defaults filled in. */
export type ResolvedWorkloadOptions = Required<Omit<WorkloadControllerOptions, 'namespace'>> &
  Pick<WorkloadControllerOptions, 'namespace'>;

/** Checks and completes a workload controller's options; errors name `component` and the option. */
export function resolveWorkloadOptions(component: string, options: WorkloadControllerOptions): ResolvedWorkloadOptions {
  if (typeof options !== 'object' || options === null || typeof options.kc !== 'object' || options.kc === null) {
    throw new TypeError(`${component}: options.kc must be a KubeConfig`);
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved: ResolvedWorkloadOptions = { ...DEFAULTS, kc: options.kc, ...defined };
  for (const key of ['resyncMs', 'conflictRetryMs'] as const) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value <= 0)
      throw new RangeError(`${component}: ${key} must be a positive number of ms, got ${value}`);
  }
  if (resolved.namespace !== undefined && (typeof resolved.namespace !== 'string' || resolved.namespace === '')) {
    throw new TypeError(`${component}: namespace must be a non-empty string`);
  }
  return resolved;
}

/** What a {@link ControllerLoop} runs. */
export interface ControllerLoopInit {
  /** Prefixes the error of a `start()` after `close()`. */
  readonly name: string;
  readonly options: ResolvedWorkloadOptions;
  /** Starts the informers; resolves once they have synced. */
  readonly startInformers: () => Promise<void>;
  /** Stops the informers. */
  readonly closeInformers: () => Promise<void>;
  /** The keys of every object, queued on start and on each resync. */
  readonly keys: () => readonly string[];
  /** Reconciles one `namespace/name`. */
  readonly reconcile: (key: string) => Promise<void>;
}

/**
 * The loop a workload controller runs: a keyed work queue fed once the informers have synced,
 * a periodic resync, and an idempotent start and close.
 */
export class ControllerLoop {
  readonly #init: ControllerLoopInit;
  readonly #queue: WorkQueue;
  #synced = false;
  #resync: NodeJS.Timeout | undefined;
  readonly #lifecycle: Lifecycle;

  constructor(init: ControllerLoopInit) {
    this.#init = init;
    const { onError, onReconciled } = init.options;
    this.#queue = new WorkQueue(
      async (key) => {
        try {
          await init.reconcile(key);
        } finally {
          onReconciled(key);
        }
      },
      { onError: (_key, error) => onError(error) },
    );
    this.#lifecycle = new Lifecycle(init.name, { start: () => this.#start(), close: () => this.#close() });
  }

  /** True from the first `close()` on. */
  get isClosed(): boolean {
    return this.#lifecycle.isClosed;
  }

  /** Queues `key` (after `delayMs`), once the informers have synced: before that a reconcile would miss objects. */
  enqueue(key: string | undefined, delayMs = 0): void {
    if (key !== undefined && this.#synced && !this.#lifecycle.isClosed) this.#queue.add(key, delayMs);
  }

  /** Starts the informers, then queues every key. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops: no new reconciles, waits for the running ones, closes the informers. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    await this.#init.startInformers();
    if (this.#lifecycle.isClosed) return;
    this.#synced = true;
    this.#enqueueAll();
    this.#resync = setInterval(() => this.#enqueueAll(), this.#init.options.resyncMs);
    this.#resync.unref();
  }

  async #close(): Promise<void> {
    clearInterval(this.#resync);
    await this.#queue.close();
    await this.#init.closeInformers();
  }

  #enqueueAll(): void {
    for (const key of this.#init.keys()) this.enqueue(key);
  }
}

/** Remembers each object's last status write, so a reconcile from a cache older than it does not write it again. */
export class StatusMemo<F> {
  readonly #written = new Map<string, { figures: F; resourceVersion: string }>();

  /**
   * Whether to write `figures`: they differ from the cached status, and, while the cache is
   * older than our own last write, from that write too (watch events trail writes: without
   * this, each write is followed by a second, identical one from a reconcile that saw the one
   * before).
   */
  shouldWrite(
    key: string,
    cached: { resourceVersion?: string; differs: boolean },
    differs: (from: F) => boolean,
  ): boolean {
    let written = this.#written.get(key);
    if (written !== undefined && !isOlder(cached.resourceVersion, written.resourceVersion)) {
      this.#written.delete(key);
      written = undefined;
    }
    if (!cached.differs) return false;
    return written === undefined || differs(written.figures);
  }

  /** Records a write of `figures` that the server answered with `resourceVersion`. */
  remember(key: string, figures: F, resourceVersion: string | undefined): void {
    if (resourceVersion) this.#written.set(key, { figures, resourceVersion });
  }

  forget(key: string): void {
    this.#written.delete(key);
  }

  clear(): void {
    this.#written.clear();
  }
}

/** `namespace/name` of an object. */
export function objectKey(object: { metadata?: { namespace?: string; name?: string } }): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/**
 * Whether resourceVersion `a` is older than `b`. Resource versions are opaque to clients, but
 * both etcd's and the local server's are increasing integers; anything else counts as not
 * older, so the status is written rather than skipped.
 */
function isOlder(a: string | undefined, b: string): boolean {
  if (a === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}
