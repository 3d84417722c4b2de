import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Controller } from '../operator/controller.js';
import {
  checkLeaderElectionPeriods,
  LEADER_ELECTOR_DEFAULTS,
  LeaderElector,
  type LeaderElectionPeriods,
} from '../kube/leader-election.js';
import { createOperatorMetrics } from '../operator/metrics.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../operator/names.js';
import type { RolloutMode } from '../operator/rollout.js';
import { loadKubeConfig } from '../kube/kube-config.js';
import { createLogger } from '../kube/logger.js';
import { startOpsServer } from '../kube/ops-server.js';
import { durationFlag } from './duration.js';
import { UsageError, type CliIo } from './io.js';
import { runUntilSignal } from './runtime-lifecycle.js';

const ELECT = LEADER_ELECTOR_DEFAULTS;

export const operatorHelp = `Usage: imring operator [options]

Watches IMGateway resources, manages their gateway StatefulSets, and is the single writer of
each ring ConfigMap, moving membership changes through the transition protocol. With leader
election (default on), one of several replicas leads and the others stand by.

Options:
  --kubeconfig PATH          kubeconfig file (env KUBECONFIG; default: in-cluster, then ~/.kube/config)
  --namespace NS             watch only this namespace (env IMRING_WATCH_NAMESPACE; default: all)
  --cluster-domain DOMAIN    cluster DNS domain of member addresses (default ${DEFAULT_CLUSTER_DOMAIN})
  --rollout ring|statefulset who replaces gateway pods: ring (default), the operator, one member
                             out of the ring at a time; statefulset, the StatefulSet controller
                             (RollingUpdate, membership by readiness), for comparison only
  --host ADDRESS             address of the metrics server (env POD_IP; default 0.0.0.0)
  --metrics-port PORT        /metrics, /healthz, /readyz (default 8080)
  --leader-elect true|false  elect a leader over a Lease (default true)
  --leader-election-namespace NS   namespace of the Lease (env POD_NAMESPACE; default default)
  --leader-election-id NAME  name of the Lease (default imring-operator)
  --leader-elect-lease-duration DURATION
                             a standby takes the Lease once it has not changed for this long;
                             whole seconds (default ${ELECT.leaseDurationSeconds}s)
  --leader-elect-renew-deadline DURATION
                             a leader that could not renew for this long stops leading
                             (default ${ELECT.renewDeadlineSeconds}s)
  --leader-elect-retry-period DURATION
                             between attempts to take or renew the Lease (default ${ELECT.retryPeriodSeconds}s)
  --identity NAME            this replica's name in the Lease (env POD_NAME; default host name-pid)
  -h, --help                 show this help

A DURATION is written as kube-controller-manager's: 15s, 1.5s, 500ms, 1m30s.
`;

interface OperatorFlags {
  readonly namespace: string | undefined;
  readonly clusterDomain: string;
  readonly rollout: RolloutMode;
  readonly host: string;
  readonly metricsPort: number;
  readonly leaderElect: boolean;
  readonly leaseNamespace: string;
  readonly leaseName: string;
  /** The elector's periods, seconds. */
  readonly leaderElection: LeaderElectionPeriods;
  readonly identity: string;
}

/** Reads flags, then environment, then defaults. @throws {UsageError} on bad flags. */
export function parseOperatorArgs(args: string[], env: NodeJS.ProcessEnv = process.env): OperatorFlags | 'help' {
  const values = readOperatorFlags(args);
  if (values.help) return 'help';
  const text = (name: string): string | undefined => nonEmpty(values[name]);
  const kubeconfig = text('kubeconfig');
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  return {
    namespace: text('namespace') ?? nonEmpty(env.IMRING_WATCH_NAMESPACE),
    clusterDomain: checked(
      text('cluster-domain') ?? DEFAULT_CLUSTER_DOMAIN,
      (v) => DNS_NAME.test(v),
      '--cluster-domain must be a DNS name',
    ),
    rollout: rolloutOf(text('rollout')),
    host: text('host') ?? nonEmpty(env.POD_IP) ?? '0.0.0.0',
    metricsPort: Number(
      checked(text('metrics-port') ?? '8080', isPort, '--metrics-port must be a port from 0 to 65535'),
    ),
    leaderElect:
      checked(
        text('leader-elect') ?? 'true',
        (v) => v === 'true' || v === 'false',
        '--leader-elect must be true or false',
      ) === 'true',
    leaseNamespace: text('leader-election-namespace') ?? nonEmpty(env.POD_NAMESPACE) ?? 'default',
    leaseName: text('leader-election-id') ?? 'imring-operator',
    leaderElection: leaderElectionPeriodsOf(text),
    identity: text('identity') ?? nonEmpty(env.POD_NAME) ?? `${hostname()}-${process.pid}`,
  };
}

