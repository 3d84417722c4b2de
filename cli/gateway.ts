import { startOpsServer } from '../kube/ops-server.js';
import { DEFAULTS, startGateway } from '../runtime/gateway/gateway.js';
import { PodEnv } from '../ring/index.js';
import { durationFlag } from './duration.js';
import { UsageError, type CliIo } from './io.js';
import { COMMON_FLAGS, portOf } from './runtime-args.js';
import { commandHelp, runRuntimeCommand, type RuntimeCommand } from './runtime-command.js';

const command: RuntimeCommand = {
  component: 'gateway',
  usage: 'Usage: imring gateway --gateway NAME [options]',
  summary:
    'Holds client websockets and delivers messages to them (gRPC Deliver), serving the ring of\nIMGateway NAME from its ConfigMap; migrates connections it no longer owns when a ring\nis committed; reports on its Lease. SIGTERM: /readyz fails, new upgrades get 503, the Lease\nsays draining at once and the connections stay until a committed ring drops this gateway;\nits users then move (migrate frame, or 4002), and it exits with none left, or closes the\nrest with 4002 shortly before --termination-grace ends.',
  flags: [
    ...COMMON_FLAGS,
    { name: 'ws-port', env: PodEnv.wsPort, default: '10001', port: true, help: 'client websocket port (GET /ws)' },
    {
      name: 'grpc-port',
      env: PodEnv.grpcPort,
      default: '10002',
      port: true,
      help: 'gRPC port (imring.gateway.v1.Gateway)',
    },
    { name: 'http-port', env: PodEnv.httpPort, default: '10003', port: true, help: '/healthz, /readyz, /metrics' },
    {
      name: 'termination-grace',
      env: PodEnv.terminationGrace,
      default: `${DEFAULTS.terminationGraceMs / 1000}s`,
      help: "the pod's grace period from SIGTERM to SIGKILL; connections left are closed with 4002 shortly before",
    },
    {
      name: 'shutdown',
      env: 'IMRING_SHUTDOWN',
      default: 'leave-ring',
      help: 'on SIGTERM: leave-ring (keep serving until the ring moves the users) or close (4002 at once)',
    },
    {
      name: 'token-secret',
      env: PodEnv.tokenSecret,
      help: 'HS256 key of client tokens (required; prefer the env var)',
    },
  ],
  check(values) {
    if (!values['token-secret']) throw new UsageError(`--token-secret (or ${PodEnv.tokenSecret}) is required`);
    durationFlag('termination-grace', values['termination-grace'] ?? '');
    if (values.shutdown !== 'leave-ring' && values.shutdown !== 'close')
      throw new UsageError(`--shutdown must be leave-ring or close, got ${values.shutdown}`);
  },
  async start({ values, pod, watcher, logger, registry, parts, lease }) {
    const host = values.host!;
    const gw = await startGateway({
      host,
      ports: { ws: portOf(values, 'ws-port'), grpc: portOf(values, 'grpc-port') },
      self: pod,
      ringSource: watcher,
      tokenSecret: values['token-secret']!,
      terminationGraceMs: durationFlag('termination-grace', values['termination-grace']!),
      shutdown: values.shutdown as 'leave-ring' | 'close',
      // The moment the operator waits for (a ring converged): on the Lease within the write throttle, not at renewal.
      onSettled: () => lease.update(),
      logger,
      registry,
    });
    parts.push({ name: 'gateway', stop: () => gw.close() });
    const ops = await startOpsServer({
      host,
      port: portOf(values, 'http-port'),
      ready: () => gw.ready() && watcher.current() !== undefined,
      registry,
      logger,
    });
    parts.push({ name: 'ops-server', stop: () => ops.close() });
    let draining = false;
    // Stopped first: the Lease says draining at once, so the operator takes this member out of the
    // ring, and it keeps reporting the connections until they are gone.
    const drain = async (): Promise<void> => {
      draining = true;
      const drained = gw.drain();
      await lease.flush();
      await drained;
    };
    return {
      stats: () => ({ ...gw.stats(), draining }),
      afterLease: { name: 'drain', stop: drain },
      describe: { ports: gw.ports },
    };
  },
};

export const gatewayHelp = commandHelp(command);

/** `imring gateway`: one gateway pod. */
export function gateway(args: string[], io: CliIo): Promise<number> {
  return runRuntimeCommand(command, args, io);
}
