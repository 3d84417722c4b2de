import type {
  ContainerUsage,
  PodUsage,
  ResourceMetricsSnapshot,
  ResourceMetricsSource,
} from '../apiserver/http/resource-metrics.js';
import { sessionUsage, type ProcessUsage } from './process-usage.js';

/** A running container process, as the collector samples it. */
export interface SampledContainer {
  readonly namespace: string;
  readonly pod: string;
  /** The pod's UID: a pod recreated under the same name starts a new series. */
  readonly uid: string;
  readonly node: string;
  readonly container: string;
  readonly pid: number;
}

/** Options of {@link MetricsCollector}. */
export interface MetricsCollectorOptions {
  /** The running containers now. */
  readonly containers: () => readonly SampledContainer[];
  /** How often every container is sampled, in ms: the metrics' window. Default 15,000 (metrics-server's resolution). */
  readonly resolutionMs?: number;
  /** Told of a failed sampling (the next one is tried on time). Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** The clock. Default `() => new Date()`. */
  readonly now?: () => Date;
}

const DEFAULTS = { resolutionMs: 15_000, onError: (): void => undefined, now: (): Date => new Date() };

/** A pod being measured; complete once each of its containers has a rate. */
interface MeasuredPod extends Omit<PodUsage, 'containers'> {
  containers: ContainerUsage[];
  complete: boolean;
}

/** One container's sample. */
interface Sample {
  readonly at: number;
  readonly usage: ProcessUsage;
}

/**
 * The kubelet's resource metrics, as metrics-server reports them: every `resolutionMs` it
 * samples each container's cumulative CPU time and resident memory, and serves the CPU rate
 * between a container's last two samples (nanocores) with the later sample's time as
 * `timestamp` and the time between them as `window`. A pod is reported once every running
 * container of it has two samples.
 */
export class MetricsCollector {
  /** Serves the last sampling; hand it to `LocalApiServer.setResourceMetricsSource`. */
  readonly source: ResourceMetricsSource;
  readonly #options: Required<MetricsCollectorOptions>;
  /** `uid/container/pid` → its last sample. */
  #samples = new Map<string, Sample>();
  #snapshot: ResourceMetricsSnapshot | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> | undefined;
  #closed = false;

  constructor(options: MetricsCollectorOptions) {
    this.#options = resolveOptions(options);
    this.source = () => this.#snapshot;
  }

  /** Samples at once, then every `resolutionMs`. Idempotent; refused after `close()`. */
  start(): void {
    if (this.#closed) throw new Error('MetricsCollector: closed');
    if (this.#timer) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#options.resolutionMs);
    this.#timer.unref();
  }

  /** Stops sampling; waits for a sampling under way. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#sampling;
  }

  #tick(): void {
    // A sampling slower than the resolution is not overlapped: the next tick is skipped.
    if (this.#sampling || this.#closed) return;
    this.#sampling = this.#sample()
      .catch((error: unknown) => this.#options.onError(error))
      .finally(() => {
        this.#sampling = undefined;
      });
  }

  async #sample(): Promise<void> {
    const containers = this.#options.containers();
    const usage = await sessionUsage(containers.map((c) => c.pid));
    const at = this.#options.now().getTime();
    const samples = new Map<string, Sample>();
    const pods = new Map<string, MeasuredPod>();
    let windowMs = 0;
    for (const c of containers) {
      const now = usage.get(c.pid);
      if (!now) continue;
      const key = `${c.uid}/${c.container}/${c.pid}`;
      samples.set(key, { at, usage: now });
      const podKey = `${c.namespace}/${c.pod}`;
      const pod = pods.get(podKey) ?? {
        namespace: c.namespace,
        name: c.pod,
        node: c.node,
        containers: [],
        complete: true,
      };
      pods.set(podKey, pod);
      const before = this.#samples.get(key);
      if (!before || before.at >= at) {
        pod.complete = false;
        continue;
      }
      windowMs = Math.max(windowMs, at - before.at);
      const cpuNs = Math.max(0, now.cpuNanoseconds - before.usage.cpuNanoseconds);
      pod.containers.push({
        name: c.container,
        cpuNanoCores: Math.round((cpuNs * 1000) / (at - before.at)),
        memoryBytes: now.memoryBytes,
      });
    }
    this.#samples = samples;
    const complete = [...pods.values()].filter((p) => p.complete).map(({ complete: _, ...pod }) => pod);
    this.#snapshot = windowMs > 0 ? { timestamp: new Date(at), windowMs, pods: complete } : undefined;
  }
}

function resolveOptions(options: MetricsCollectorOptions): Required<MetricsCollectorOptions> {
  if (typeof options?.containers !== 'function') throw new TypeError('MetricsCollector: containers must be a function');
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...DEFAULTS, ...defined } as unknown as Required<MetricsCollectorOptions>;
  if (!Number.isFinite(resolved.resolutionMs) || resolved.resolutionMs <= 0) {
    throw new RangeError(
      `MetricsCollector: resolutionMs must be a positive number of ms, got ${resolved.resolutionMs}`,
    );
  }
  return resolved;
}
