/**
 * The environment variables of a gateway pod: the operator sets them on the container
 * (operator/desired.ts), and `imring gateway` reads them as its flags' values (cli/). Proxy and
 * push pods read the IMRING_GATEWAY and downward-API ones too.
 */
export const PodEnv = {
  /** The IMGateway whose ring the runtime serves. */
  gateway: 'IMRING_GATEWAY',
  /** Downward API `metadata.name`: the Lease holder, and for a gateway its member name. */
  podName: 'POD_NAME',
  /** Downward API `metadata.namespace`: of the IMGateway, its ring ConfigMap and the Leases. */
  podNamespace: 'POD_NAMESPACE',
  /** Downward API `status.podIP`: the address the runtime binds. */
  podIP: 'POD_IP',
  /** The gateway's client websocket port (`spec.ports.ws`). */
  wsPort: 'IMRING_WS_PORT',
  /** The gateway's gRPC port (`spec.ports.grpc`). */
  grpcPort: 'IMRING_GRPC_PORT',
  /** The gateway's health, readiness and metrics port (`spec.ports.http`). */
  httpPort: 'IMRING_HTTP_PORT',
  /** The HS256 key of client tokens, from the Secret `spec.auth.secretName`. */
  tokenSecret: 'IMRING_TOKEN_SECRET',
  /**
   * The pod's grace period (its `terminationGracePeriodSeconds`) as a duration such as `30s`: a
   * draining gateway closes what it still holds shortly before it ends.
   */
  terminationGrace: 'IMRING_TERMINATION_GRACE',
  /** The pino level of the runtime's log (`spec.logLevel`). */
  logLevel: 'LOG_LEVEL',
} as const;
