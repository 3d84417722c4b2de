import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ImringKubeConfig } from '../kube/kube-config.js';
import { LocalApiServer, type LocalApiServerOptions } from './apiserver/api-server.js';
import { DisruptionController } from './controllers/disruption.js';
import { DnsController } from './controllers/dns.js';
import { EndpointsController } from './controllers/endpoints.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { NodeController } from './controllers/nodes.js';
import { Scheduler } from './controllers/scheduler.js';
import { ServiceProxy } from './controllers/service-proxy.js';
import { StatefulSetController } from './controllers/statefulset.js';
import { ReplicaSetController } from './controllers/replicaset.js';
import { DeploymentController } from './controllers/deployment.js';
import { HorizontalPodAutoscalerController, type HorizontalPodAutoscalerControllerOptions } from './controllers/hpa.js';
import { ENV_NAME } from './kubelet/env.js';
import type { ImageTable } from './kubelet/images.js';
import { ServiceAccountCredentials } from './kubelet/pod-credentials.js';
import { PodRunner } from './kubelet/pod-runner.js';
import { MetricsCollector } from './kubelet/metrics-collector.js';
import { kubeconfigYaml } from './apiserver/kubeconfig.js';

/** Options of {@link LocalCluster}. */
export interface LocalClusterOptions {
  /** Where the kubeconfig, the hosts file and pod logs go. Created if missing. */
  stateDir: string;
  /** The cluster's name (the API server's `name`: the kubeconfig's context). Default `local`. */
  name?: string;
  /** The namespace of the kubeconfig's context: where kubectl goes without `-n`. Default `default`. */
  namespace?: string;
  /** API server port. Default 0 (any free port; the kubeconfig names it). */
  port?: number;
  /** The API server's other options (its limits, clock, store, faults, request observer). Default none. */
  apiServer?: Omit<LocalApiServerOptions, 'name' | 'port'>;
  /** Image repository → command (the pod runner's `images`). Default none. */
  images?: ImageTable;
  /** Image name → command (the pod runner's `imageNames`). Default none. */
  imageNames?: ImageTable;
  /** The environment variable that adds images (the pod runner's `imagesEnv`). Default none. */
  imagesEnv?: string;
  /**
   * The environment variable under which every pod gets the hosts file's path, as pods in a
   * cluster get cluster DNS. Default none: pods get only `KUBECONFIG`.
   */
  hostsFileEnv?: string;
  /**
   * The first pod address (127.0.0.0/8). Default a random 127.[16..239].x.1. Clusters running at
   * the same time on one machine need different ranges: pods bind their ports on their address.
   */
  firstPodAddress?: string;
  /**
   * The first address of the Service IP range (127.0.0.0/8), where Services' virtual addresses
   * listen. Default a random 127.[240..254].x.1: its 65,534 addresses lie above 127.239.255.254,
   * where pod ranges starting below 127.240.0.0 end, so it cannot meet them.
   */
  firstServiceAddress?: string;
  /** The pod runner's restart backoff, first and longest delay in ms. Default its own (1 s, 30 s). */
  restartBackoff?: { readonly baseMs: number; readonly maxMs: number };
  /** How many Nodes (`local-1` … `local-<nodes>`) the cluster has, all of them this machine. Default 3. */
  nodes?: number;
  /**
   * What pods authenticate as: `serviceAccount`, each its ServiceAccount's token in a kubeconfig
   * of its own (RBAC applies; a pod whose account is missing is not started), or `admin`, the
   * cluster's kubeconfig (cluster-admin). Default `admin`.
   */
  podCredentials?: 'serviceAccount' | 'admin';
  /**
   * How often the kubelet samples its containers' CPU and memory for `metrics.k8s.io`, in ms:
   * the metrics' window. Default 15,000 (metrics-server's resolution).
   */
  metricsResolutionMs?: number;
  /**
   * The horizontal pod autoscaler's periods and tolerance (its sync period, the default
   * scale-down stabilization window, …). Default the controller's own (15 s, 300 s, …).
   */
  autoscaler?: Omit<HorizontalPodAutoscalerControllerOptions, 'kc' | 'onError' | 'now'>;
  /** Where controller errors are reported (they are retried). Default: ignored. */
  onError?: (component: string, error: unknown) => void;
}

