/**
 * imring on a local control plane: the IMGateway CRD, the operator, a proxy and a push (each a
 * pod, run by the local pod runner as a process on its own loopback address), the token Secret
 * and the sample IMGateway. What `kubectl apply -k config/` and the sample do on a cluster.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1Pod,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { LocalCluster, LocalClusterOptions } from '../local/cluster.js';
import { IMGATEWAY } from '../operator/api.js';
import { HOSTS_FILE_ENV } from '../runtime/resolver.js';
import { applyImringRbac, OPERATOR_SERVICE_ACCOUNT, RUNTIME_SERVICE_ACCOUNT } from './local-rbac.js';

const CRD_FILE = fileURLToPath(new URL('../../crds/imgateway.yaml', import.meta.url));

/** The sample gateway `imring local` runs. */
export const SAMPLE = { namespace: 'default', name: 'demo', replicas: 3, secret: 'demo-token' } as const;

/** Where a client reaches the system. */
export interface Endpoints {
  /** The proxy's ws URL (`GET /ws?userID=&platform=&token=`). */
  readonly proxyUrl: string;
  /** Push's HTTP base URL (`POST /v1/push`). */
  readonly pushUrl: string;
  /** The development HS256 key of the sample IMGateway's client tokens. */
  readonly tokenSecret: string;
}

/** The imring image the local pod runner maps to this build's CLI. */
const IMAGE = 'ghcr.io/imring/imring:0.1.0';

/** This build's CLI (`dist/cli/imring.js`): the entrypoint of every image named `imring`. */
export const IMRING_CLI: readonly string[] = [process.execPath, fileURLToPath(new URL('./imring.js', import.meta.url))];

/** The environment variable that maps more images to local commands: a JSON object `{"<repository>": ["cmd", ...]}`. */
export const LOCAL_IMAGES_ENV = 'IMRING_LOCAL_IMAGES';

/**
 * What a local cluster must know to run imring's pods: every image named `imring` (any registry,
 * any tag) runs this build's CLI, {@link LOCAL_IMAGES_ENV} adds images, and pods find the
 * cluster's hosts file under `IMRING_HOSTS_FILE`, where runtime/resolver.ts looks for it, and
 * each pod runs as its ServiceAccount (RBAC applies, see ./local-rbac.ts). The kubeconfig's
 * context is `imring-local`.
 */
export const IMRING_CLUSTER_OPTIONS = {
  name: 'imring-local',
  imageNames: { imring: IMRING_CLI },
  imagesEnv: LOCAL_IMAGES_ENV,
  hostsFileEnv: HOSTS_FILE_ENV,
  podCredentials: 'serviceAccount',
} as const satisfies Partial<LocalClusterOptions>;

/**
 * Installs imring into `cluster` and applies the sample IMGateway; resolves once the proxy and
 * push pods are Ready. The token key is kept in the state dir, so a restart keeps clients' tokens valid.
 */
