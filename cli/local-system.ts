/**
 * imring on a local control plane, installed as on a cluster: the manifests of `config/` (the
 * IMGateway CRD, namespaces, RBAC, the operator Deployment with leader election, the proxy and
 * push Deployments behind their Services, the NetworkPolicies) created through the API server,
 * the token Secret, then the sample IMGateway of `config/samples/`. The local pod runner runs
 * each pod as a process, the service proxy gives each Service its address.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Service,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { LocalCluster, LocalClusterOptions } from '../local/cluster.js';
import { RawObjectApi } from '../kube/raw-object-api.js';
import { HOSTS_FILE_ENV } from '../runtime/resolver.js';
import { CONFIG_DIR, readKustomization } from './manifests.js';

/** The sample gateway of `config/samples/imgateway.yaml`, its namespace (config/demo's) and its token Secret. */
export const SAMPLE = { namespace: 'imring-demo', name: 'demo', replicas: 3, secret: 'demo-token' } as const;

/** The operator's Deployment and namespace in `config/`. */
export const OPERATOR = { namespace: 'imring-system', name: 'imring-operator' } as const;

/** The sample's proxy and push: their Deployments and Services in `config/demo/`, and the Service port clients use. */
export const RUNTIMES = {
  proxy: { name: `${SAMPLE.name}-proxy`, port: 'ws', container: 'proxy' },
  push: { name: `${SAMPLE.name}-push`, port: 'http', container: 'push' },
} as const;

const SAMPLE_FILE = join(CONFIG_DIR, 'samples', 'imgateway.yaml');

/**
 * What `imring local` changes in the sample: the replicas asked for, a shorter grace for unready
 * members (a demo reacts in seconds) and quieter gateway logs.
 */
const LOCAL_SAMPLE_SPEC = { unreadyGraceSeconds: 10, logLevel: 'warn' } as const;

/** Where a client reaches the system. */
export interface Endpoints {
  /** The proxy Service's ws URL (`GET /ws?userID=&platform=&token=`). */
  readonly proxyUrl: string;
  /** The push Service's HTTP base URL (`POST /v1/push`). */
  readonly pushUrl: string;
  /** The development HS256 key of the sample IMGateway's client tokens. */
  readonly tokenSecret: string;
}

/** This build's CLI (`dist/cli/imring.js`): the entrypoint of every image named `imring`. */
export const IMRING_CLI: readonly string[] = [process.execPath, fileURLToPath(new URL('./imring.js', import.meta.url))];

/** The environment variable that maps more images to local commands: a JSON object `{"<repository>": ["cmd", ...]}`. */
export const LOCAL_IMAGES_ENV = 'IMRING_LOCAL_IMAGES';

/**
 * What a local cluster must know to run imring's pods: every image named `imring` (any registry,
 * any tag) runs this build's CLI, {@link LOCAL_IMAGES_ENV} adds images, and pods find the
 * cluster's hosts file under `IMRING_HOSTS_FILE`, where runtime/resolver.ts looks for it, and
 * each pod runs as its ServiceAccount (RBAC applies). The kubeconfig's context is `imring-local`,
 * its namespace the sample's, so `kubectl get imgw` needs no `-n`.
 */
export const IMRING_CLUSTER_OPTIONS = {
  name: 'imring-local',
  namespace: SAMPLE.namespace,
  imageNames: { imring: IMRING_CLI },
  imagesEnv: LOCAL_IMAGES_ENV,
  hostsFileEnv: HOSTS_FILE_ENV,
  podCredentials: 'serviceAccount',
} as const satisfies Partial<LocalClusterOptions>;

/** Options of {@link installImring}. */
export interface InstallOptions {
  /** The sample IMGateway's replicas. Default {@link SAMPLE}'s. */
  readonly replicas?: number;
  readonly onProgress?: (line: string) => void;
  /** Flags added to the proxy's and push's command lines (e.g. their Lease periods). */
  readonly runtimeArgs?: readonly string[];
  /** Flags added to the operator's command line (e.g. `--rollout statefulset`). */
  readonly operatorArgs?: readonly string[];
  /** The node selector of the operator, proxy and push pods (e.g. to keep them off a node to drain). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Fields of the sample IMGateway's spec to set (e.g. `resources`), over the sample's and `imring local`'s. */
  readonly sampleSpec?: Readonly<Record<string, unknown>>;
}

/**
 * Installs imring into `cluster` from `config/` and applies the sample IMGateway; resolves once
 * a proxy and a push are available behind their Services. The token key is kept in
 * the state dir, so a restart keeps clients' tokens valid.
 */
export async function installImring(cluster: LocalCluster, options: InstallOptions = {}): Promise<Endpoints> {
  const onProgress = options.onProgress ?? (() => undefined);
  const { kc } = cluster;
  const objects = (await readKustomization(CONFIG_DIR)).map((object) => customized(object, options));
  onProgress('applying config/: the CRD, namespaces and RBAC');
  await createManifests(
    kc,
    objects.filter((o) => o.kind !== 'Deployment'),
  );
  const tokenSecret = await developmentKey(cluster.stateDir);
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: SAMPLE.secret, namespace: SAMPLE.namespace },
    stringData: { key: tokenSecret },
  };
  await createManifests(kc, [secret]);
  // The operator and the sample first, the proxy and push once the gateways are on their way: on a small machine
  // the gateways' start is the longest path, and it no longer waits behind four more processes starting.
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const isOperator = (o: KubernetesObject): boolean => o.metadata?.name === OPERATOR.name;
  onProgress('applying config/: the operator Deployment');
  await createManifests(kc, deployments.filter(isOperator));
  const replicas = options.replicas ?? SAMPLE.replicas;
  onProgress(`applying IMGateway ${SAMPLE.name} (${replicas} replicas)`);
  await createManifests(kc, [await sampleGateway({ ...options.sampleSpec, replicas })]);
  await statefulSetOf(kc);
  onProgress('applying config/: the proxy and push Deployments');
  await createManifests(
    kc,
    deployments.filter((o) => !isOperator(o)),
  );
  const [proxy, push] = await Promise.all([serviceAddress(kc, RUNTIMES.proxy), serviceAddress(kc, RUNTIMES.push)]);
  return { proxyUrl: `ws://${proxy}/ws`, pushUrl: `http://${push}`, tokenSecret };
}

