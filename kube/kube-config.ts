import { hostname } from 'node:os';
import { Agent } from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

/** Where a process reads its cluster credentials from (the process environment by default). */
export interface KubeConfigSource {
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The `User-Agent` of every request (API calls, lists and watches), e.g. `imring-operator`, `imring-gateway`,
   * so an API server's audit log (and the RBAC review test) can tell the components apart.
   * Default: client-node's (node-fetch's) own.
   */
  readonly userAgent?: string;
}

/**
 * The client-node configuration of an imring process (operator, runtime or CLI): the
 * `KUBECONFIG` file(s) when set (pods of the local control plane get one), else the in-cluster
 * service account when `KUBERNETES_SERVICE_HOST` is set, else client-node's default
 * (`~/.kube/config`).
 * @throws when the chosen configuration cannot be read.
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const env = source.env ?? process.env;
  const kc = new ImringKubeConfig(source.userAgent);
  const files = (env.KUBECONFIG ?? '').split(':').filter((file) => file !== '');
  if (files.length > 0) {
    kc.loadFromFile(files[0]!);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
  } else if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  return kc;
}

type FetchOptions = Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;

/**
 * A KubeConfig that keeps its connections and names its caller. client-node (1.x) builds a new
 * https.Agent for every request, so every call and every watch pays a TLS handshake on both
 * sides; this one hands every request one keep-alive agent per cluster and TLS identity
 * instead. client-node has no user-agent option either: with `userAgent`, requests carry it.
 * These two methods are where every request gets its agent and headers: typed API clients (and
 * so informers' lists) call `applySecurityAuthentication`, `Watch` calls `applyToFetchOptions`.
 */
export class ImringKubeConfig extends KubeConfig {
  readonly #userAgent: string | undefined;
  /** The keep-alive agents, by the TLS options of the agent client-node built. */
  readonly #agents = new Map<string, Agent>();

  constructor(userAgent?: string) {
    super();
    this.#userAgent = userAgent;
  }

  override async applyToFetchOptions(opts: Parameters<KubeConfig['applyToFetchOptions']>[0]): Promise<FetchOptions> {
    const init = await super.applyToFetchOptions(opts);
    const agent = this.#kept(init.agent);
    if (this.#userAgent === undefined) return { ...init, agent };
    const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
    headers.set('User-Agent', this.#userAgent);
    return { ...init, agent, headers: headers as unknown as FetchOptions['headers'] };
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const agent = this.#kept(context.getAgent());
    if (agent !== undefined) context.setAgent(agent);
    if (this.#userAgent !== undefined) context.setHeaderParam('User-Agent', this.#userAgent);
  }

  /** The keep-alive agent standing for `built` (an https.Agent client-node just made), or `built` as it is. */
  #kept<T>(built: T): T | Agent {
    if (!(built instanceof Agent)) return built;
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = built.options;
    const id = JSON.stringify([
      this.getCurrentCluster()?.server,
      ca,
      cert,
      key,
      pfx,
      passphrase,
      rejectUnauthorized,
      servername,
    ]);
    let agent = this.#agents.get(id);
    if (agent === undefined) {
      agent = new Agent({ ...built.options, keepAlive: true });
      this.#agents.set(id, agent);
    }
    return agent;
  }
}

/** Who this pod is: from the downward API (`POD_NAMESPACE`, `POD_NAME`). */
export interface PodIdentity {
  /** `POD_NAMESPACE`, default `default`. */
  readonly namespace: string;
  /** `POD_NAME`, default the host name (a pod's host name is its name). */
  readonly pod: string;
}

/** This pod's namespace and name (see {@link PodIdentity}). */
export function podIdentity(env: NodeJS.ProcessEnv = process.env): PodIdentity {
  return { namespace: env.POD_NAMESPACE || 'default', pod: env.POD_NAME || hostname() };
}