function readOperatorFlags(args: string[]): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({
      args,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'cluster-domain': { type: 'string' },
        rollout: { type: 'string' },
        host: { type: 'string' },
        'metrics-port': { type: 'string' },
        'leader-elect': { type: 'string' },
        'leader-election-namespace': { type: 'string' },
        'leader-election-id': { type: 'string' },
        ...Object.fromEntries(Object.values(LEADER_ELECTION_FLAGS).map((flag) => [flag, { type: 'string' } as const])),
        identity: { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/** The flag of each leader election period (kube-controller-manager's names). */
const LEADER_ELECTION_FLAGS = {
  leaseDurationSeconds: 'leader-elect-lease-duration',
  renewDeadlineSeconds: 'leader-elect-renew-deadline',
  retryPeriodSeconds: 'leader-elect-retry-period',
} as const satisfies Record<keyof LeaderElectionPeriods, string>;

/** The elector's periods from their flags, else the elector's defaults. @throws {UsageError} naming the flag. */
function leaderElectionPeriodsOf(text: (name: string) => string | undefined): LeaderElectionPeriods {
  const seconds = (key: keyof LeaderElectionPeriods): number => {
    const flag = LEADER_ELECTION_FLAGS[key];
    const given = text(flag);
    if (given === undefined) return LEADER_ELECTOR_DEFAULTS[key];
    return durationFlag(flag, given, { wholeSeconds: key === 'leaseDurationSeconds' }) / 1000;
  };
  const periods = {
    leaseDurationSeconds: seconds('leaseDurationSeconds'),
    renewDeadlineSeconds: seconds('renewDeadlineSeconds'),
    retryPeriodSeconds: seconds('retryPeriodSeconds'),
  };
  try {
    checkLeaderElectionPeriods(periods, (key) => `--${LEADER_ELECTION_FLAGS[key]}`);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  return periods;
}

function nonEmpty(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isPort(value: string): boolean {
  const port = Number(value);
  return /^\d+$/.test(value) && port >= 0 && port <= 65535;
}

/** `value` when `valid`, else a UsageError `<message>, got "<value>"`. */
function rolloutOf(value: string | undefined): RolloutMode {
  const mode = value ?? 'ring';
  if (mode === 'ring' || mode === 'statefulset') return mode;
  throw new UsageError(`--rollout must be ring or statefulset, got "${mode}"`);
}

function checked(value: string, valid: (v: string) => boolean, message: string): string {
  if (!valid(value)) throw new UsageError(`${message}, got "${value}"`);
  return value;
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
  const kc = loadKubeConfig({ userAgent: 'imring-operator' });
  // Ready once standing by or leading with synced caches: a standby must not stall a rollout.
  let ready = false;
  return runUntilSignal(logger, async (parts, stop) => {
    const ops = await startOpsServer({
      host: flags.host,
      port: flags.metricsPort,
      ready: () => ready,
      registry: metrics.registry,
      logger,
    });
    parts.push({ name: 'ops-server', stop: () => ops.close() });
    logger.info(
      { port: ops.port, namespace: flags.namespace ?? '(all)', identity: flags.identity },
      'operator started',
    );
    if (flags.leaderElect) {
      const lease = { namespace: flags.leaseNamespace, name: flags.leaseName };
      const elector = new LeaderElector({ kc, ...lease, identity: flags.identity, ...flags.leaderElection, logger });
      let closing = false;
      parts.push({
        name: 'leader-election',
        stop: () => {
          closing = true;
          return elector.close();
        },
      });
      elector.on('stopped', () => {
        metrics.leader.set(0);
        // Closing on SIGTERM stops leading too: that is a clean exit (the Lease is released), not a loss.
        if (closing) return;
        // client-go's way: a replica that lost its Lease exits rather than race the new leader.
        logger.error('leadership lost; exiting');
        stop('leadership lost', 1);
      });
      elector.start();
      ready = true;
      await elector.whenLeader();
      ready = false;
      logger.info({ lease: `${flags.leaseNamespace}/${flags.leaseName}` }, 'elected leader');
    }
    metrics.leader.set(1);
    const started = new Controller({
      kc,
      ...(flags.namespace ? { namespace: flags.namespace } : {}),
      clusterDomain: flags.clusterDomain,
      rollout: flags.rollout,
      logger,
      metrics,
    });
    parts.push({ name: 'controller', stop: () => started.close() });
    await started.start();
    ready = true;
    logger.info('controller running');
  });
}