export async function installImring(
  cluster: LocalCluster,
  options: {
    replicas?: number;
    onProgress?: (line: string) => void;
    /** Flags added to the proxy's and push's command lines (e.g. their Lease periods). */
    runtimeArgs?: readonly string[];
    /** Flags added to the operator's command line (e.g. `--rollout statefulset`). */
    operatorArgs?: readonly string[];
    /** The node selector of the operator, proxy and push pods (e.g. to keep them off a node to drain). */
    nodeSelector?: Readonly<Record<string, string>>;
  } = {},
): Promise<Endpoints> {
  const onProgress = options.onProgress ?? (() => undefined);
  const replicas = options.replicas ?? SAMPLE.replicas;
  const kc = cluster.kc;
  onProgress('applying the IMGateway CRD');
  await applyCrd(kc);
  const tokenSecret = await developmentKey(cluster.stateDir);
  const core = kc.makeApiClient(CoreV1Api);
  await createOrKeep(() =>
    core.createNamespacedSecret({
      namespace: SAMPLE.namespace,
      body: { metadata: { name: SAMPLE.secret }, stringData: { key: tokenSecret } },
    }),
  );
  onProgress('applying the RBAC of config/');
  await applyImringRbac(kc, { namespace: SAMPLE.namespace, gateways: [SAMPLE.name] });
  onProgress('starting the operator, proxy and push pods');
  // Ready once they serve a ring: the sample's ring exists within seconds of the operator's start.
  const runtime = (component: 'proxy' | 'push'): V1Pod =>
    runtimePod({
      gateway: SAMPLE.name,
      component,
      tokenSecretName: SAMPLE.secret,
      readiness: 'ring',
      args: options.runtimeArgs,
    });
  for (const pod of [operatorPod(options.operatorArgs ?? []), runtime('proxy'), runtime('push')]) {
    if (options.nodeSelector) pod.spec!.nodeSelector = { ...options.nodeSelector };
    await createOrKeep(() => core.createNamespacedPod({ namespace: SAMPLE.namespace, body: pod }));
  }
  onProgress(`applying IMGateway ${SAMPLE.name} (${replicas} replicas)`);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const gateway = {
    apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`,
    kind: IMGATEWAY.kind,
    metadata: { name: SAMPLE.name, namespace: SAMPLE.namespace },
    spec: { replicas, image: IMAGE, auth: { secretName: SAMPLE.secret }, unreadyGraceSeconds: 10, logLevel: 'warn' },
  };
  await createOrKeep(() =>
    custom.createNamespacedCustomObject({
      group: IMGATEWAY.group,
      version: IMGATEWAY.version,
      namespace: SAMPLE.namespace,
      plural: IMGATEWAY.plural,
      body: gateway,
    }),
  );
  const [proxy, push] = await Promise.all([podIp(core, `${SAMPLE.name}-proxy`), podIp(core, `${SAMPLE.name}-push`)]);
  return { proxyUrl: `ws://${proxy}:10080/ws`, pushUrl: `http://${push}:10091`, tokenSecret };
}

/** Writes `<stateDir>/env` (shell format) for external clients. */
export async function writeEnvFile(cluster: LocalCluster, endpoints: Endpoints): Promise<string> {
  const path = join(cluster.stateDir, 'env');
  const lines = [
    '# imring local: source this file (`. .imring/env`) to reach the local system.',
    `export KUBECONFIG='${resolve(cluster.kubeconfigPath)}'`,
    `export IMRING_PROXY_URL='${endpoints.proxyUrl}'`,
    `export IMRING_PUSH_URL='${endpoints.pushUrl}'`,
    `export IMRING_TOKEN_SECRET='${endpoints.tokenSecret}'`,
  ];
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  return path;
}

async function applyCrd(kc: KubeConfig): Promise<void> {
  const crd = parseYaml(await readFile(CRD_FILE, 'utf8')) as V1CustomResourceDefinition;
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await createOrKeep(() => api.createCustomResourceDefinition({ body: crd }));
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

async function createOrKeep(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if ((error as { code?: unknown }).code !== 409) throw error;
  }
}

const downward = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

function operatorPod(args: readonly string[]): V1Pod {
  return {
    metadata: { name: 'imring-operator', labels: { 'app.kubernetes.io/name': 'imring-operator' } },
    spec: {
      serviceAccountName: OPERATOR_SERVICE_ACCOUNT,
      containers: [
        {
          name: 'operator',
          image: IMAGE,
          args: ['operator', '--leader-elect', 'false', ...args],
          env: [
            downward('POD_NAME', 'metadata.name'),
            downward('POD_NAMESPACE', 'metadata.namespace'),
            downward('POD_IP', 'status.podIP'),
            { name: 'LOG_LEVEL', value: 'info' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** A proxy or push pod serving IMGateway `init.gateway` (the tests run theirs with this too). */
export function runtimePod(init: {
  readonly gateway: string;
  readonly component: 'proxy' | 'push';
  /** The Secret (key `key`) of the proxy's optional early token check. */
  readonly tokenSecretName: string;
  /**
   * `ring`: Ready once it serves a ring (/readyz); `listening`: once its port accepts (for pods started before any ring
   * exists).
   */
  readonly readiness: 'ring' | 'listening';
  /** Flags after the component's name. */
  readonly args?: readonly string[];
}): V1Pod {
  const { component } = init;
  // Probes go to the ops port (the proxy's own: a connection flood never sheds them).
  const port = component === 'proxy' ? 10081 : 10091;
  return {
    metadata: {
      name: `${init.gateway}-${component}`,
      labels: { 'app.kubernetes.io/name': `imring-${component}`, 'app.kubernetes.io/part-of': 'imring' },
    },
    spec: {
      serviceAccountName: RUNTIME_SERVICE_ACCOUNT,
      containers: [
        {
          name: component,
          image: IMAGE,
          args: [component, ...(init.args ?? [])],
          env: [
            { name: 'IMRING_GATEWAY', value: init.gateway },
            downward('POD_NAME', 'metadata.name'),
            downward('POD_NAMESPACE', 'metadata.namespace'),
            downward('POD_IP', 'status.podIP'),
            // Secrets only by reference: the optional early token check reads the gateway's Secret.
            ...(component === 'proxy'
              ? [
                  {
                    name: 'IMRING_TOKEN_SECRET',
                    valueFrom: { secretKeyRef: { name: init.tokenSecretName, key: 'key' } },
                  },
                ]
              : []),
            { name: 'LOG_LEVEL', value: 'warn' },
          ],
          readinessProbe:
            init.readiness === 'ring'
              ? { httpGet: { path: '/readyz', port }, periodSeconds: 1 }
              : { tcpSocket: { port }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** Longest wait for the proxy and push pods to be Ready, ms. */
const READY_TIMEOUT_MS = 90_000;

/** The pod's IP once it is Ready (read every 200 ms: start-up, not a hot path). */
async function podIp(core: CoreV1Api, name: string): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const pod = await core.readNamespacedPod({ name, namespace: SAMPLE.namespace }).catch(() => undefined);
    const ready = pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready && pod?.status?.podIP) return pod.status.podIP;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`pod ${name} is not Ready after ${READY_TIMEOUT_MS / 1000} s: see its log in the state dir's logs/`);
}
