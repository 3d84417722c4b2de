/** Proxy and push pods a test runs itself, outside `config/` (operator tests with their own gateways). */
import type { V1Pod } from '@kubernetes/client-node';
import { RUNTIME_SERVICE_ACCOUNT } from './imring-rbac.js';

const IMAGE = 'ghcr.io/imring/imring:0.1.0';

const downward = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** A proxy or push pod serving IMGateway `init.gateway`. */
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
  const port = component === 'proxy' ? 10081 : 10092;
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
