import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Controller } from '../operator/controller.js';
import { LeaderElector } from '../operator/leader-election.js';
import { createOperatorMetrics } from '../operator/metrics.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../operator/names.js';
import { loadKubeConfig } from '../runtime/kube-config.js';
import { createLogger } from '../runtime/logger.js';
import { startOpsServer } from '../runtime/ops-server.js';
import { UsageError, type CliIo } from './io.js';
import { runUntilSignal } from './runtime-lifecycle.js';

export const operatorHelp = `Usage: imring operator [options]

Watches IMGateway resources, manages their gateway StatefulSets, and is the single writer of
each ring ConfigMap, moving membership changes through the transition protocol. With leader
election (default on), one of several replicas leads and the others stand by.

Options:
  --kubeconfig PATH          kubeconfig file (env KUBECONFIG; default: in-cluster, then ~/.kube/config)
  --namespace NS             watch only this namespace (env IMRING_WATCH_NAMESPACE; default: all)
  --cluster-domain DOMAIN    cluster DNS domain of member addresses (default ${DEFAULT_CLUSTER_DOMAIN})
  --host ADDRESS             address of the metrics server (env POD_IP; default 0.0.0.0)
  --metrics-port PORT        /metrics, /healthz, /readyz (default 8080)
  --leader-elect true|false  elect a leader over a Lease (default true)
  --leader-election-namespace NS   namespace of the Lease (env POD_NAMESPACE; default default)
  --leader-election-id NAME  name of the Lease (default imring-operator)
  --identity NAME            this replica's name in the Lease (env POD_NAME; default host name-pid)
  -h, --help                 show this help
`;

interface OperatorFlags {
  readonly namespace: string | undefined;
  readonly clusterDomain: string;
  readonly host: string;
  readonly metricsPort: number;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  readonly identity: string;
}

/** Reads flags, then environment, then defaults. @throws {UsageError} on bad flags. */
export function parseOperatorArgs(args: string[], env: NodeJS.ProcessEnv = process.env): OperatorFlags | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'cluster-domain': { type: 'string' },
        host: { type: 'string' },
        'metrics-port': { type: 'string' },
        'leader-elect': { type: 'string' },
        'leader-election-namespace': { type: 'string' },
        'leader-election-id': { type: 'string' },
        identity: { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (values.help) return 'help';
  const text = (name: string): string | undefined => (typeof values[name] === 'string' && values[name] !== '' ? (values[name] as string) : undefined);
  if (text('kubeconfig')) env.KUBECONFIG = text('kubeconfig');
  const port = Number(text('metrics-port') ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--metrics-port must be a port from 0 to 65535, got "${text('metrics-port')}"`);
  const elect = text('leader-elect') ?? 'true';
  if (elect !== 'true' && elect !== 'false') throw new UsageError(`--leader-elect must be true or false, got "${elect}"`);
  const clusterDomain = text('cluster-domain') ?? DEFAULT_CLUSTER_DOMAIN;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(clusterDomain)) throw new UsageError(`--cluster-domain must be a DNS name, got "${clusterDomain}"`);
  return {
    namespace: text('namespace') ?? (env.IMRING_WATCH_NAMESPACE || undefined),
    clusterDomain,
    host: text('host') ?? (env.POD_IP || '0.0.0.0'),
    metricsPort: port,
    leaderElect: elect === 'true',
    leaseNamespace: text('leader-election-namespace') ?? (env.POD_NAMESPACE || 'default'),
    leaseName: text('leader-election-id') ?? 'imring-operator',
    identity: text('identity') ?? (env.POD_NAME || `${hostname()}-${process.pid}`),
  };
}

/** `imring operator`: runs the controller (as the elected leader) until SIGTERM. */
export async function operator(args: string[], io: CliIo): Promise<number> {
  const flags = parseOperatorArgs(args);
  if (flags === 'help') {
    io.stdout.write(operatorHelp);
    return 0;
  }
  const logger = createLogger({ component: 'operator' });
  const metrics = createOperatorMetrics();
  const kc = loadKubeConfig();
  let controller: Controller | undefined;
  return runUntilSignal(logger, async (parts, stop) => {
    const ops = await startOpsServer({ host: flags.host, port: flags.metricsPort, ready: () => controller !== undefined, registry: metrics.registry, logger });
    parts.push({ name: 'ops-server', stop: () => ops.close() });
    logger.info({ port: ops.port, namespace: flags.namespace ?? '(all)', identity: flags.identity }, 'operator started');
    if (flags.leaderElect) {
      const elector = new LeaderElector({ kc, namespace: flags.leaseNamespace, name: flags.leaseName, identity: flags.identity, logger });
      parts.push({ name: 'leader-election', stop: () => elector.close() });
      elector.on('stopped', () => {
        metrics.leader.set(0);
        // client-go's way: a replica that lost its Lease exits rather than race the new leader.
        logger.error('leadership lost; exiting');
        stop('leadership lost', 1);
      });
      elector.start();
      await elector.whenLeader();
      logger.info({ lease: `${flags.leaseNamespace}/${flags.leaseName}` }, 'elected leader');
    }
    metrics.leader.set(1);
    const started = new Controller({ kc, ...(flags.namespace ? { namespace: flags.namespace } : {}), clusterDomain: flags.clusterDomain, logger, metrics });
    parts.push({ name: 'controller', stop: () => started.close() });
    await started.start();
    controller = started;
    logger.info('controller running');
  });
}
