import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1ConfigMap,
  type V1Lease,
} from '@kubernetes/client-node';
import { Labels, RING_DATA_KEY, ringConfigMapName } from '../ring/index.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { NotFoundError, UsageError } from './io.js';
import type { IMGatewayObject } from './status-view.js';
import { apiStatusCode, apiErrorMessage } from '../kube/api-errors.js';

/** `parseArgs` options of the commands that read a cluster: `--kubeconfig`, `-n/--namespace`. */
export const CLUSTER_OPTIONS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
} as const;

/** The --help lines of {@link CLUSTER_OPTIONS}. */
export const CLUSTER_HELP = `  --kubeconfig FILE     the cluster's kubeconfig (default: $KUBECONFIG, else the in-cluster
                        service account, else ~/.kube/config)
  -n, --namespace NS    the namespace (default: the kubeconfig context's, else "default")`;

/** The IMGateway API (crds/, issue 6). */
const IMGATEWAYS = { group: 'imring.dev', version: 'v1alpha1', plural: 'imgateways' } as const;

/** A ring ConfigMap as the commands need it: its name and its `ring.json` text, if any. */
export interface RingConfigMap {
  readonly name: string;
  readonly data: V1ConfigMap['data'];
}

/**
 * Reads what `imring status` and `imring route` show, one GET or LIST per call: no watch,
 * no cache. A 404 is an answer (`undefined`); any other failure is a {@link NotFoundError}
 * naming what could not be read.
 */
export class ClusterReader {
  readonly namespace: string;
  readonly #core: CoreV1Api;
  readonly #leases: CoordinationV1Api;
  readonly #custom: CustomObjectsApi;

  constructor(kc: KubeConfig, namespace: string) {
    this.namespace = namespace;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#leases = kc.makeApiClient(CoordinationV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
  }

  /** The ConfigMap `<gateway>-ring`, or undefined when it does not exist. */
  async ringConfigMap(gateway: string): Promise<RingConfigMap | undefined> {
    const name = ringConfigMapName(gateway);
    const found = await this.#orMissing(
      `configmap "${name}"`,
      this.#core.readNamespacedConfigMap({ name, namespace: this.namespace }),
    );
    return found && { name, data: found.data };
  }

  /** The IMGateway `name`, or undefined when it, or the IMGateway CRD, does not exist. */
  imGateway(name: string): Promise<IMGatewayObject | undefined> {
    const request = this.#custom.getNamespacedCustomObject({
      ...IMGATEWAYS,
      namespace: this.namespace,
      name,
    }) as Promise<IMGatewayObject>;
    return this.#orMissing(`imgateway "${name}"`, request);
  }

  /** The IMGateways of the namespace, or undefined when the IMGateway CRD is not installed. */
  async imGateways(): Promise<IMGatewayObject[] | undefined> {
    const request = this.#custom.listNamespacedCustomObject({ ...IMGATEWAYS, namespace: this.namespace }) as Promise<{
      items?: IMGatewayObject[];
    }>;
    return (await this.#orMissing('imgateways', request))?.items ?? undefined;
  }

  /** Names of the gateways that have a ring ConfigMap (`<gateway>-ring` holding `ring.json`). */
  async ringGateways(): Promise<string[]> {
    const list = await this.#orMissing('configmaps', this.#core.listNamespacedConfigMap({ namespace: this.namespace }));
    return (list?.items ?? [])
      .filter((cm) => cm.metadata?.name?.endsWith('-ring') && cm.data?.[RING_DATA_KEY] !== undefined)
      .map((cm) => cm.metadata!.name!.slice(0, -'-ring'.length));
  }

  /** The runtime Leases of `gateway` (label `imring.dev/gateway=<gateway>`), live or not. */
  async leases(gateway: string): Promise<V1Lease[]> {
    const request = this.#leases.listNamespacedLease({
      namespace: this.namespace,
      labelSelector: `${Labels.gateway}=${gateway}`,
    });
    return (await this.#orMissing('leases', request))?.items ?? [];
  }

  async #orMissing<T>(what: string, request: Promise<T>): Promise<T | undefined> {
    try {
      return await request;
    } catch (error) {
      if (apiStatusCode(error) === 404) return undefined;
      throw new NotFoundError(`cannot read ${what} in namespace "${this.namespace}": ${apiErrorMessage(error)}`, {
        cause: error,
      });
    }
  }
}

/**
 * A {@link ClusterReader} for `--kubeconfig` and `--namespace` (see {@link kubeTarget}).
 * @throws {UsageError} when the kubeconfig cannot be read or the namespace is empty.
 */
export function connect(
  values: { kubeconfig?: string | undefined; namespace?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ClusterReader {
  const { kc, namespace } = kubeTarget(values, env);
  return new ClusterReader(kc, namespace);
}

/**
 * The client configuration and namespace of `--kubeconfig` and `--namespace`: the file given,
 * else as a runtime finds its cluster (kube/kube-config.ts); the namespace given, else the
 * current context's, else `default`.
 * @throws {UsageError} when the kubeconfig cannot be read or the namespace is empty.
 */
export function kubeTarget(
  values: { kubeconfig?: string | undefined; namespace?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): { kc: KubeConfig; namespace: string } {
  if (values.namespace === '') throw new UsageError('--namespace must not be empty');
  let kc: KubeConfig;
  try {
    kc = loadKubeConfig({ env: values.kubeconfig === undefined ? env : { ...env, KUBECONFIG: values.kubeconfig } });
  } catch (error) {
    throw new UsageError(`cannot load the kubeconfig: ${apiErrorMessage(error)}`, { cause: error });
  }
  const namespace = values.namespace ?? (kc.getContextObject(kc.getCurrentContext())?.namespace || 'default');
  return { kc, namespace };
}
