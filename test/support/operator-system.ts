import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  CustomObjectsApi,
  Watch,
  type CoreV1Event,
  type V1ConfigMap,
  type V1Pod,
} from '@kubernetes/client-node';
import { applyImringRbac, OPERATOR_SERVICE_ACCOUNT } from './imring-rbac.js';
import { IMRING_CLUSTER_OPTIONS } from '../../cli/local-system.js';
import { runtimePod } from './runtime-pod.js';
import { LocalCluster } from '../../local/cluster.js';
import type { ServedRequest } from '../../local/index.js';
import { IMGATEWAY, type IMGateway } from '../../operator/api.js';
import { parseRingDocument, RING_DATA_KEY, type RingDocument } from '../../ring/index.js';
import { describeGateway, throwIfInvalid } from './gateway-state.js';
import { CRD_FILE } from './imgateway-crd.js';
import { runKubectl, type KubectlResult } from './kubectl.js';
import { apiProbes } from './local-api.js';
import { describePod } from './pod-state.js';
import { Unreachable, watchUntil } from './wait.js';

export const NAMESPACE = 'default';
export const TOKEN_SECRET = 'operator-test-token-secret-0123456789';
/** The label selector of the proxy and push pods (./runtime-pod.ts). */
export const RUNTIME_PODS = 'app.kubernetes.io/name in (imring-proxy,imring-push)';
const CLI = fileURLToPath(new URL('../../cli/imring.js', import.meta.url));
/** The CRD the operator serves (the public API). */

/** An operator process and where its metrics are served. */
export interface OperatorProcess {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly metricsPort: number;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<number | string>;
}

/**
 * A local cluster with the IMGateway CRD, operator processes (`imring operator`), and proxy
 * and push as pods (`imring proxy`/`imring push` through the pod runner, with their Leases),
 * observed through the API: the ring ConfigMap's history, Events, and the IMGateway status.
 */
export class OperatorSystem {
  readonly cluster: LocalCluster;
  readonly dir: string;
  /** Every (version, state) the ring ConfigMap went through, in order, as `v2 Prepared`. */
  readonly ringHistory: string[] = [];
  /** The ring document of each entry of {@link ringHistory} (undefined for an invalid one), in order. */
  readonly ringDocuments: (RingDocument | undefined)[] = [];
  /** The API server's last 10,000 requests, oldest first. */
  readonly requestLog: ServedRequest[];
  readonly #operators = new Map<string, OperatorProcess>();
  #historyWatch: AbortController | undefined;

  private constructor(dir: string, onRequest?: (request: ServedRequest) => void) {
    this.dir = dir;
    // Pod addresses come from a random /16 per cluster (local/kubelet/pod-runner.ts), so test runs side by side do not
    // collide.
    const probes = apiProbes();
    this.requestLog = probes.requestLog;
    const logged = probes.options.onRequest;
    this.cluster = new LocalCluster({
      ...IMRING_CLUSTER_OPTIONS,
      namespace: NAMESPACE,
      stateDir: join(dir, 'cluster'),
      apiServer: {
        ...probes.options,
        onRequest: (request) => {
          logged(request);
          onRequest?.(request);
        },
      },
    });
  }

