import { RingWatcher } from '../runtime/ring-watcher.js';
import { LeaseReporter } from '../runtime/lease-reporter.js';
import { createLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { loadKubeConfig, podIdentity } from '../runtime/kube-config.js';
import { startProxy } from '../runtime/proxy/proxy.js';
import { write, type CliIo } from './io.js';
import { COMMON_FLAGS, parseRuntimeArgs, portOf, runtimeHelp, type RuntimeFlag } from './runtime-args.js';
import { runUntilSignal } from './runtime-lifecycle.js';

const FLAGS: readonly RuntimeFlag[] = [
  ...COMMON_FLAGS,
  { name: 'port', env: 'IMRING_PROXY_PORT', default: '10080', port: true, help: 'client port: /ws upgrades, /healthz, /readyz, /metrics' },
  { name: 'token-secret', env: 'IMRING_TOKEN_SECRET', help: 'HS256 key: check client tokens before dialling (optional)' },
];

export const proxyHelp = runtimeHelp(
  'Usage: imring proxy --gateway NAME [options]',
  'Accepts client websockets at /ws and pipes each upgrade, unchanged, to the gateway that\nowns the user in the current ring of IMGateway NAME. No ring: 503; owner unreachable: 502.',
  FLAGS,
);

/** `imring proxy`: routes client websockets to their owning gateway. */
export async function proxy(args: string[], io: CliIo): Promise<number> {
  const values = parseRuntimeArgs(args, FLAGS);
  if (values.help) {
    await write(io.stdout, proxyHelp);
    return 0;
  }
  const identity = podIdentity();
  const namespace = values.namespace ?? identity.namespace;
  const pod = values.pod ?? identity.pod;
  const logger = createLogger({ component: 'proxy' });
  const registry = createRegistry('proxy');
  const kc = loadKubeConfig();
  return runUntilSignal(logger, async (parts) => {
    const watcher = new RingWatcher({ kc, namespace, gateway: values.gateway!, logger, registry });
    parts.push({ name: 'ring-watcher', stop: () => watcher.close() });
    await watcher.start();
    const server = await startProxy({
      host: values.host!,
      port: portOf(values, 'port'),
      ringSource: watcher,
      ...(values['token-secret'] ? { tokenSecret: values['token-secret'] } : {}),
      logger,
      registry,
    });
    parts.push({ name: 'proxy', stop: () => server.close() });
    const lease = new LeaseReporter({ kc, namespace, gateway: values.gateway!, component: 'proxy', pod, ringSource: watcher, logger });
    parts.push({ name: 'lease', stop: () => lease.close() });
    await lease.start();
    logger.info({ port: server.port, ring: watcher.current()?.version ?? null }, 'proxy ready');
  });
}
