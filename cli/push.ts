import { RingWatcher } from '../runtime/ring-watcher.js';
import { LeaseReporter } from '../runtime/lease-reporter.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { loadKubeConfig, podIdentity } from '../runtime/kube-config.js';
import { startPush } from '../runtime/push/push.js';
import { write, type CliIo } from './io.js';
import { COMMON_FLAGS, parseRuntimeArgs, portOf, runtimeHelp, type RuntimeFlag } from './runtime-args.js';
import { runUntilSignal } from './runtime-lifecycle.js';

const FLAGS: readonly RuntimeFlag[] = [
  ...COMMON_FLAGS,
  { name: 'grpc-port', env: 'IMRING_PUSH_GRPC_PORT', default: '10090', port: true, help: 'gRPC port (imring.push.v1.Push)' },
  { name: 'http-port', env: 'IMRING_PUSH_HTTP_PORT', default: '10091', port: true, help: 'POST /v1/push, /healthz, /readyz, /metrics' },
  { name: 'offline-webhook', env: 'IMRING_OFFLINE_WEBHOOK', help: 'URL that offline results are POSTed to (default: logged)' },
];

export const pushHelp = runtimeHelp(
  'Usage: imring push --gateway NAME [options]',
  'Delivers messages to users: one batched Deliver per owning gateway in the current ring of\nIMGateway NAME, the previous ring for users not there yet, a handoff retry for users being\nmigrated; the rest are offline (webhook or log). Per-user results are returned.',
  FLAGS,
);

/** `imring push`: the push service. */
export async function push(args: string[], io: CliIo): Promise<number> {
  const values = parseRuntimeArgs(args, FLAGS);
  if (values.help) {
    await write(io.stdout, pushHelp);
    return 0;
  }
  const identity = podIdentity();
  const namespace = values.namespace ?? identity.namespace;
  const pod = values.pod ?? identity.pod;
  const logger = createLogger({ component: 'push' });
  const registry = createRegistry('push');
  const kc = loadKubeConfig();
  return runUntilSignal(logger, async (parts) => {
    const watcher = new RingWatcher({ kc, namespace, gateway: values.gateway!, logger, registry });
    parts.push({ name: 'ring-watcher', stop: () => watcher.close() });
    await watcher.start();
    const service = await startPush({
      host: values.host!,
      ports: { grpc: portOf(values, 'grpc-port'), http: portOf(values, 'http-port') },
      ringSource: watcher,
      ...(values['offline-webhook'] ? { offlineWebhookUrl: values['offline-webhook'] } : {}),
      logger,
      registry,
    });
    parts.push({ name: 'push', stop: () => service.close() });
    const lease = new LeaseReporter({ kc, namespace, gateway: values.gateway!, component: 'push', pod, ringSource: watcher, logger });
    parts.push({ name: 'lease', stop: () => lease.close() });
    await lease.start();
    logger.info({ ports: service.ports, ring: watcher.current()?.version ?? null }, 'push ready');
  });
}
