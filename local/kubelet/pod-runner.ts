import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import type { PodLogSource } from '../apiserver/http/pod-log.js';
import { EventRecorder, ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import { Lifecycle } from '../controllers/lifecycle.js';
import { AddressPool } from './address-pool.js';
import type { PodCredentials } from './pod-credentials.js';
import { ENV_NAME, referencedSources, type EnvSources } from './env.js';
import { nameTable, parseImageTable, repositoryTable, type ImageCommands, type ImageTable } from './images.js';
import { removePodLogs } from './logs.js';
import { hasStatusChanged, type PodStatusJson } from './pod-status.js';
import { ignoringCodes, removeStoppedPod } from './pod-deletion.js';
import { PodWorker } from './pod-worker.js';
import type { SampledContainer } from './metrics-collector.js';

/** Options of {@link PodRunner}. */
export interface PodRunnerOptions {
  kc: KubeConfig;
  /** Directory for container logs (one file per pod container, the previous run kept). */
  logDir: string;
  /**
   * Image repository (a tag or digest is dropped) → argv prefix. Wins over `imagesEnv`, whose
   * entries it adds to. Default none.
   */
  images?: ImageTable;
  /**
   * Image name (the repository's last path segment) → argv prefix, for images no repository
   * entry maps: `{ server: [...] }` runs every `…/server` image. Default none.
   */
  imageNames?: ImageTable;
  /**
   * The environment variable (of this process, read at construction) whose JSON object
   * `{"<repository>": ["cmd", ...]}` adds images; errors about unknown images name it. Default none.
   */
  imagesEnv?: string;
  /** Extra environment of every container (e.g. KUBECONFIG), under what the pod spec says. */
  env?: Record<string, string>;
  /**
   * Each pod's credentials for the API server (its ServiceAccount's), over `env`; a pod without
   * them is not started, with a Warning Event, and retried. Default none: pods get `env` only.
   */
  credentials?: {
    forPod(pod: V1Pod): Promise<PodCredentials>;
    forget(pod: V1Pod): Promise<void>;
  };
  /** This node's name; pods with no node are bound to it unless `nodeNames` is given. Default `local`. */
  nodeName?: string;
  /**
   * The nodes whose pods this runner runs, every one of them this machine; a scheduler binds
   * pods to them, so pods with no node are left alone. Default: `[nodeName]`, binding pods to it.
   */
  nodeNames?: readonly string[];
  /**
   * The first pod address; pods get the next free one after it. Default: a random one (see
   * {@link randomFirstPodAddress}).
   */
  firstPodAddress?: string;
  /**
   * Restart backoff, first and longest delay in ms. Default 1,000 and 30,000: shorter than the
   * real kubelet's 10 s and 5 min, so a local crash loop recovers in seconds.
   */
  restartBackoffBaseMs?: number;
  restartBackoffMaxMs?: number;
  /** Told of errors that are retried or ignored (API writes, informer restarts). */
  onError?: (error: unknown) => void;
}

const DEFAULTS = { nodeName: 'local', restartBackoffBaseMs: 1_000, restartBackoffMaxMs: 30_000 };

/**
 * A first pod address in a random /16 of 127.16.0.0–127.239.255.255: two local clusters on one
 * machine (a demo and a test run) must not hand the same address, and so the same ports, to
 * two pods. (A fixed 127.1.0.1 did exactly that.)
 */
export function randomFirstPodAddress(random: () => number = Math.random): string {
  return `127.${16 + Math.floor(random() * 224)}.${Math.floor(random() * 256)}.1`;
}

/** The node's address, every pod's `status.hostIP`. */
const HOST_IP = '127.0.0.1';

/** Delay before a pod whose credentials are missing (no ServiceAccount yet) is tried again, in ms. */
const CREDENTIALS_RETRY_MS = 1_000;

/** Longest grace `close()` gives containers before SIGKILL, in ms. */
export const CLOSE_GRACE_MAX_MS = 10_000;

/** Pods synced at once. */
const SYNC_CONCURRENCY = 16;

/** The PATH of every container, as an image's environment would set one. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

/**
 * The kubelet's part of the local control plane: binds unscheduled pods to this node and runs
 * each pod's containers as local processes on the pod's own loopback address, with the
 * downward API, probes, restarts with backoff, graceful deletion and logs. Everything goes
 * through the API (client-node), as a kubelet's would.
 */
export class PodRunner {
  /** Serves container logs; hand it to `LocalApiServer.setPodLogSource`. */
  readonly podLogs: PodLogSource;
  readonly #options: ResolvedOptions;
  readonly #core: CoreV1Api;
  readonly #informer: ResilientInformer<V1Pod>;
  readonly #queue: WorkQueue;
  readonly #events: EventRecorder;
  readonly #addresses: AddressPool;
  readonly #workers = new Map<string, PodWorker>();
  /** Workers of pods gone from the API, still stopping. */
  readonly #retiring = new Set<Promise<void>>();
  readonly #written = new Map<string, PodStatusJson>();
  readonly #pendingEvents = new Set<Promise<void>>();
  readonly #lifecycle = new Lifecycle('PodRunner', { start: () => this.#informer.start(), close: () => this.#close() });

  constructor(options: PodRunnerOptions) {
    this.#options = resolveOptions(options);
    const { kc, onError } = this.#options;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#addresses = new AddressPool(this.#options.firstPodAddress);
    this.#events = new EventRecorder(kc, 'kubelet', onError);
    this.#informer = new ResilientInformer<V1Pod>({
      kc,
      path: '/api/v1/pods',
      list: () => this.#core.listPodForAllNamespaces(),
      onError,
    });
    this.#queue = new WorkQueue((key) => this.#sync(key), {
      concurrency: SYNC_CONCURRENCY,
      onError: (_key, error) => onError(error),
    });
    for (const event of ['add', 'update', 'delete'] as const)
      this.#informer.on(event, (pod) => this.#queue.add(keyOf(pod)));
    this.podLogs = (namespace, name, logOptions) => {
      const worker = this.#workers.get(`${namespace}/${name}`);
      return worker ? worker.logs(logOptions) : Promise.resolve(undefined);
    };
  }

  /** Starts watching pods; resolves once the first list is loaded. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /**
   * Stops watching, then every container: SIGTERM, SIGKILL after its pod's grace period
   * (at most {@link CLOSE_GRACE_MAX_MS}). Pods are left in the API as they are. Idempotent.
   */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  /** The pids of running containers. */
  pids(): number[] {
    return [...this.#workers.values()].flatMap((w) => w.pids());
  }

  /** The running containers, for the metrics collector. */
  containers(): SampledContainer[] {
    return [...this.#workers.values()].flatMap((w) =>
      w
        .runningProcesses()
        .map((p) => ({ ...p, namespace: w.namespace, pod: w.name, uid: w.uid, node: w.pod.spec?.nodeName ?? '' })),
    );
  }

  async #close(): Promise<void> {
    await this.#informer.close();
    await this.#queue.close();
    const workers = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all(workers.map((w) => w.terminate(Math.min(graceMsOf(w.pod), CLOSE_GRACE_MAX_MS))));
    await Promise.all([...this.#retiring]);
    await Promise.all([...this.#pendingEvents]);
  }

  async #sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.#informer.get(name, namespace);
    this.#retireStale(key, pod);
    if (!pod || this.#lifecycle.isClosed) return;
    if (!pod.spec?.nodeName) return this.#options.nodeNames ? undefined : this.#bind(pod);
    if (!(this.#options.nodeNames ?? [this.#options.nodeName]).includes(pod.spec.nodeName)) return;
    const adopted = !this.#workers.has(key);
    const worker = this.#workers.get(key) ?? (await this.#adopt(key, pod));
    if (!worker) return;
    worker.update(structuredClone(pod));
    if (pod.metadata?.deletionTimestamp) return this.#finishDeletion(key, worker);
    // As a pod's sandbox precedes its containers, its addresses show while they are created.
    if (adopted) await this.#writeStatus(worker);
    await worker.sync();
    await this.#writeStatus(worker);
  }

  /** A worker for a pod bound here that has none yet; undefined for one that must not run. */
  async #adopt(key: string, pod: V1Pod): Promise<PodWorker | undefined> {
    if (pod.metadata?.deletionTimestamp) {
      await this.#deletePod(pod);
      return undefined;
    }
    // Finished before this runner started: a kubelet does not run a terminal pod again.
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return undefined;
    const credentials = await this.#credentials(key, pod);
    if (!credentials) return undefined;
    const worker = this.#newWorker(pod, credentials);
    this.#workers.set(key, worker);
    return worker;
  }

  /** The pod's credential variables; undefined (an Event, a retry) when it has none yet. */
  async #credentials(key: string, pod: V1Pod): Promise<Record<string, string> | undefined> {
    const credentials = await this.#options.credentials?.forPod(pod);
    if (!credentials || 'env' in credentials) return credentials?.env ?? {};
    this.#record(
      { apiVersion: 'v1', kind: 'Pod', metadata: structuredClone(pod.metadata) },
      {
        type: 'Warning',
        reason: 'FailedMount',
        message: `MountVolume.SetUp failed for volume "kube-api-access": ${credentials.error}`,
      },
    );
    this.#queue.add(key, CREDENTIALS_RETRY_MS);
    return undefined;
  }

  #newWorker(pod: V1Pod, credentials: Record<string, string>): PodWorker {
    const key = keyOf(pod);
    const target = { apiVersion: 'v1', kind: 'Pod', metadata: structuredClone(pod.metadata) };
    return new PodWorker(structuredClone(pod), {
      hostIP: HOST_IP,
      podIP: this.#addresses.allocate(),
      logDir: this.#options.logDir,
      images: this.#options.images,
      baseEnv: { PATH: process.env.PATH ?? DEFAULT_PATH, ...this.#options.env, ...credentials },
      backoff: { baseMs: this.#options.restartBackoffBaseMs, maxMs: this.#options.restartBackoffMaxMs },
      readSources: () => this.#readSources(pod),
      record: (type, reason, message) => this.#record(target, { type, reason, message }),
      changed: () => this.#queue.add(key),
    });
  }

  /** Binds a pod to this node (the scheduler's part), unless it is being deleted. */
  async #bind(pod: V1Pod): Promise<void> {
    if (pod.metadata?.deletionTimestamp) return;
    const { name = '', namespace = '', uid } = pod.metadata ?? {};
    const body = [
      { op: 'test', path: '/metadata/uid', value: uid },
      { op: 'add', path: '/spec/nodeName', value: this.#options.nodeName },
    ];
    if (!(await ignoringCodes([404, 409, 422], this.#core.patchNamespacedPod({ name, namespace, body }, jsonPatch))))
      return;
    this.#record(
      { apiVersion: 'v1', kind: 'Pod', metadata: structuredClone(pod.metadata) },
      {
        type: 'Normal',
        reason: 'Scheduled',
        message: `Successfully assigned ${namespace}/${name} to ${this.#options.nodeName}`,
      },
    );
  }

  /** A pod with a deletionTimestamp: stop its containers, then remove it (grace 0), as the kubelet does. */
  async #finishDeletion(key: string, worker: PodWorker): Promise<void> {
    if (!worker.terminating) {
      const target = { apiVersion: 'v1', kind: 'Pod', metadata: structuredClone(worker.pod.metadata) };
      for (const container of worker.runningContainers())
        this.#record(target, { type: 'Normal', reason: 'Killing', message: `Stopping container ${container}` });
      void worker.terminate(graceMsOf(worker.pod)).then(() => this.#queue.add(key));
    }
    // No status write while terminating: the local API server completes a pending deletion on
    // any write to an object without finalizers, which would drop the pod while it still runs.
    if (!worker.terminated) return;
    await this.#deletePod(worker.pod);
    this.#workers.delete(key);
    this.#forget(worker);
  }

  async #deletePod(pod: V1Pod): Promise<void> {
    await removeStoppedPod(this.#core, pod);
  }

  /** Retires the worker of `key` when its pod is gone or is another pod of the same name. */
  #retireStale(key: string, pod: V1Pod | undefined): void {
    const current = this.#workers.get(key);
    if (current && pod?.metadata?.uid !== current.uid) this.#retire(key, current);
  }

  /** A pod gone from the API (or replaced by a namesake) while it ran here: its containers are stopped. */
  #retire(key: string, worker: PodWorker): void {
    this.#workers.delete(key);
    const done = worker.terminate(graceMsOf(worker.pod)).then(() => this.#forget(worker));
    this.#retiring.add(done);
    void done.finally(() => this.#retiring.delete(done));
  }

  #forget(worker: PodWorker): void {
    this.#addresses.release(worker.podIP);
    this.#written.delete(worker.uid);
    void this.#options.credentials?.forget(worker.pod).catch(this.#options.onError);
    void removePodLogs(this.#options.logDir, worker).catch(this.#options.onError);
  }

  /** Writes the status subresource when it differs from the last one written. */
  async #writeStatus(worker: PodWorker): Promise<void> {
    const written = this.#written.get(worker.uid);
    const status = worker.status(written?.conditions);
    if (!hasStatusChanged(status, written)) return;
    const body = [
      { op: 'test', path: '/metadata/uid', value: worker.uid },
      { op: 'add', path: '/status', value: status },
    ];
    if (
      await ignoringCodes(
        [404, 422],
        this.#core.patchNamespacedPodStatus({ name: worker.name, namespace: worker.namespace, body }, jsonPatch),
      )
    ) {
      this.#written.set(worker.uid, status);
    }
  }

  async #readSources(pod: V1Pod): Promise<EnvSources> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const wanted = referencedSources(pod);
    const configMaps = new Map<string, V1ConfigMap>();
    const secrets = new Map<string, V1Secret>();
    await Promise.all([
      ...[...wanted.configMaps].map(async (name) => {
        const cm = await orUndefined(this.#core.readNamespacedConfigMap({ name, namespace }));
        if (cm) configMaps.set(name, cm);
      }),
      ...[...wanted.secrets].map(async (name) => {
        const secret = await orUndefined(this.#core.readNamespacedSecret({ name, namespace }));
        if (secret) secrets.set(name, secret);
      }),
    ]);
    return { configMaps, secrets };
  }

  #record(
    target: Parameters<EventRecorder['record']>[0],
    event: { type: 'Normal' | 'Warning'; reason: string; message: string },
  ): void {
    const pending = this.#events.record(target, event.type, event.reason, event.message);
    this.#pendingEvents.add(pending);
    void pending.finally(() => this.#pendingEvents.delete(pending));
  }
}

type ResolvedOptions = Required<
  Omit<PodRunnerOptions, 'images' | 'imageNames' | 'imagesEnv' | 'env' | 'credentials' | 'nodeNames'>
> & {
  nodeNames?: readonly string[];
  credentials?: PodRunnerOptions['credentials'];
  images: ImageCommands;
  env: Record<string, string>;
};

function resolveOptions(options: PodRunnerOptions): ResolvedOptions {
  const resolved = { ...DEFAULTS, onError: () => undefined, ...options };
  if (!resolved.logDir) throw new TypeError('logDir is required');
  if (resolved.nodeNames?.length === 0) throw new RangeError('nodeNames must name at least one node');
  for (const key of ['restartBackoffBaseMs', 'restartBackoffMaxMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] <= 0)
      throw new RangeError(`${key} must be a positive number of ms, got ${resolved[key]}`);
  }
  if (resolved.restartBackoffMaxMs < resolved.restartBackoffBaseMs)
    throw new RangeError('restartBackoffMaxMs must not be less than restartBackoffBaseMs');
  const { imagesEnv } = options;
  if (imagesEnv !== undefined && !ENV_NAME.test(imagesEnv)) {
    throw new TypeError(`imagesEnv must be an environment variable name, got ${JSON.stringify(imagesEnv)}`);
  }
  const images: ImageCommands = {
    repositories: {
      ...(imagesEnv ? parseImageTable(process.env[imagesEnv], imagesEnv) : {}),
      ...repositoryTable(options.images ?? {}, 'images'),
    },
    names: nameTable(options.imageNames ?? {}, 'imageNames'),
    env: imagesEnv,
  };
  return {
    ...resolved,
    firstPodAddress: options.firstPodAddress ?? randomFirstPodAddress(),
    images,
    env: { ...options.env },
  };
}

/** `deletionGracePeriodSeconds` when set (and not 0), else `spec.terminationGracePeriodSeconds`, else 30 s; in ms. */
function graceMsOf(pod: V1Pod): number {
  const deletion = pod.metadata?.deletionGracePeriodSeconds;
  const seconds = deletion !== undefined && deletion > 0 ? deletion : (pod.spec?.terminationGracePeriodSeconds ?? 30);
  return seconds * 1000;
}

function keyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** Awaits `promise`; false when it failed with one of `codes` (the object moved on), rethrows anything else. */

async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}
