import { startPush } from '../runtime/push/push.js';
import type { CliIo } from './io.js';
import { COMMON_FLAGS, portOf } from './runtime-args.js';
import { commandHelp, runRuntimeCommand, type RuntimeCommand } from './runtime-command.js';

const command: RuntimeCommand = {
  component: 'push',
  usage: 'Usage: imring push --gateway NAME [options]',
  summary:
    'Delivers messages to users: one batched Deliver per owning gateway in the current ring of\nIMGateway NAME, the previous ring for users not there yet, a handoff retry for users being\nmigrated; the rest are offline (webhook or log). Per-user results are returned.',
  flags: [
    ...COMMON_FLAGS,
    {
      name: 'grpc-port',
      env: 'IMRING_PUSH_GRPC_PORT',
      default: '10090',
      port: true,
      help: 'gRPC port (imring.push.v1.Push)',
    },
    {
      name: 'http-port',
      env: 'IMRING_PUSH_HTTP_PORT',
      default: '10091',
      port: true,
      help: 'POST /v1/push (and /healthz, /readyz, /metrics)',
    },
    {
      name: 'ops-port',
      env: 'IMRING_PUSH_OPS_PORT',
      default: '10092',
      port: true,
      help: '/healthz, /readyz, /metrics apart from the API ports (probes and scraping, see config/ NetworkPolicies)',
    },
    {
      name: 'offline-webhook',
      env: 'IMRING_OFFLINE_WEBHOOK',
      help: 'URL that offline results are POSTed to (default: logged)',
    },
  ],
  async start({ values, watcher, logger, registry, parts }) {
    const service = await startPush({
      host: values.host!,
      ports: { grpc: portOf(values, 'grpc-port'), http: portOf(values, 'http-port'), ops: portOf(values, 'ops-port') },
      ringSource: watcher,
      ...(values['offline-webhook'] ? { offlineWebhookUrl: values['offline-webhook'] } : {}),
      logger,
      registry,
    });
    parts.push({ name: 'push', stop: () => service.close() });
    return { describe: { ports: service.ports } };
  },
};

export const pushHelp = commandHelp(command);

/** `imring push`: the push service. */
export function push(args: string[], io: CliIo): Promise<number> {
  return runRuntimeCommand(command, args, io);
}
