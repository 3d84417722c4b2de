import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';

/** What a pod's containers get to reach the API server as its ServiceAccount. */
export type PodCredentials = { readonly env: Record<string, string> } | { readonly error: string };

/** Options of {@link ServiceAccountCredentials}. */
export interface ServiceAccountCredentialsOptions {
  /** Where the per-pod kubeconfig files go (`<dir>/<namespace>/<pod>-<uid>/kubeconfig`). */
  readonly dir: string;
  /** A token for a ServiceAccount, undefined when it does not exist (the API server's). */
  readonly tokenFor: (namespace: string, name: string) => string | undefined;
  /** A kubeconfig (YAML) with `token`, defaulting to `namespace`. */
  readonly kubeconfig: (token: string, namespace: string) => string;
}

/**
 * Each pod's ServiceAccount credentials, as a cluster mounts a projected token: a kubeconfig
 * file of its own holding its account's token, which the pod gets as `KUBECONFIG`. A pod whose
 * account does not exist gets the error a cluster reports, and is not started.
 */
export class ServiceAccountCredentials {
  readonly #options: ServiceAccountCredentialsOptions;

  constructor(options: ServiceAccountCredentialsOptions) {
    this.#options = options;
  }

  /** Writes the pod's kubeconfig (mode 0600) and returns its environment, or why it cannot run. */
  async forPod(pod: V1Pod): Promise<PodCredentials> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const account = pod.spec?.serviceAccountName || 'default';
    const token = this.#options.tokenFor(namespace, account);
    if (token === undefined) return { error: `serviceaccount "${account}" not found` };
    const dir = this.#podDir(pod);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'kubeconfig');
    await writeFile(path, this.#options.kubeconfig(token, namespace), { mode: 0o600 });
    return { env: { KUBECONFIG: path } };
  }

  /** Removes the pod's credentials once it is gone. */
  async forget(pod: V1Pod): Promise<void> {
    await rm(this.#podDir(pod), { recursive: true, force: true });
  }

  #podDir(pod: V1Pod): string {
    const { namespace = 'default', name = '', uid = '' } = pod.metadata ?? {};
    return join(this.#options.dir, namespace, `${name}-${uid.slice(0, 8)}`);
  }
}
