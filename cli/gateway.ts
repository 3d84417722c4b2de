import { RingWatcher } from '../runtime/ring-watcher.js';
import { LeaseReporter } from '../runtime/lease-reporter.js';
import { startOpsServer } from '../runtime/ops-server.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { loadKubeConfig, podIdentity } from '../runtime/kube-config.js';
import { startGateway } from '../runtime/gateway/gateway.js';
import { UsageError, write, type CliIo } from './io.js';
import { COMMON_FLAGS, parseRuntimeArgs, portOf, runtimeHelp, type RuntimeFlag } from './runtime-args.js';
import { runUntilSignal } from './runtime-lifecycle.js';

const FLAGS: readonly RuntimeFlag[] = [
  ...COMMON_FLAGS,
  { name: 'ws-port', env: 'IMRING_WS_PORT', default: '10001', port: true, help: 'client websocket port (GET /ws)' },
  { name: 'grpc-port', env: 'IMRING_GRPC_PORT', default: '10002', port: true, help: 'gRPC port (imring.gateway.v1.Gateway)' },
  { name: 'http-port', env: 'IMRING_HTTP_PORT', default: '10003', port: true, help: '/healthz, /readyz, /metrics' },
  { name: 'token-secret', env: 'IMRING_TOKEN_SECRET', help: 'HS256 key of client tokens (required; prefer the env var)' },
];

export const gatewayHelp = runtimeHelp(
  'Usage: imring gateway --gateway NAME [options]',
  'Holds client websockets and delivers messages to them (gRPC Deliver), serving the ring of\nIMGateway NAME from its ConfigMap; migrates connections it no longer owns when a ring\nis committed; reports on its Lease. SIGTERM: /readyz fails, connections close with 4002.',
  FLAGS,
);

/** `imring gateway`: one gateway pod. */
export async function gateway(args: string[], io: CliIo): Promise<number> {
  const values = parseRuntimeArgs(args, FLAGS);
  if (values.help) {
    await write(io.stdout, gatewayHelp);
    return 0;
  }
  if (!values['token-secret']) throw new UsageError('--token-secret (or IMRING_TOKEN_SECRET) is required');
  const identity = podIdentity();
  const namespace = values.namespace ?? identity.namespace;
  const pod = values.pod ?? identity.pod;
  const logger = createLogger({ component: 'gateway' });
  const registry = createRegistry('gateway');
  const kc = loadKubeConfig();
  return runUntilSignal(logger, async (parts) => {
    const watcher = new RingWatcher({ kc, namespace, gateway: values.gateway!, logger, registry });
    parts.push({ name: 'ring-watcher', stop: () => watcher.close() });
    await watcher.start();
    const gw = await startGateway({
      host: values.host!,
      ports: { ws: portOf(values, 'ws-port'), grpc: portOf(values, 'grpc-port') },
      self: pod,
      ringSource: watcher,
      tokenSecret: values['token-secret']!,
      logger,
      registry,
    });
    parts.push({ name: 'gateway', stop: () => gw.close() });
    const ops = await startOpsServer({ host: values.host!, port: portOf(values, 'http-port'), ready: () => gw.ready() && watcher.current() !== undefined, registry, logger });
    parts.push({ name: 'ops-server', stop: () => ops.close() });
    const lease = new LeaseReporter({ kc, namespace, gateway: values.gateway!, component: 'gateway', pod, ringSource: watcher, stats: () => gw.stats(), logger });
    parts.push({ name: 'lease', stop: () => lease.close() });
    await lease.start();
    // Stopped first: readiness fails and clients move away while the Lease still reports them.
    parts.push({ name: 'drain', stop: () => gw.drain() });
    logger.info({ ports: gw.ports, ring: watcher.current()?.version ?? null }, 'gateway ready');
  });
}