/** Something started with the cluster and closed with it. */
interface Part {
  readonly name: string;
  close(): Promise<void>;
}

/**
 * The whole local control plane: the API server, the StatefulSet, ReplicaSet, Deployment,
 * endpoints and horizontal pod autoscaler controllers, the garbage collector, the DNS hosts
 * file, the service proxy (Services' virtual addresses), the pod runner and its metrics
 * collector (metrics.k8s.io), each a client of the API server. Pods get `KUBECONFIG` (this cluster's)
 * in their environment, the way pods in a cluster get a service account, and the hosts file's
 * path under `hostsFileEnv`.
 */
export class LocalCluster {
  readonly server: LocalApiServer;
  readonly stateDir: string;
  readonly kubeconfigPath: string;
  readonly hostsFile: string;
  readonly #options: LocalClusterOptions;
  readonly #parts: Part[] = [];
  #kc: KubeConfig | undefined;
  #runner: PodRunner | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LocalClusterOptions) {
    this.#options = resolveOptions(options);
    this.stateDir = resolve(options.stateDir);
    this.kubeconfigPath = join(this.stateDir, 'kubeconfig');
    this.hostsFile = join(this.stateDir, 'hosts');
    const { name, port, firstServiceAddress } = options;
    this.server = new LocalApiServer({
      ...options.apiServer,
      ...(name === undefined ? {} : { name }),
      ...(port === undefined ? {} : { port }),
      ...(firstServiceAddress === undefined ? {} : { firstServiceAddress }),
    });
  }

  /** A client-node KubeConfig for this cluster, once started. */
  get kc(): KubeConfig {
    if (!this.#kc) throw new Error('LocalCluster: not started');
    return this.#kc;
  }

  /** The pod runner's container pids (for leak checks), once started. */
  pids(): number[] {
    return this.#runner?.pids() ?? [];
  }

  /** Starts every part; on failure, closes what started and rethrows. */
  async start(): Promise<void> {
    await mkdir(join(this.stateDir, 'logs'), { recursive: true });
    try {
      await this.server.start();
      this.#parts.push({ name: 'api-server', close: () => this.server.close() });
      const kubeconfig = this.#kubeconfigWith(this.server.token, this.#options.namespace ?? 'default');
      await writeFile(this.kubeconfigPath, kubeconfig, { mode: 0o600 });
      // Keep-alive connections: client-node alone would handshake TLS for every controller request.
      const kc = new ImringKubeConfig();
      kc.loadFromString(kubeconfig);
      this.#kc = kc;
      await this.#startControllers(kc);
    } catch (error) {
      await this.close();
      throw new Error('while starting the local cluster', { cause: error });
    }
  }

  /** Stops the pods' processes first, then the controllers, then the API server. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const part of [...this.#parts].reverse()) {
        try {
          await part.close();
        } catch (error) {
          this.#report(part.name, error);
        }
      }
    })();
    return this.#closing;
  }

  async #startControllers(kc: KubeConfig): Promise<void> {
    const onError = (name: string) => (error: unknown) => this.#report(name, error);
    const nodes = new NodeController({ kc, count: this.#options.nodes ?? 3, onError: onError('node-controller') });
    const controllers: [string, { start(): Promise<void>; close(): Promise<void> }][] = [
      ['garbage-collector', new GarbageCollector({ kc, onError: onError('garbage-collector') })],
      ['dns', new DnsController({ kc, hostsFile: this.hostsFile, onError: onError('dns') })],
      ['endpoints-controller', new EndpointsController({ kc, onError: onError('endpoints-controller') })],
      ['service-proxy', new ServiceProxy({ kc, onError: onError('service-proxy') })],
      ['node-controller', nodes],
      ['scheduler', new Scheduler({ kc, onError: onError('scheduler') })],
      ['disruption-controller', new DisruptionController({ kc, onError: onError('disruption-controller') })],
      ['statefulset-controller', new StatefulSetController({ kc, onError: onError('statefulset-controller') })],
      ['replicaset-controller', new ReplicaSetController({ kc, onError: onError('replicaset-controller') })],
      ['deployment-controller', new DeploymentController({ kc, onError: onError('deployment-controller') })],
      [
        'horizontal-pod-autoscaler',
        new HorizontalPodAutoscalerController({
          ...this.#options.autoscaler,
          kc,
          onError: onError('horizontal-pod-autoscaler'),
        }),
      ],
    ];
    // Each is a client of the API server alone: they start side by side (their informers list at once).
    await Promise.all(controllers.map(([name, part]) => this.#add(name, part, part.start())));
    const { images, imageNames, imagesEnv, firstPodAddress, hostsFileEnv, restartBackoff } = this.#options;
    const runner = new PodRunner({
      kc,
      logDir: join(this.stateDir, 'logs'),
      nodeNames: nodes.names,
      ...(images ? { images } : {}),
      ...(imageNames ? { imageNames } : {}),
      ...(imagesEnv ? { imagesEnv } : {}),
      ...(firstPodAddress ? { firstPodAddress } : {}),
      ...(restartBackoff
        ? { restartBackoffBaseMs: restartBackoff.baseMs, restartBackoffMaxMs: restartBackoff.maxMs }
        : {}),
      env: { KUBECONFIG: this.kubeconfigPath, ...(hostsFileEnv ? { [hostsFileEnv]: this.hostsFile } : {}) },
      ...(this.#options.podCredentials === 'serviceAccount' ? { credentials: this.#serviceAccountCredentials() } : {}),
      onError: onError('pod-runner'),
    });
    this.#runner = runner;
    this.server.setPodLogSource(runner.podLogs);
    await this.#add('pod-runner', runner, runner.start());
    const metrics = new MetricsCollector({
      containers: () => runner.containers(),
      ...(this.#options.metricsResolutionMs === undefined ? {} : { resolutionMs: this.#options.metricsResolutionMs }),
      onError: onError('metrics-collector'),
    });
    this.server.setResourceMetricsSource(metrics.source);
    metrics.start();
    this.#parts.push({ name: 'metrics-collector', close: () => metrics.close() });
  }

  /**
   * A kubeconfig (YAML) authenticating as ServiceAccount `namespace/name`, once started, for a
   * process run outside the pod runner; undefined when the account does not exist.
   */
  serviceAccountKubeconfig(namespace: string, name: string): string | undefined {
    const token = this.server.serviceAccountToken(namespace, name);
    return token === undefined ? undefined : this.#kubeconfigWith(token, namespace);
  }

  #kubeconfigWith(token: string, namespace: string): string {
    const { server } = this;
    const name = this.#options.name ?? 'local';
    return kubeconfigYaml({ name, server: server.url, token, caCertificate: server.caCertificate, namespace });
  }

  #serviceAccountCredentials(): ServiceAccountCredentials {
    return new ServiceAccountCredentials({
      dir: join(this.stateDir, 'pods'),
      tokenFor: (namespace, name) => this.server.serviceAccountToken(namespace, name),
      kubeconfig: (token, namespace) => this.#kubeconfigWith(token, namespace),
    });
  }

  /** Registers `part` for closing before awaiting its start, so a failed start is cleaned up. */
  async #add(name: string, part: { close(): Promise<void> }, started: Promise<void>): Promise<void> {
    this.#parts.push({ name, close: () => part.close() });
    await started;
  }

  #report(component: string, error: unknown): void {
    this.#options.onError?.(component, error);
  }
}

function resolveOptions(options: LocalClusterOptions): LocalClusterOptions {
  const { hostsFileEnv, nodes } = options;
  if (nodes !== undefined && (!Number.isInteger(nodes) || nodes < 1)) {
    throw new RangeError(`nodes must be an integer >= 1, got ${nodes}`);
  }
  if (hostsFileEnv !== undefined && (!ENV_NAME.test(hostsFileEnv) || hostsFileEnv === 'KUBECONFIG')) {
    throw new TypeError(`hostsFileEnv must be a variable name, not KUBECONFIG, got ${JSON.stringify(hostsFileEnv)}`);
  }
  return options;
}
