import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { RuntimeComponent } from '../ring/index.js';
import { loadKubeConfig, podIdentity } from '../kube/kube-config.js';
import { LeaseReporter, type GatewayStats } from '../runtime/lease-reporter.js';
import { createLogger } from '../kube/logger.js';
import { createRegistry } from '../kube/metrics.js';
import { RingFence } from '../runtime/ring-fence.js';
import type { RingSource } from '../runtime/ring-source.js';
import { RingWatcher } from '../runtime/ring-watcher.js';
import { durationFlag } from './duration.js';
import { write, type CliIo } from './io.js';
import { parseRuntimeArgs, runtimeHelp, type RuntimeFlag, type RuntimeValues } from './runtime-args.js';
import { leaseFlags, leaseTimingOf } from './runtime-lease.js';
import { runUntilSignal, type Stoppable } from './runtime-lifecycle.js';

/** What a runtime command's component gets to start with. */
export interface RuntimeContext {
  readonly values: RuntimeValues;
  readonly namespace: string;
  readonly pod: string;
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly registry: Registry;
  /**
   * The ring to serve: the ring watcher, behind a {@link RingFence} for the routing runtimes
   * (proxy, push), which must not route with a ring once their Lease may have lapsed.
   */
  readonly watcher: RingSource;
  /** Registers something to stop on shutdown (stopped in reverse order). */
  readonly parts: Stoppable[];
  /** This pod's Lease (written once the component runs): `flush()` writes a change at once. */
  readonly lease: Pick<LeaseReporter, 'flush' | 'update'>;
}

/** A runtime command: its flags, its help, and how to start its component. */
export interface RuntimeCommand {
  readonly component: RuntimeComponent;
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly RuntimeFlag[];
  /** Refuses bad flag combinations (UsageError) before anything starts. */
  check?(values: RuntimeValues): void;
  /** Starts the component; returns what the Lease reports (gateways: connection stats). */
  start(context: RuntimeContext): Promise<{
    stats?: () => GatewayStats;
    afterLease?: Stoppable;
    describe: Record<string, unknown>;
  }>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What a gateway's Lease reports before the gateway runs. */
const NO_CONNECTIONS: GatewayStats = { connections: 0, misplaced: 0 };

/** The --help text of a runtime command. */
export function commandHelp(command: RuntimeCommand): string {
  return runtimeHelp(command.usage, command.summary, flagsOf(command));
}

/** Whether `component` routes by the ring (proxy, push): it must not once its Lease may have lapsed. */
function isFenced(component: RuntimeComponent): boolean {
  return component !== 'gateway';
}

/**
 * The proxy's and push's stop on SIGTERM: they keep serving this long first, as a preStop sleep
 * would, while their Service stops sending them new connections (a cluster's endpoint changes take
 * a moment to reach every node), so a client's next connection lands on another replica.
 */
const SHUTDOWN_DELAY_FLAG: RuntimeFlag = {
  name: 'shutdown-delay',
  env: 'IMRING_SHUTDOWN_DELAY',
  default: '2s',
  help: 'on SIGTERM, keep serving this long before closing (the Service moves new connections away meanwhile)',
};

/** The command's own flags, then those of the Lease (and fence) that every runtime command runs. */
function flagsOf(command: RuntimeCommand): RuntimeFlag[] {
  const fenced = isFenced(command.component);
  return [...command.flags, ...(fenced ? [SHUTDOWN_DELAY_FLAG] : []), ...leaseFlags({ fenced })];
}

/**
 * Runs a runtime command: flags and env, logger and metrics, the ring watcher, the component,
 * the Lease, until SIGINT/SIGTERM; then stops them in reverse (`afterLease` first).
 */
export async function runRuntimeCommand(command: RuntimeCommand, args: string[], io: CliIo): Promise<number> {
  const values = parseRuntimeArgs(args, flagsOf(command));
  if (values.help) {
    await write(io.stdout, commandHelp(command));
    return 0;
  }
  command.check?.(values);
  const timing = leaseTimingOf(values, { fenced: isFenced(command.component) });
  const shutdownDelayMs = isFenced(command.component)
    ? durationFlag('shutdown-delay', values['shutdown-delay'] ?? '', { allowZero: true })
    : 0;
  const identity = podIdentity();
  const namespace = values.namespace ?? identity.namespace;
  const pod = values.pod ?? identity.pod;
  const gateway = values.gateway!;
  const logger = createLogger({ component: command.component });
  const registry = createRegistry(command.component);
  const kc = loadKubeConfig({ userAgent: `imring-${command.component}` });
  return runUntilSignal(logger, async (parts) => {
    const watcher = new RingWatcher({ kc, namespace, gateway, logger, registry });
    parts.push({ name: 'ring-watcher', stop: () => watcher.close() });
    await watcher.start();
    // The Lease is written once the component runs; the fence needs the reporter before that.
    const component: { stats?: () => GatewayStats } = {};
    const lease = new LeaseReporter({
      kc,
      namespace,
      gateway,
      component: command.component,
      pod,
      ringSource: watcher,
      ...timing.lease,
      logger,
      ...(command.component === 'gateway' ? { stats: () => component.stats?.() ?? NO_CONNECTIONS } : {}),
    });
    const fenceOptions = { kc, namespace, gateway, source: watcher, lease, logger, registry };
    const fence = timing.fence && new RingFence({ ...fenceOptions, ...timing.fence });
    const started = await command.start({
      values,
      namespace,
      pod,
      kc,
      logger,
      registry,
      watcher: fence ?? watcher,
      parts,
      lease,
    });
    if (started.stats) component.stats = started.stats;
    parts.push({ name: 'lease', stop: () => lease.close() });
    if (fence) parts.push({ name: 'ring-fence', stop: () => fence.close() });
    fence?.start();
    await lease.start();
    if (started.afterLease) parts.push(started.afterLease);
    if (shutdownDelayMs > 0) parts.push({ name: 'shutdown-delay', stop: () => sleep(shutdownDelayMs) });
    logger.info({ ...started.describe, ring: watcher.current()?.version ?? null }, `${command.component} ready`);
  });
}
