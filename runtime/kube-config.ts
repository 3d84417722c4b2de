import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';

/** Where a runtime reads its cluster credentials from (the process environment by default). */
export interface KubeConfigSource {
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The client-node configuration of a runtime: the `KUBECONFIG` file(s) when set (pods of the
 * local control plane get one), else the in-cluster service account when
 * `KUBERNETES_SERVICE_HOST` is set, else client-node's default (`~/.kube/config`).
 * @throws when the chosen configuration cannot be read.
 */
export function loadKubeConfig(source: KubeConfigSource = {}): KubeConfig {
  const env = source.env ?? process.env;
  const kc = new KubeConfig();
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
