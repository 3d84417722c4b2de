import { startProxy } from '../runtime/proxy/proxy.js';
import { durationFlag } from './duration.js';
import { UsageError, type CliIo } from './io.js';
import type { AcceptLimit } from '../runtime/accept-gate.js';
import { startOpsServer } from '../kube/ops-server.js';
import { COMMON_FLAGS, portOf, type RuntimeValues } from './runtime-args.js';
import { commandHelp, runRuntimeCommand, type RuntimeCommand } from './runtime-command.js';

const command: RuntimeCommand = {
  component: 'proxy',
  usage: 'Usage: imring proxy --gateway NAME [options]',
  summary:
    'Accepts client websockets at /ws and pipes each upgrade, unchanged, to the gateway that\nowns the user in the current ring of IMGateway NAME. No ring: 503; owner unreachable: 502.',
  flags: [
    ...COMMON_FLAGS,
    { name: 'port', env: 'IMRING_PROXY_PORT', default: '10080', port: true, help: 'client port: /ws upgrades' },
    {
      name: 'http-port',
      env: 'IMRING_PROXY_HTTP_PORT',
      default: '10081',
      port: true,
      help: '/healthz, /readyz, /metrics apart from client traffic (probes: a flood never sheds them)',
    },
    {
      name: 'max-accepts-per-second',
      env: 'IMRING_PROXY_MAX_ACCEPTS_PER_SECOND',
      default: '1000',
      help: 'new client connections taken per second (and at once); beyond, closed before a byte is read; 0: no limit',
    },
    {
      name: 'handover-deadline',
      env: 'IMRING_PROXY_HANDOVER_DEADLINE',
      default: '10s',
      help: 'on SIGTERM, how long a graceful client has to move to another replica before its connection is closed',
    },
    {
      name: 'token-secret',
      env: 'IMRING_TOKEN_SECRET',
      help: 'HS256 key: check client tokens before dialling (optional)',
    },
  ],
  check(values) {
    acceptLimitOf(values);
  },
  async start({ values, watcher, logger, registry, parts }) {
    const acceptLimit = acceptLimitOf(values);
    const server = await startProxy({
      host: values.host!,
      port: portOf(values, 'port'),
      ringSource: watcher,
      ...(acceptLimit ? { acceptLimit } : {}),
      ...(values['token-secret'] ? { tokenSecret: values['token-secret'] } : {}),
      handoverDeadlineMs: durationFlag('handover-deadline', values['handover-deadline'] ?? '', { allowZero: true }),
      logger,
      registry,
    });
    // A planned stop hands every client over to the other replicas first (make-before-break for graceful clients).
    parts.push({
      name: 'proxy',
      stop: async () => {
        await server.handOver();
        await server.close();
      },
    });
    const ops = await startOpsServer({
      host: values.host!,
      port: portOf(values, 'http-port'),
      ready: () => server.ready(),
      registry,
      logger,
    });
    parts.push({ name: 'ops-server', stop: () => ops.close() });
    return { describe: { port: server.port, httpPort: ops.port, acceptLimit: acceptLimit ?? null } };
  },
};

/** `--max-accepts-per-second` as a limit (burst: one second's worth), or undefined for 0. */
function acceptLimitOf(values: RuntimeValues): AcceptLimit | undefined {
  const text = values['max-accepts-per-second'] ?? '0';
  const rate = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(rate))
    throw new UsageError(`--max-accepts-per-second must be a whole number (0: no limit), got "${text}"`);
  return rate === 0 ? undefined : { ratePerSecond: rate, burst: rate };
}

export const proxyHelp = commandHelp(command);

/** `imring proxy`: routes client websockets to their owning gateway. */
export function proxy(args: string[], io: CliIo): Promise<number> {
  return runRuntimeCommand(command, args, io);
}
