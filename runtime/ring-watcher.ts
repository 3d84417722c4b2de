import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { ResilientInformer } from '../kube/controller-kit.js';
import { Ring, RING_DATA_KEY, ringConfigMapName, type RingRefusal } from '../ring/index.js';
import { registryCounter, registryGauge } from '../kube/metrics.js';
import { decideRingDocument } from './ring-acceptance.js';
import { unfencedRoutingRing, type RingSource, type RoutingRing } from './ring-source.js';

export interface RingWatcherOptions {
  readonly kc: KubeConfig;
  /** Namespace of the gateway (and of its ring ConfigMap). */
  readonly namespace: string;
  /** Name of the IMGateway; the ConfigMap watched is `ringConfigMapName(gateway)`. */
  readonly gateway: string;
  /** Default silent. */
  readonly logger?: Logger;
  /** Default a new Registry. */
  readonly registry?: Registry;
  /** Told of each refused document, once per ConfigMap resourceVersion. */
  readonly onRejected?: (error: RingRefusal) => void;
  /** Restart delays of the watch after an API error, first and longest (ms). Default 200 and 10,000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

/** Defaults of {@link RingWatcherOptions}. */
export const RING_WATCHER_DEFAULTS = { retryBaseMs: 200, retryMaxMs: 10_000 } as const;

type ResolvedOptions = Required<Omit<RingWatcherOptions, 'onRejected'>> & Pick<RingWatcherOptions, 'onRejected'>;

/** Validates every option at once. @throws {TypeError|RangeError} naming the option. */
export function resolveRingWatcherOptions(options: RingWatcherOptions): ResolvedOptions {
  if (options.kc === undefined || options.kc === null) throw new TypeError('kc must be a KubeConfig');
  for (const key of ['namespace', 'gateway'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '')
      throw new TypeError(`${key} must be a non-empty string`);
  }
  const resolved = {
    ...RING_WATCHER_DEFAULTS,
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    ...options,
  };
  for (const key of ['retryBaseMs', 'retryMaxMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] <= 0)
      throw new RangeError(`${key} must be a positive number of ms, got ${resolved[key]}`);
  }
  if (options.onRejected !== undefined && typeof options.onRejected !== 'function')
    throw new TypeError('onRejected must be a function');
  return resolved;
}

/**
 * Serves the ring of one gateway from its ConfigMap (DESIGN.md section 6): an informer on
 * that one ConfigMap (it survives watch drops, 410s and API errors), each document validated
 * and compared with the served one ({@link decideRingDocument}). A refused document, a
 * deleted ConfigMap or an unreachable API never take the last good ring away.
 *
 * Metrics: `imring_ring_version` (gauge), `imring_ring_changes_total`,
 * `imring_ring_documents_rejected_total{code}`.
 */
export class RingWatcher implements RingSource {
  readonly #options: ResolvedOptions;
  readonly #informer: ResilientInformer<V1ConfigMap>;
  readonly #name: string;
  readonly #log: Logger;
  readonly #listeners = new Set<(ring: Ring) => void>();
  readonly #errorListeners = new Set<(error: RingRefusal | undefined) => void>();
  readonly #metrics;
  #ring: Ring | undefined;
  #lastError: RingRefusal | undefined;
  #lastRefused: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: RingWatcherOptions) {
    this.#options = resolveRingWatcherOptions(options);
    const { kc, namespace, gateway, registry } = this.#options;
    this.#name = ringConfigMapName(gateway);
    this.#log = this.#options.logger.child({ configMap: `${namespace}/${this.#name}` });
    this.#metrics = {
      version: registryGauge(registry, {
        name: 'imring_ring_version',
        help: 'Version of the ring served (0: none yet).',
      }),
      changes: registryCounter(registry, {
        name: 'imring_ring_changes_total',
        help: 'Ring documents served (a new version or state).',
      }),
      rejected: registryCounter<'code'>(registry, {
        name: 'imring_ring_documents_rejected_total',
        help: 'Ring documents refused, by error code.',
        labelNames: ['code'],
      }),
    };
    const core = kc.makeApiClient(CoreV1Api);
    const fieldSelector = `metadata.name=${this.#name}`;
    this.#informer = new ResilientInformer<V1ConfigMap>({
      kc,
      // ResilientInformer takes no field selector: the watch path carries it (client-node keeps the query).
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps?fieldSelector=${encodeURIComponent(fieldSelector)}`,
      list: () => core.listNamespacedConfigMap({ namespace, fieldSelector }),
      retryBaseMs: this.#options.retryBaseMs,
      retryMaxMs: this.#options.retryMaxMs,
      onError: (error) => this.#log.warn({ err: error }, 'ring watch failed; restarting it'),
    });
    this.#informer.on('add', (cm) => this.#onDocument(cm));
    this.#informer.on('update', (cm) => this.#onDocument(cm));
    this.#informer.on('delete', () => this.#onDeleted());
  }

  /** Starts watching; resolves once the first list is loaded, with or without a ring. */
  async start(): Promise<void> {
    await this.#informer.start();
  }

  /** Stops watching; the served ring stays readable. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#informer.close();
    return this.#closing;
  }

  current(): Ring | undefined {
    return this.#ring;
  }

  /** The ring served (a watcher has no fence; the routing runtimes put a RingFence in front of it). */
  routingRing(): RoutingRing {
    return unfencedRoutingRing(this.#ring);
  }

  onChange(listener: (ring: Ring) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The refusal of the ConfigMap's current document, if it was refused; undefined once a good one is seen. */
  lastError(): RingRefusal | undefined {
    return this.#lastError;
  }

  /** Calls `listener` whenever {@link lastError} changes; returns the function that unsubscribes. */
  onErrorChange(listener: (error: RingRefusal | undefined) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  #onDocument(configMap: V1ConfigMap): void {
    if (this.#closing !== undefined || configMap.metadata?.name !== this.#name) return;
    const decision = decideRingDocument({
      text: configMap.data?.[RING_DATA_KEY],
      served: this.#ring?.document ?? undefined,
      gateway: { namespace: this.#options.namespace, name: this.#options.gateway },
    });
    if (decision.kind === 'refuse') {
      this.#refuse(decision.error, configMap.metadata.resourceVersion);
      return;
    }
    this.#setError(undefined);
    if (decision.kind === 'same') return;
    const ring = Ring.fromDocument(decision.document);
    const from = this.#ring;
    this.#ring = ring;
    this.#metrics.version.set(ring.version);
    this.#metrics.changes.inc();
    this.#log.info(
      {
        version: ring.version,
        state: ring.state,
        members: ring.members.length,
        fromVersion: from?.version,
        fromState: from?.state,
      },
      'serving ring',
    );
    for (const listener of [...this.#listeners]) this.#call(() => listener(ring));
  }

  #refuse(error: RingRefusal, resourceVersion: string | undefined): void {
    // One count and one line per document: an informer may hand the same one over again.
    if (resourceVersion !== undefined && resourceVersion === this.#lastRefused) return;
    this.#lastRefused = resourceVersion;
    this.#metrics.rejected.inc({ code: error.code });
    this.#log.warn(
      { code: error.code, path: error.path, resourceVersion, servedVersion: this.#ring?.version },
      `ring document refused: ${error.message}`,
    );
    this.#setError(error);
    if (this.#options.onRejected) this.#call(() => this.#options.onRejected!(error));
  }

  #onDeleted(): void {
    if (this.#closing !== undefined) return;
    this.#lastRefused = undefined;
    this.#log.warn({ servedVersion: this.#ring?.version }, 'ring ConfigMap deleted; keeping the last good ring');
  }

  #setError(error: RingRefusal | undefined): void {
    if (error === this.#lastError) return;
    this.#lastError = error;
    for (const listener of [...this.#errorListeners]) this.#call(() => listener(error));
  }

  /** A listener's exception is its own bug: logged, never allowed to stop the watch. */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#log.error({ err: error }, 'ring listener threw');
    }
  }
}