/** `object` with the install options applied: flags and node selectors of the operator, proxy and push. */
function customized(object: KubernetesObject, options: InstallOptions): KubernetesObject {
  if (object.kind !== 'Deployment') return object;
  const deployment = structuredClone(object) as V1Deployment;
  const name = deployment.metadata?.name;
  const args =
    name === OPERATOR.name
      ? options.operatorArgs
      : name === RUNTIMES.proxy.name || name === RUNTIMES.push.name
        ? options.runtimeArgs
        : undefined;
  const pod = deployment.spec?.template.spec;
  if (!pod) return deployment;
  if (args?.length) {
    const container = pod.containers[0]!;
    container.args = [...(container.args ?? []), ...args];
  }
  if (options.nodeSelector) pod.nodeSelector = { ...pod.nodeSelector, ...options.nodeSelector };
  return deployment;
}

/** Writes `<stateDir>/env` (shell format) for external clients. */
export async function writeEnvFile(
  cluster: LocalCluster,
  endpoints: Endpoints & { readonly webUrl?: string | undefined },
): Promise<string> {
  const path = join(cluster.stateDir, 'env');
  const lines = [
    '# imring local: source this file (`. .imring/env`) to reach the local system.',
    `export KUBECONFIG='${resolve(cluster.kubeconfigPath)}'`,
    `export IMRING_PROXY_URL='${endpoints.proxyUrl}'`,
    `export IMRING_PUSH_URL='${endpoints.pushUrl}'`,
    `export IMRING_TOKEN_SECRET='${endpoints.tokenSecret}'`,
    ...(endpoints.webUrl ? [`export IMRING_WEB_URL='${endpoints.webUrl}'`] : []),
  ];
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

/** The sample's token key: made once per state dir (a development key, never a production one). */
async function developmentKey(stateDir: string): Promise<string> {
  const path = join(stateDir, 'token-secret');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('hex');
    await writeFile(path, `${key}\n`, { mode: 0o600 });
    return key;
  }
}

/**
 * Creates `objects` in order as written, as `kubectl create -f` would, keeping any that exist (409). Written as
 * is, not through client-node's typed models: those drop a CRD schema's `default` and `x-kubernetes-*` keys.
 */
export async function createManifests(kc: KubeConfig, objects: readonly KubernetesObject[]): Promise<void> {
  const api = RawObjectApi.forConfig(kc);
  for (const object of objects) {
    try {
      await api.createAsIs(object);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 409) throw error;
    }
  }
}

/** The sample IMGateway of `config/samples/` as `imring local` creates it: {@link LOCAL_SAMPLE_SPEC}, then `spec`. */
export async function sampleGateway(spec: Record<string, unknown> = {}): Promise<KubernetesObject & { spec: object }> {
  const sample = parseYaml(await readFile(SAMPLE_FILE, 'utf8')) as KubernetesObject & { spec: object };
  return { ...sample, spec: { ...sample.spec, ...LOCAL_SAMPLE_SPEC, ...spec } };
}

/** Resolves once the operator created the sample's StatefulSet (read every 100 ms: start-up, not a hot path). */
async function statefulSetOf(kc: KubeConfig): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  await poll(
    () => apps.readNamespacedStatefulSet({ name: SAMPLE.name, namespace: SAMPLE.namespace }).catch(() => undefined),
    100,
    `the operator created no StatefulSet ${SAMPLE.name} in ${READY_TIMEOUT_MS / 1000} s: see its log in the state dir's logs/`,
  );
}

/** `<clusterIP>:<port>` of `service` once `deployment` has a replica available (the Service then forwards). */
function addressOf(deployment: V1Deployment, service: V1Service, portName: string): string | undefined {
  const available = (deployment.status?.availableReplicas ?? 0) >= 1;
  const ip = service.spec?.clusterIP;
  const port = service.spec?.ports?.find((p) => p.name === portName)?.port;
  return available && ip && ip !== 'None' && port ? `${ip}:${port}` : undefined;
}

/** Longest wait for a proxy and a push to be available behind their Services, ms. */
const READY_TIMEOUT_MS = 90_000;

/**
 * `<clusterIP>:<port>` of a runtime's Service once its Deployment has a replica available (read
 * every 200 ms: start-up, not a hot path).
 */
async function serviceAddress(kc: KubeConfig, runtime: (typeof RUNTIMES)[keyof typeof RUNTIMES]): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = SAMPLE.namespace;
  return poll(
    async () => {
      const [deployment, service] = await Promise.all([
        apps.readNamespacedDeployment({ name: runtime.name, namespace }).catch(() => undefined),
        core.readNamespacedService({ name: runtime.name, namespace }).catch(() => undefined),
      ]);
      return deployment && service ? addressOf(deployment, service, runtime.port) : undefined;
    },
    200,
    `deployment ${runtime.name} is not available behind its Service after ${READY_TIMEOUT_MS / 1000} s: ` +
      "see its pods' logs in the state dir's logs/",
  );
}

/** `read()` every `everyMs` until it gives a value, for at most {@link READY_TIMEOUT_MS}; then throws `failure`. */
async function poll<T>(read: () => Promise<T | undefined>, everyMs: number, failure: string): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(failure);
}
