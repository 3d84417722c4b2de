import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Lease,
  type V1Pod,
} from '@kubernetes/client-node';
import { backoffMs, ResilientInformer } from '../../kube/controller-kit.js';
import { apiErrorMessage, apiStatusCode } from '../../kube/api-errors.js';
import { Labels, Ring, ringConfigMapName } from '../../ring/index.js';
import { leaseReport, observeRing, statusView, type IMGatewayObject, type RingObservation } from '../status-view.js';
import { readyByPod, recentEvents } from './feed-views.js';
import { advanceTimeline, ringFact } from './timeline.js';
import type { DeliverySnapshot, Snapshot, Timeline } from './snapshot.js';

/** Options of {@link StatusFeed}. */
export interface StatusFeedOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** The IMGateway. */
  readonly name: string;
  /** The demo's delivery figures, when there is a demo. */
  readonly delivery?: (() => DeliverySnapshot | undefined) | undefined;
  /** Shortest time between two change notifications, ms. Default 250 (at most 4 per second). */
  readonly minIntervalMs?: number;
  /**
   * The snapshot is computed again this often, ms, for what changes with time alone (Leases
   * expire, delivery rates move); it is announced only when it differs. Default 1000.
   */
  readonly refreshIntervalMs?: number;
  /** Retry delays after a watch or API error: first and longest, ms. Default 500 and 10,000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Events kept in a snapshot, newest first. Default 20. */
  readonly maxEvents?: number;
  /** Wall clock, ms since the epoch. Default `Date.now`. */
  readonly now?: () => number;
}

const DEFAULTS = {
  minIntervalMs: 250,
  refreshIntervalMs: 1000,
  retryBaseMs: 500,
  retryMaxMs: 10_000,
  maxEvents: 20,
};

const IMGATEWAYS = { group: 'imring.dev', version: 'v1alpha1', plural: 'imgateways' } as const;

type Informers = {
  gateways: ResilientInformer<IMGatewayObject & KubernetesObject>;
  configMaps: ResilientInformer<V1ConfigMap>;
  leases: ResilientInformer<V1Lease>;
  pods: ResilientInformer<V1Pod>;
  events: ResilientInformer<CoreV1Event>;
};

/**
 * A live {@link Snapshot} of one IMGateway, kept from watches of what `imring status` reads
 * (the IMGateway, its ring ConfigMap, its runtime Leases) plus its pods and the namespace's
 * Events. A failed watch or API server turns `connection` to `reconnecting` and is retried
 * with backoff until it answers again; an IMGateway that does not exist is reported and
 * watched for.
 */
export class StatusFeed {
  readonly #options: ResolvedOptions;
  readonly #informers: Informers;
  /** Each watch's list: what the feed asks again after that watch failed. */
  readonly #lists = new Map<keyof Informers, () => Promise<unknown>>();
  /** The watches that failed since the API server last answered all of their lists. */
  readonly #failing = new Set<keyof Informers>();
  readonly #synced = new Set<keyof Informers>();
  readonly #listeners = new Set<(snapshot: Snapshot) => void>();
  #timeline: Timeline | null = null;
  #ring: { revision: string; ring: Ring | undefined } | undefined;
  #connection: Snapshot['connection'] = { state: 'live', message: null };
  #crdMissing = false;
  #attempt = 0;
  #probeTimer: NodeJS.Timeout | undefined;
  #notifyTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  /** The last snapshot announced, without its time: an identical one is not announced again. */
  #lastAnnounced: string | undefined;
  #lastNotified = 0;
  #started = false;
  #closed = false;

