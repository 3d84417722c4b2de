import { stringify } from 'yaml';

/** Where a kubeconfig points and how it authenticates. */
export interface KubeconfigInit {
  /** `https://127.0.0.1:<port>` */
  server: string;
  token: string;
  /** The server's certificate (or its CA), PEM. */
  caCertificate: string;
  /** Context, cluster and user name. Default `local`. */
  name?: string;
  /** The context's default namespace. Default `default`. */
  namespace?: string;
}

/** A kubeconfig for the local API server: its CA, and a bearer token for the user. */
export function kubeconfigYaml(init: KubeconfigInit): string {
  const name = init.name ?? 'local';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: init.server,
          'certificate-authority-data': Buffer.from(init.caCertificate).toString('base64'),
        },
      },
    ],
    users: [{ name, user: { token: init.token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: init.namespace ?? 'default' } }],
    'current-context': name,
    preferences: {},
  });
}
