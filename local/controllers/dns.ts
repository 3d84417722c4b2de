import { randomUUID } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CoreV1Api, type KubeConfig, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { DEFAULT_CLUSTER_DOMAIN, hostRecords, hostsFileText } from './dns-records.js';
import { backoffMs, ResilientInformer } from '../../kube/controller-kit.js';
import { Lifecycle } from './lifecycle.js';

/** Options of {@link DnsController}. */
export interface DnsControllerOptions {
  readonly kc: KubeConfig;
  /** The hosts file to write (its directory must exist). */
  readonly hostsFile: string;
  /** Default `cluster.local`. */
  readonly clusterDomain?: string;
  /** Told of watch errors and failed writes (a failed write is retried with backoff). */
  readonly onError?: (error: unknown) => void;
  /** How long a burst of changes is gathered into one write, in ms. Default 20. */
  readonly coalesceMs?: number;
  /** Told after each pass: whether the file was replaced, and its content. For tests and logs. */
  readonly onFlush?: (result: FlushResult) => void;
}

/** The outcome of one pass of the controller. */
export interface FlushResult {
  /** True when the file was replaced; false when its content was already right. */
  readonly changed: boolean;
  readonly content: string;
}

const DEFAULTS = { clusterDomain: DEFAULT_CLUSTER_DOMAIN, coalesceMs: 20 };
/** Retry delays after a failed write: first and longest, in ms. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;
/** RFC 1123 names, dot-separated: what a cluster domain may be. */
const DOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type ResolvedOptions = Required<Omit<DnsControllerOptions, 'onError' | 'onFlush'>> &
  Pick<DnsControllerOptions, 'onError' | 'onFlush'>;

/**
 * Cluster DNS for the local control plane, as an `/etc/hosts` file (records: see
 * `hostRecords` in dns-records.ts). It watches Services and Pods and rewrites the file when
 * its content would change, a burst of changes at a time, atomically: a temporary file in
 * the same directory renamed over it, so a reader sees the old file or the new one, never
 * part of one. Pods find it through the environment variable the cluster names for it.
 */
export class DnsController {
  readonly #options: ResolvedOptions;
  readonly #services: ResilientInformer<V1Service>;
  readonly #pods: ResilientInformer<V1Pod>;
  /** The content on disk as far as we know; undefined until read or written. */
  #written: string | undefined;
  #ready = false;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  readonly #lifecycle = new Lifecycle('DnsController', { start: () => this.#start(), close: () => this.#close() });

  constructor(options: DnsControllerOptions) {
    this.#options = resolveOptions(options);
    const core = options.kc.makeApiClient(CoreV1Api);
    // Closing aborts the watches: not an error once closed.
    const onError = (e: unknown): void => {
      if (!this.#lifecycle.isClosed) options.onError?.(new Error('while watching services and pods', { cause: e }));
    };
    this.#services = new ResilientInformer<V1Service>({
      kc: options.kc,
      path: '/api/v1/services',
      list: () => core.listServiceForAllNamespaces(),
      onError,
    });
    this.#pods = new ResilientInformer<V1Pod>({
      kc: options.kc,
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
      onError,
    });
    for (const informer of [this.#services, this.#pods] as const) {
      for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => this.#schedule());
    }
  }

  /** Starts watching; resolves once the file reflects the cluster (after the first write). Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops watching and waits for a write in progress. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    this.#written = await readFile(this.#options.hostsFile, 'utf8').catch(() => undefined);
    await Promise.all([this.#services.start(), this.#pods.start()]);
    if (this.#lifecycle.isClosed) return;
    // Ready first: a change that lands during the first write starts a pass after it.
    this.#ready = true;
    await this.#flush({ rethrow: true });
  }

  async #close(): Promise<void> {
    clearTimeout(this.#timer);
    await Promise.all([this.#services.close(), this.#pods.close()]);
    await this.#flushing;
  }

  #schedule(delayMs = this.#options.coalesceMs): void {
    if (!this.#ready || this.#lifecycle.isClosed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, delayMs);
  }

  /**
   * One pass at a time; changes during a pass start another after it. With `rethrow` (the
   * first pass, awaited by `start()`) a failed write rejects instead of being retried.
   */
  #flush(mode: { rethrow: boolean } = { rethrow: false }): Promise<void> {
    if (this.#flushing) {
      this.#again = true;
      return this.#flushing;
    }
    const run = this.#flushLoop(mode);
    this.#flushing = run.catch(() => undefined).finally(() => (this.#flushing = undefined));
    return run;
  }

  async #flushLoop(mode: { rethrow: boolean }): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#flushOnce();
        this.#failures = 0;
      } catch (error) {
        if (mode.rethrow) throw error;
        this.#options.onError?.(error);
        this.#schedule(backoffMs(this.#failures++, RETRY_BASE_MS, RETRY_MAX_MS));
        return;
      }
    } while (this.#again && !this.#lifecycle.isClosed);
  }

  async #flushOnce(): Promise<void> {
    const { clusterDomain, hostsFile } = this.#options;
    const content = hostsFileText(hostRecords(this.#services.list(), this.#pods.list(), clusterDomain), clusterDomain);
    const changed = content !== this.#written;
    if (changed) {
      await replaceFile(hostsFile, content);
      this.#written = content;
    }
    this.#options.onFlush?.({ changed, content });
  }
}

/** Writes `content` to a temporary file beside `file`, then renames it over `file` (atomic on POSIX). */
async function replaceFile(file: string, content: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    await writeFile(temporary, content, { mode: 0o644 });
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new Error(`while writing the hosts file ${file}`, { cause: error });
  }
}

function resolveOptions(options: DnsControllerOptions): ResolvedOptions {
  const resolved = { ...DEFAULTS, ...options };
  if (typeof resolved.hostsFile !== 'string' || resolved.hostsFile === '')
    throw new TypeError('hostsFile must be a non-empty path');
  if (!DOMAIN.test(resolved.clusterDomain))
    throw new TypeError(`clusterDomain must be a DNS name, got ${JSON.stringify(resolved.clusterDomain)}`);
  if (!Number.isFinite(resolved.coalesceMs) || resolved.coalesceMs < 0)
    throw new RangeError(`coalesceMs must be a non-negative number of ms, got ${resolved.coalesceMs}`);
  return resolved;
}