  /**
   * Starts the cluster, applies the CRD, the RBAC of config/ (its runtimes' Role naming the ring
   * of `gateway`, default `im`) and the token Secret, and starts watching the ring. `onRequest`
   * is told of every request the API server answers (the request log keeps only the last 10,000).
   */
  static async start(
    options: { gateway?: string; onRequest?: (request: ServedRequest) => void } = {},
  ): Promise<OperatorSystem> {
    const system = new OperatorSystem(await mkdtemp(join(tmpdir(), 'imring-op-')), options.onRequest);
    try {
      await system.cluster.start();
      await system.kubectlOk(['apply', '-f', CRD_FILE]);
      await applyImringRbac(system.cluster.kc, { namespace: NAMESPACE, gateways: [options.gateway ?? 'im'] });
      const operatorConfig = system.cluster.serviceAccountKubeconfig(NAMESPACE, OPERATOR_SERVICE_ACCOUNT)!;
      await writeFile(system.#operatorKubeconfig, operatorConfig, { mode: 0o600 });
      await system.core.createNamespacedSecret({
        namespace: NAMESPACE,
        body: { metadata: { name: 'im-token' }, stringData: { key: TOKEN_SECRET } },
      });
      await system.#watchRing();
    } catch (error) {
      await system.close();
      throw error;
    }
    return system;
  }

  get core(): CoreV1Api {
    return this.cluster.kc.makeApiClient(CoreV1Api);
  }

  kubectl(args: readonly string[]): Promise<KubectlResult> {
    return runKubectl(this.cluster.kubeconfigPath, this.dir, args);
  }

  async kubectlOk(args: readonly string[]): Promise<string> {
    const result = await this.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** The operator's kubeconfig: its ServiceAccount's token, as a pod from config/operator.yaml gets. */
  get #operatorKubeconfig(): string {
    return join(this.dir, 'operator-kubeconfig');
  }

  /** Starts `imring operator` (leader election on) as its ServiceAccount; resolves once its metrics server listens. */
  async startOperator(identity: string, extra: readonly string[] = []): Promise<OperatorProcess> {
    const log = createWriteStream(join(this.dir, `operator-${identity}.log`), { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        CLI,
        'operator',
        '--namespace',
        NAMESPACE,
        '--host',
        '127.0.0.1',
        '--metrics-port',
        '0',
        '--identity',
        identity,
        '--leader-election-namespace',
        NAMESPACE,
        ...extra,
      ],
      {
        env: { PATH: process.env.PATH, KUBECONFIG: this.#operatorKubeconfig, LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stderr.pipe(log);
    const exited = new Promise<number | string>((resolve) =>
      child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    const metricsPort = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        const record = JSON.parse(line) as { msg?: string; port?: number };
        if (record.msg === 'operator started' && record.port !== undefined) resolve(record.port);
      });
      void exited.then((code) => reject(new Error(`operator ${identity} exited (${code}) before it started`)));
    });
    const operator = { identity, child, metricsPort, exited };
    this.#operators.set(identity, operator);
    return operator;
  }

  /** Sends `signal` to operator `identity` and waits for it to exit. */
  async stopOperator(identity: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const operator = this.#operators.get(identity);
    if (!operator) return;
    this.#operators.delete(identity);
    operator.child.kill(signal);
    await operator.exited;
  }

  /** A counter's sum over its series from an operator's /metrics (0 when absent). */
  async metric(identity: string, name: string): Promise<number> {
    const operator = this.#operators.get(identity);
    if (!operator) throw new Error(`no operator ${identity}`);
    const text = await (await fetch(`http://127.0.0.1:${operator.metricsPort}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  }

  /** Runs proxy and push as pods of the cluster (they hold Leases, so they take part in the barrier). */
  async startRuntimes(gateway: string): Promise<{ proxy: V1Pod; push: V1Pod }> {
    for (const component of ['proxy', 'push'] as const) {
      // Ready once listening: they start before the IMGateway, so no ring exists yet.
      await this.core.createNamespacedPod({
        namespace: NAMESPACE,
        body: runtimePod({ gateway, component, tokenSecretName: 'im-token', readiness: 'listening' }),
      });
    }
    const ready = await watchUntil(
      this.cluster.kc,
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      async (observe) => {
        const pods = (await this.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: RUNTIME_PODS })).items;
        observe(pods.map(describePod).join(' | ') || 'no runtime pods');
        const running = pods.filter(
          (p) => p.status?.podIP && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return running.length === 2 ? running : undefined;
      },
      60_000,
    );
    return {
      proxy: ready.find((p) => p.metadata?.name === `${gateway}-proxy`)!,
      push: ready.find((p) => p.metadata?.name === `${gateway}-push`)!,
    };
  }

  /** Creates IMGateway `name` with `spec` over the sample's (see {@link imGateway}). */
  async createGateway(name: string, spec: Record<string, unknown> = {}): Promise<void> {
    await this.cluster.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: IMGATEWAY.group,
      version: IMGATEWAY.version,
      namespace: NAMESPACE,
      plural: IMGATEWAY.plural,
      body: imGateway(name, spec),
    });
  }

  async gateway(name: string): Promise<IMGateway> {
    const custom = this.cluster.kc.makeApiClient(CustomObjectsApi);
    return (await custom.getNamespacedCustomObject({
      group: IMGATEWAY.group,
      version: IMGATEWAY.version,
      namespace: NAMESPACE,
      plural: IMGATEWAY.plural,
      name,
    })) as IMGateway;
  }

  /**
   * Resolves with the IMGateway once `check` accepts it (evaluated on every change). Fails at
   * once, with the gateway's state, when the spec is invalid or every operator has exited.
   */
  untilGateway(name: string, check: (gateway: IMGateway) => boolean, timeoutMs = 90_000): Promise<IMGateway> {
    const path = `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/${NAMESPACE}/${IMGATEWAY.plural}`;
    return watchUntil(
      this.cluster.kc,
      path,
      async (observe) => {
        const gateway = await this.gateway(name).catch(() => undefined);
        observe(describeGateway(gateway));
        if (gateway && check(gateway)) return gateway;
        throwIfInvalid(gateway, `IMGateway ${name}`);
        const exited = await this.#everyOperatorExited();
        if (exited !== undefined) throw new Unreachable(`IMGateway ${name}: ${exited}; ${describeGateway(gateway)}`);
        return undefined;
      },
      { timeoutMs, wake: (evaluate) => this.#onOperatorExit(evaluate) },
    );
  }

  /** The ring document in the ConfigMap now. */
  async ring(name: string): Promise<RingDocument | undefined> {
    const configMap = await this.core
      .readNamespacedConfigMap({ namespace: NAMESPACE, name: `${name}-ring` })
      .catch(() => undefined);
    const parsed = parseRingDocument(configMap?.data?.[RING_DATA_KEY] ?? '');
    return parsed.ok ? parsed.document : undefined;
  }

  /** Events about IMGateway `name`, oldest first. */
  async events(name: string): Promise<CoreV1Event[]> {
    const events = (await this.core.listNamespacedEvent({ namespace: NAMESPACE })).items.filter(
      (e) => e.involvedObject.kind === IMGATEWAY.kind && e.involvedObject.name === name,
    );
    return events.sort((a, b) => new Date(a.firstTimestamp ?? 0).getTime() - new Date(b.firstTimestamp ?? 0).getTime());
  }

  /** Stops operators, the watch and the cluster (every pod process); removes the temp dir. */
  async close(): Promise<void> {
    this.#historyWatch?.abort();
    for (const identity of [...this.#operators.keys()]) await this.stopOperator(identity);
    await this.cluster.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  /**
   * Why no operator can act any more: every one started and not stopped has exited (each with
   * its last log line); undefined while one runs.
   */
  async #everyOperatorExited(): Promise<string | undefined> {
    const operators = [...this.#operators.values()];
    const running = operators.some((o) => o.child.exitCode === null && o.child.signalCode === null);
    if (operators.length === 0 || running) return undefined;
    const exits = await Promise.all(
      operators.map(async (o) => {
        const log = await readFile(join(this.dir, `operator-${o.identity}.log`), 'utf8').catch(() => '');
        const last = log.trim().split('\n').at(-1) ?? '';
        return `${o.identity} (${o.child.exitCode ?? o.child.signalCode}; last logged: ${last})`;
      }),
    );
    return `every operator exited: ${exits.join(', ')}`;
  }

  /** Calls `listener` when one of the running operators exits; returns its remover. */
  #onOperatorExit(listener: () => void): () => void {
    let active = true;
    for (const operator of this.#operators.values()) void operator.exited.then(() => active && listener());
    return () => {
      active = false;
    };
  }

  async #watchRing(): Promise<void> {
    this.#historyWatch = await new Watch(this.cluster.kc).watch(
      `/api/v1/namespaces/${NAMESPACE}/configmaps`,
      {},
      (_type: string, object: V1ConfigMap) => {
        if (!object.metadata?.name?.endsWith('-ring')) return;
        const parsed = parseRingDocument(object.data?.[RING_DATA_KEY] ?? '');
        const entry = parsed.ok ? `v${parsed.document.version} ${parsed.document.state}` : 'invalid';
        if (this.ringHistory.at(-1) === entry) return;
        this.ringHistory.push(entry);
        this.ringDocuments.push(parsed.ok ? parsed.document : undefined);
      },
      () => undefined,
    );
  }
}

/** Whether `gateway`'s ring has converged at `replicas` Ready members for its current generation. */
export function isConverged(gateway: IMGateway, replicas: number): boolean {
  const status = gateway.status;
  return (
    status?.conditions?.some((c) => c.type === 'RingConverged' && c.status === 'True') === true &&
    status.ring?.members?.length === replicas &&
    status.replicas === replicas &&
    status.readyReplicas === replicas &&
    status.observedGeneration === gateway.metadata.generation
  );
}

/** {@link isConverged} as a predicate for {@link OperatorSystem.untilGateway}. */
export const convergedAt =
  (replicas: number) =>
  (gateway: IMGateway): boolean =>
    isConverged(gateway, replicas);

/** An IMGateway manifest with test-friendly timings. */
export function imGateway(name: string, spec: Record<string, unknown> = {}): IMGateway {
  return {
    apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`,
    kind: IMGATEWAY.kind,
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas: 1,
      image: 'imring:dev',
      auth: { secretName: 'im-token' },
      unreadyGraceSeconds: 20,
      ring: { ackTimeoutSeconds: 10 },
      drain: { timeoutSeconds: 20 },
      logLevel: 'warn',
      ...spec,
    },
  };
}
