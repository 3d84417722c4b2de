import { startProxy } from '../runtime/proxy/proxy.js';
import type { CliIo } from './io.js';
import { COMMON_FLAGS, portOf } from './runtime-args.js';
import { commandHelp, runRuntimeCommand, type RuntimeCommand } from './runtime-command.js';

const command: RuntimeCommand = {
  component: 'proxy',
  usage: 'Usage: imring proxy --gateway NAME [options]',
  summary:
    'Accepts client websockets at /ws and pipes each upgrade, unchanged, to the gateway that\nowns the user in the current ring of IMGateway NAME. No ring: 503; owner unreachable: 502.',
  flags: [
    ...COMMON_FLAGS,
    { name: 'port', env: 'IMRING_PROXY_PORT', default: '10080', port: true, help: 'client port: /ws upgrades, /healthz, /readyz, /metrics' },
    { name: 'token-secret', env: 'IMRING_TOKEN_SECRET', help: 'HS256 key: check client tokens before dialling (optional)' },
  ],
  async start({ values, watcher, logger, registry, parts }) {
    const server = await startProxy({
      host: values.host!,
      port: portOf(values, 'port'),
      ringSource: watcher,
      ...(values['token-secret'] ? { tokenSecret: values['token-secret'] } : {}),
      logger,
      registry,
    });
    parts.push({ name: 'proxy', stop: () => server.close() });
    return { describe: { port: server.port } };
  },
};

export const proxyHelp = commandHelp(command);

/** `imring proxy`: routes client websockets to their owning gateway. */
export function proxy(args: string[], io: CliIo): Promise<number> {
  return runRuntimeCommand(command, args, io);
}