  constructor(options: StatusFeedOptions) {
    this.#options = resolveOptions(options);
    this.#informers = makeInformers(this.#options, {
      onError: (key, error) => this.#onError(key, error),
      onList: (key, list) => this.#lists.set(key, list),
    });
  }

  /** Starts the watches (idempotent); snapshots fill in as their first lists arrive. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const [key, informer] of Object.entries(this.#informers) as [keyof Informers, ResilientInformer<never>][]) {
      for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => this.#changed());
      void informer.start().then(() => {
        this.#synced.add(key);
        if (key === 'gateways') this.#crdMissing = false;
        this.#changed();
      });
    }
    this.#refreshTimer = setInterval(() => this.#changed(), this.#options.refreshIntervalMs);
  }

  /**
   * Calls `listener` with a new snapshot after changes, at most once per `minIntervalMs` and
   * never twice the same; returns its remover.
   */
  onChange(listener: (snapshot: Snapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The current ring, for owner lookups; undefined without a valid one. */
  ring(): Ring | undefined {
    const configMap = this.#informers.configMaps.get(ringConfigMapName(this.#options.name), this.#options.namespace);
    if (!configMap) return undefined;
    const revision = configMap.metadata?.resourceVersion;
    // Building a ring computes its Maglev table: once per ConfigMap revision, not per lookup.
    if (this.#ring && revision !== undefined && this.#ring.revision === revision) return this.#ring.ring;
    const observed = observeRing(configMap.metadata?.name ?? '', configMap.data);
    const ring = observed.kind === 'ok' ? Ring.fromDocument(observed.document) : undefined;
    this.#ring = revision === undefined ? undefined : { revision, ring };
    return ring;
  }

  /** The snapshot now (it also advances the transition timeline with what it observes). */
  snapshot(): Snapshot {
    const { name, namespace, now } = this.#options;
    const at = now();
    const status = this.#statusView(at);
    this.#observe(at);
    return {
      name,
      namespace,
      at: new Date(at).toISOString(),
      connection: this.#connection,
      notFound: this.#notFound(),
      status,
      ready: readyByPod(this.#informers.pods.list(namespace)),
      transition: this.#timeline,
      events: recentEvents(this.#informers.events.list(namespace), name, this.#options.maxEvents),
      delivery: this.#options.delivery?.() ?? null,
    };
  }

  /** Stops the watches and timers. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#probeTimer);
    clearTimeout(this.#notifyTimer);
    clearInterval(this.#refreshTimer);
    this.#listeners.clear();
    await Promise.all(Object.values(this.#informers).map((informer: { close(): Promise<void> }) => informer.close()));
  }

  /** Advances the transition timeline with what the caches hold at `at`. */
  #observe(at: number): void {
    if (!(['gateways', 'configMaps', 'leases'] as const).every((k) => this.#synced.has(k))) return;
    const imGateway = this.#gateway();
    if (!imGateway) return;
    const { namespace } = this.#options;
    const leases = this.#informers.leases.list(namespace).map((lease) => leaseReport(lease, at));
    const fact = ringFact({
      ring: this.#ringObservation(),
      leases,
      conditions: imGateway.status?.conditions ?? [],
      convergedVersion: convergedVersion(imGateway),
      at,
    });
    if (fact) this.#timeline = advanceTimeline(this.#timeline, fact);
  }

  #ringObservation(): RingObservation {
    const name = ringConfigMapName(this.#options.name);
    const configMap = this.#informers.configMaps.get(name, this.#options.namespace);
    return configMap ? observeRing(name, configMap.data) : { kind: 'missing', configMap: name };
  }

  #gateway(): IMGatewayObject | undefined {
    return this.#informers.gateways.get(this.#options.name, this.#options.namespace);
  }

  #statusView(at: number): Snapshot['status'] {
    if (!(['gateways', 'configMaps', 'leases'] as const).every((k) => this.#synced.has(k))) return null;
    const imGateway = this.#gateway();
    if (!imGateway) return null;
    const { name, namespace } = this.#options;
    const leases = this.#informers.leases.list(namespace);
    return statusView({ gateway: name, namespace, imGateway, ring: this.#ringObservation(), leases, now: at });
  }

  #notFound(): string | null {
    const { name, namespace } = this.#options;
    const missing = `imgateway "${name}" not found in namespace "${namespace}"`;
    if (this.#crdMissing) return `${missing} (the IMGateway CRD is not installed)`;
    if (!this.#synced.has('gateways') || this.#gateway()) return null;
    return missing;
  }

  #onError(key: keyof Informers, error: unknown): void {
    if (this.#closed) return;
    // Without the CRD the IMGateway list is a 404: the gateway is not found rather than the server unreachable.
    if (key === 'gateways' && apiStatusCode(error) === 404) {
      this.#crdMissing = true;
      this.#changed();
      return;
    }
    this.#failing.add(key);
    this.#connection = { state: 'reconnecting', message: apiErrorMessage(error) };
    this.#changed();
    if (this.#probeTimer === undefined) this.#scheduleProbe();
  }

  /**
   * Lists what failed again until the API server answers them all (the informers restart
   * themselves meanwhile): a resource that stays refused keeps the view reconnecting, with why.
   */
  #scheduleProbe(): void {
    const delay = backoffMs(this.#attempt++, this.#options.retryBaseMs, this.#options.retryMaxMs);
    this.#probeTimer = setTimeout(() => {
      // Taken out of the set: a watch that fails again while they are asked goes back in.
      const failing = [...this.#failing];
      this.#failing.clear();
      Promise.all(failing.map((key) => this.#lists.get(key)!())).then(
        () => {
          this.#probeTimer = undefined;
          if (this.#closed) return;
          if (this.#failing.size > 0) return this.#scheduleProbe();
          this.#attempt = 0;
          this.#connection = { state: 'live', message: null };
          this.#changed();
        },
        (error: unknown) => {
          if (this.#closed) return;
          for (const key of failing) this.#failing.add(key);
          this.#connection = { state: 'reconnecting', message: apiErrorMessage(error) };
          this.#changed();
          this.#scheduleProbe();
        },
      );
    }, delay);
  }

  /** Coalesces changes: listeners hear of them at most once per `minIntervalMs`. */
  #changed(): void {
    if (this.#closed) return;
    // Each change is observed at once, so a step's time is when it happened, not when it was announced.
    this.#observe(this.#options.now());
    if (this.#notifyTimer !== undefined) return;
    const wait = Math.max(0, this.#lastNotified + this.#options.minIntervalMs - this.#options.now());
    this.#notifyTimer = setTimeout(() => {
      this.#notifyTimer = undefined;
      this.#lastNotified = this.#options.now();
      // Computed even without listeners: each one advances the transition timeline.
      const snapshot = this.snapshot();
      const content = JSON.stringify({ ...snapshot, at: '' });
      if (content === this.#lastAnnounced) return;
      this.#lastAnnounced = content;
      for (const listener of this.#listeners) listener(snapshot);
    }, wait);
  }
}

type ResolvedOptions = Required<Omit<StatusFeedOptions, 'delivery'>> & Pick<StatusFeedOptions, 'delivery'>;

function resolveOptions(options: StatusFeedOptions): ResolvedOptions {
  const resolved = { now: Date.now, ...DEFAULTS, ...withoutUndefined(options) };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = resolved[key];
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${key} must be an integer >= 0, got ${value}`);
  }
  if (!options.name) throw new TypeError('name must be an IMGateway name');
  if (!options.namespace) throw new TypeError('namespace must not be empty');
  return resolved;
}

function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}

/** `status.ring.convergedVersion` of the IMGateway, when it reports one. */
function convergedVersion(gateway: IMGatewayObject | undefined): number | null {
  const value = (gateway?.status as { ring?: { convergedVersion?: unknown } } | undefined)?.ring?.convergedVersion;
  return typeof value === 'number' ? value : null;
}

interface InformerHooks {
  readonly onError: (key: keyof Informers, error: unknown) => void;
  /** Told each informer's list function. */
  readonly onList: (key: keyof Informers, list: () => Promise<unknown>) => void;
}

function makeInformers(
  options: Required<Pick<StatusFeedOptions, 'kc' | 'namespace' | 'name' | 'retryBaseMs' | 'retryMaxMs'>>,
  hooks: InformerHooks,
): Informers {
  const { kc, namespace, name, retryBaseMs, retryMaxMs } = options;
  const core = kc.makeApiClient(CoreV1Api);
  const ns = `/namespaces/${encodeURIComponent(namespace)}`;
  const byGateway = `${Labels.gateway}=${name}`;
  const ringSelector = `metadata.name=${ringConfigMapName(name)}`;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const informer = <T extends KubernetesObject>(
    key: keyof Informers,
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    labelSelector?: string,
  ): ResilientInformer<T> => {
    hooks.onList(key, list);
    return new ResilientInformer<T>({
      kc,
      path,
      list,
      ...(labelSelector ? { labelSelector } : {}),
      retryBaseMs,
      retryMaxMs,
      onError: (error) => hooks.onError(key, error),
    });
  };
  return {
    gateways: informer(
      'gateways',
      `/apis/${IMGATEWAYS.group}/${IMGATEWAYS.version}${ns}/${IMGATEWAYS.plural}`,
      () =>
        custom.listNamespacedCustomObject({ ...IMGATEWAYS, namespace }) as Promise<
          KubernetesListObject<IMGatewayObject & KubernetesObject>
        >,
    ),
    // ResilientInformer takes no field selector: the watch path carries it (as runtime/ring-watcher.ts does).
    configMaps: informer(
      'configMaps',
      `/api/v1${ns}/configmaps?fieldSelector=${encodeURIComponent(ringSelector)}`,
      () => core.listNamespacedConfigMap({ namespace, fieldSelector: ringSelector }),
    ),
    leases: informer(
      'leases',
      `/apis/coordination.k8s.io/v1${ns}/leases`,
      () => kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace, labelSelector: byGateway }),
      byGateway,
    ),
    pods: informer(
      'pods',
      `/api/v1${ns}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector: byGateway }),
      byGateway,
    ),
    events: informer('events', `/api/v1${ns}/events`, () => core.listNamespacedEvent({ namespace })),
  };
}
