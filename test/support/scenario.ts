/**
 * The end-to-end scenario's parts (issue 7), shared by test/scenario.test.ts and the chaos
 * suite: imring installed on a {@link LocalCluster} (operator, proxy, push and gateways as pod
 * processes), {@link DemoTraffic} through the proxy, waits on the IMGateway's convergence that
 * survive API faults, pod kills, and the final accounting of every (message, user) pair.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { DemoTraffic, type TrafficOptions } from '../../cli/demo/traffic.js';
import type { ClientSummary, LedgerTotals, PairTotals } from '../../cli/demo/ledger.js';
import type { MigrateMode } from '../../client/index.js';
import { IMRING_CLUSTER_OPTIONS, installImring, SAMPLE, type Endpoints } from '../../cli/local-system.js';
import { LocalCluster, type LocalClusterOptions } from '../../local/cluster.js';
import { IMGATEWAY, type IMGateway } from '../../operator/api.js';
import { parseRingDocument, RING_DATA_KEY, ringConfigMapName, type RingDocument } from '../../ring/index.js';
import { runKubectl } from './kubectl.js';
import { describeGateway, throwIfInvalid } from './gateway-state.js';
import { apiProbes, type ApiProbes } from './local-api.js';
import { isConverged } from './operator-system.js';
import { describePod } from './pod-state.js';
import { serialEvaluation, Unreachable, type Observe } from './wait.js';

/** imring on a local cluster, with what a test needs to reach it. */
export interface ScenarioSystem extends Omit<ApiProbes, 'options'> {
  readonly cluster: LocalCluster;
  /** Scratch directory (the cluster's state, kubectl's working dir); removed on close. */
  readonly dir: string;
  readonly endpoints: Endpoints;
  /** Stops every pod process, the cluster, and removes `dir`. Idempotent. */
  close(): Promise<void>;
}

/** Longest wait for a convergence, ms: a bound for a broken build, not a delay. */
export const CONVERGE_TIMEOUT_MS = 180_000;

/**
 * Starts a cluster, installs imring with the sample IMGateway at `replicas` (`runtimeArgs`: flags
 * of the proxy and push), and waits for its ring to converge.
 */
export async function startSystem(options: {
  replicas: number;
  prefix?: string;
  runtimeArgs?: readonly string[];
  /** Flags added to the operator's command line. */
  operatorArgs?: readonly string[];
  /** The node selector of the operator, proxy and push pods. */
  nodeSelector?: Readonly<Record<string, string>>;
  /** The kubelet's restart backoff (default its own, 1 s doubling to 30 s). */
  restartBackoff?: LocalClusterOptions['restartBackoff'];
  /** The cluster's metrics window and autoscaler periods (default theirs: 15 s, …). */
  autoscaling?: Pick<LocalClusterOptions, 'metricsResolutionMs' | 'autoscaler'>;
  /** Fields of the sample IMGateway's spec to set (e.g. `resources`). */
  sampleSpec?: Readonly<Record<string, unknown>>;
}): Promise<ScenarioSystem> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'imring-scenario-'));
  const probes = apiProbes();
  const cluster = new LocalCluster({
    ...IMRING_CLUSTER_OPTIONS,
    stateDir: join(dir, 'cluster'),
    apiServer: probes.options,
    ...(options.restartBackoff ? { restartBackoff: options.restartBackoff } : {}),
    ...options.autoscaling,
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await cluster.close();
      // IMRING_KEEP_TEST_DIR=1 keeps the cluster's state and pod logs for a post-mortem.
      if (process.env.IMRING_KEEP_TEST_DIR === '1') process.stderr.write(`kept ${dir}\n`);
      else await rm(dir, { recursive: true, force: true });
    })());
  try {
    await cluster.start();
    const endpoints = await installImring(cluster, {
      replicas: options.replicas,
      runtimeArgs: options.runtimeArgs,
      operatorArgs: options.operatorArgs,
      nodeSelector: options.nodeSelector,
      ...(options.sampleSpec ? { sampleSpec: options.sampleSpec } : {}),
    });
    await converged(cluster, options.replicas);
    return { cluster, dir, endpoints, faults: probes.faults, requestLog: probes.requestLog, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `kubectl scale imgw/demo --replicas=<replicas>`; asserts it succeeded. */
export async function scale(system: ScenarioSystem, replicas: number): Promise<void> {
  const scaled = await runKubectl(system.cluster.kubeconfigPath, system.dir, [
    'scale',
    `imgw/${SAMPLE.name}`,
    `--replicas=${replicas}`,
  ]);
  assert.equal(scaled.code, 0, scaled.stderr);
}

/** The sample IMGateway as the API server has it now. */
export async function sampleGateway(kc: KubeConfig): Promise<IMGateway> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  return (await custom.getNamespacedCustomObject({
    group: IMGATEWAY.group,
    version: IMGATEWAY.version,
    namespace: SAMPLE.namespace,
    plural: IMGATEWAY.plural,
    name: SAMPLE.name,
  })) as IMGateway;
}

export const GATEWAYS_PATH = `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/${SAMPLE.namespace}/${IMGATEWAY.plural}`;
export const CONFIGMAPS_PATH = `/api/v1/namespaces/${SAMPLE.namespace}/configmaps`;
export const PODS_PATH = `/api/v1/namespaces/${SAMPLE.namespace}/pods`;
export const LEASES_PATH = `/apis/coordination.k8s.io/v1/namespaces/${SAMPLE.namespace}/leases`;

/**
 * Resolves when the sample gateway's ring has converged at `replicas` Ready members (or, for a
 * predicate, at whatever `spec.replicas` it accepts, e.g. one an autoscaler chose); fails at
 * once when its spec is invalid.
 */
export function converged(
  cluster: LocalCluster,
  replicas: number | ((replicas: number) => boolean),
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<IMGateway> {
  const kc = cluster.kc;
  return until(
    kc,
    GATEWAYS_PATH,
    async (observe) => {
      const gateway = await sampleGateway(kc);
      observe(describeGateway(gateway));
      const at = typeof replicas === 'number' ? replicas : (gateway.spec?.replicas ?? 0);
      if ((typeof replicas === 'number' || replicas(at)) && isConverged(gateway, at)) return gateway;
      throwIfInvalid(gateway, `IMGateway ${SAMPLE.name}`);
      return undefined;
    },
    timeoutMs,
  );
}

/** The sample's ring document as the ConfigMap holds it now (undefined when missing or refused by the parser). */
export async function ringDocument(kc: KubeConfig): Promise<RingDocument | undefined> {
  const core = kc.makeApiClient(CoreV1Api);
  const configMap = await core.readNamespacedConfigMap({
    name: ringConfigMapName(SAMPLE.name),
    namespace: SAMPLE.namespace,
  });
  const parsed = parseRingDocument(configMap.data?.[RING_DATA_KEY] ?? '');
  return parsed.ok ? parsed.document : undefined;
}

/** Delay before a watch that ended or failed is opened again, or a failed check runs again, ms. */
const REWATCH_MS = 100;

/**
 * Like `watchUntil` (test/support/wait.ts), for an API server that fails requests and drops
 * watches: resolves with the first non-undefined result of `check`, evaluated now and after
 * every watch event on `path`; a watch that ends is opened again, and a check that fails
 * (e.g. an injected 500) runs again, unless it threw {@link Unreachable}: then it fails at
 * once. Rejects after `timeoutMs` with the last error and what `check` observed last.
 */
export function until<T>(
  kc: KubeConfig,
  path: string,
  check: (observe: Observe) => Promise<T | undefined>,
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let finished = false;
    let lastError: unknown;
    let lastSeen = 'nothing observed';
    const observe: Observe = (state) => (lastSeen = typeof state === 'string' ? state : JSON.stringify(state));
    let controller: AbortController | undefined;
    const timers = new Set<NodeJS.Timeout>();
    const later = (fn: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, REWATCH_MS);
      timers.add(timer);
    };
    const finish = (outcome: { value: T } | { error: Error }): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      for (const timer of timers) clearTimeout(timer);
      controller?.abort();
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error);
    };
    const evaluate = serialEvaluation(
      () => check(observe),
      (value) => finish({ value }),
      (error) => {
        if (error instanceof Unreachable) return finish({ error });
        lastError = error;
        if (!finished) later(() => void evaluate());
      },
    );
    const open = (): void => {
      if (finished) return;
      const ended = (): void => {
        if (!finished) later(open);
      };
      new Watch(kc)
        .watch(path, {}, () => void evaluate(), ended)
        .then((c) => {
          controller = c;
          if (finished) c.abort();
          void evaluate();
        }, ended);
    };
    const deadline = setTimeout(() => {
      const why = `until ${path}: not met within ${timeoutMs} ms; last seen: ${lastSeen}`;
      finish({ error: new Error(why, { cause: lastError }) });
    }, timeoutMs);
    open();
  });
}

/**
 * The names of the sample's `component` pods (its Deployment's, config/demo), sorted, not terminating, once
 * there are `count` of them.
 */
export function runtimePods(kc: KubeConfig, component: 'proxy' | 'push', count = 2): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  return until(kc, PODS_PATH, async (observe) => {
    const { items } = await core.listNamespacedPod({
      namespace: SAMPLE.namespace,
      labelSelector: `app.kubernetes.io/name=imring-${component}`,
    });
    const names = items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!);
    observe(`${component} pods: ${names.join(', ')}`);
    return names.length === count ? names.sort() : undefined;
  });
}

/** The pid of pod `name`'s running container (`local://<pid>`), once it runs one other than `not`. */
export function runningPid(
  kc: KubeConfig,
  name: string,
  not?: number,
  namespace: string = SAMPLE.namespace,
): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  return until(kc, `/api/v1/namespaces/${namespace}/pods`, async (observe) => {
    const pod: V1Pod = await core.readNamespacedPod({ name, namespace });
    const status = pod.status?.containerStatuses?.[0];
    observe(describePod(pod));
    const pid = Number(/^local:\/\/(\d+)$/.exec(status?.containerID ?? '')?.[1]);
    return status?.state?.running && pid > 0 && pid !== not ? pid : undefined;
  });
}

/**
 * SIGKILLs pod `name`'s container (its process group) once it runs a process other than `not`; returns the pid killed.
 */
export async function killPod(
  kc: KubeConfig,
  name: string,
  not?: number,
  namespace: string = SAMPLE.namespace,
): Promise<number> {
  const pid = await runningPid(kc, name, not, namespace);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    process.kill(pid, 'SIGKILL');
  }
  return pid;
}

/** Scenario traffic: `users` connected through the proxy, then pushing `messagesPerSecond`. */
export async function startTraffic(
  endpoints: Endpoints,
  options: Omit<TrafficOptions, keyof Endpoints>,
): Promise<DemoTraffic> {
  const traffic = new DemoTraffic({ ...endpoints, ...options });
  try {
    await traffic.connect();
  } catch (error) {
    await traffic.close();
    throw error;
  }
  traffic.start();
  return traffic;
}

/** What the users of one kind of migration that stayed connected (cohort `graceful` or `hard`) came to. */
export interface MigrationFigures {
  readonly users: number;
  readonly clients: number;
  /** Their (message, user) pairs. */
  readonly totals: PairTotals;
  /** Share of their pairs received in real time, %. */
  readonly realtimeShare: number;
  /** Each client's longest time without an open connection: p50, p99 and max over the clients, ms. */
  readonly gapMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** Their reconnects (close → open), and the 99th percentile of those windows, ms. */
  readonly reconnects: number;
  readonly p99ReconnectMs: number;
}

/** The final accounting of a traffic run. */
export interface Accounting {
  readonly messages: number;
  readonly pushErrors: number;
  /** Push calls sent again after their reused keep-alive connection was closed under them. */
  readonly pushRetries: number;
  readonly totals: LedgerTotals;
  /** Share of pairs received in real time, %. */
  readonly realtimeShare: number;
  /** 99th percentile of reconnect windows (close → open), ms; 0 without reconnects. */
  readonly p99ReconnectMs: number;
  /** Every client, with its cohort and longest time without a connection. */
  readonly clients: readonly ClientSummary[];
  /** The users that stayed connected, by how their clients move. */
  readonly byMigration: Readonly<Record<MigrateMode, MigrationFigures>>;
  /** One-line summaries for `t.diagnostic`. */
  readonly lines: readonly string[];
}

/** The `p` quantile (0 to 1) of `values` (nearest rank, 0 for none). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Stops pushing, waits for the receipts of realtime answers, and settles every pair. */
export async function account(traffic: DemoTraffic): Promise<Accounting> {
  await traffic.stop();
  await traffic.receipts();
  traffic.ledger.settle(Number.POSITIVE_INFINITY);
  const totals = traffic.ledger.totals;
  const p99ReconnectMs = percentile(totals.reconnectWindowsMs, 0.99);
  const realtimeShare = share(totals);
  const { messages, pushErrors, pushRetries } = traffic.counts;
  const clients = traffic.clients();
  const byMigration = {
    graceful: migrationFigures(traffic.ledger.cohorts.graceful, clients, 'graceful'),
    hard: migrationFigures(traffic.ledger.cohorts.hard, clients, 'hard'),
  };
  const { graceful, forced, closed } = totals.moves;
  const lines = [
    `${messages} messages, ${totals.pairs} (message, user) pairs: ${totals.received} received (${realtimeShare.toFixed(2)} % in real time), offline ${JSON.stringify(totals.offlineByReason)}, realtime via ${JSON.stringify(totals.realtimeByVia)}, deliveries by platform ${JSON.stringify(totals.deliveriesByPlatform)}`,
    `reconnects: ${totals.reconnectWindowsMs.length}, p99 window ${p99ReconnectMs} ms; duplicates ${totals.duplicates}; offline while reconnecting ${totals.offlineWhileReconnecting}; offline on a dead connection ${totals.offlineOnDeadConnection}; lost on a killed connection ${totals.lostOnKilledConnection}; push calls failed ${pushErrors} (retried on a new connection ${pushRetries})`,
    `moves: graceful ${graceful} (both connections open p50 ${Math.round(percentile(totals.moveOverlapsMs, 0.5))} ms, p99 ${Math.round(percentile(totals.moveOverlapsMs, 0.99))} ms), forced at the deadline ${forced}, plain clients closed (4001/4002) ${closed}; closes by code ${JSON.stringify(totals.closesByCode)}`,
    `graceful clients that stayed connected: ${migrationLine(byMigration.graceful)}`,
    `plain clients that stayed connected: ${migrationLine(byMigration.hard)}`,
  ];
  return { messages, pushErrors, pushRetries, totals, realtimeShare, p99ReconnectMs, clients, byMigration, lines };
}

function migrationFigures(
  totals: PairTotals,
  clients: readonly ClientSummary[],
  migrate: MigrateMode,
): MigrationFigures {
  const mine = clients.filter((c) => c.cohort === migrate);
  const gaps = mine.map((c) => c.longestGapMs);
  const windows = mine.flatMap((c) => c.windowsMs);
  return {
    users: new Set(mine.map((c) => c.user)).size,
    clients: mine.length,
    totals,
    realtimeShare: share(totals),
    gapMs: { p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99), max: Math.max(0, ...gaps) },
    reconnects: windows.length,
    p99ReconnectMs: percentile(windows, 0.99),
  };
}

function migrationLine(m: MigrationFigures): string {
  const t = m.totals;
  return `${m.users} users (${m.clients} clients), ${t.pairs} pairs, ${t.received} received in real time (${m.realtimeShare.toFixed(2)} %), offline ${t.offline} ${JSON.stringify(t.offlineByReason)} (${t.offlineWhileReconnecting} while reconnecting), misrouted ${t.misrouted}, lost ${t.lost}, duplicates ${t.duplicates}; longest time without a connection p50 ${m.gapMs.p50} ms, p99 ${m.gapMs.p99} ms, max ${m.gapMs.max} ms; reconnects ${m.reconnects}, p99 window ${m.p99ReconnectMs} ms`;
}

/** Share of `totals`' pairs received in real time, % (0 without pairs). */
function share(totals: PairTotals): number {
  return totals.pairs === 0 ? 0 : (100 * totals.received) / totals.pairs;
}

/**
 * The guarantee of every run: traffic flowed, and every pair was received or reported offline,
 * none misrouted. Frames in flight on a connection whose gateway or proxy process was killed
 * die with it (`lostOnKilledConnection`): allowed only where a test kills one.
 */
export function assertAccounted(
  traffic: DemoTraffic,
  accounting: Accounting,
  options: { minMessages: number; killsConnections?: boolean },
): void {
  const { totals } = accounting;
  assert.ok(accounting.messages >= options.minMessages, `traffic flowed: ${accounting.messages} messages`);
  assert.equal(totals.misrouted, 0, `misrouted: ${traffic.ledger.misrouteSamples.join(', ')}`);
  assert.equal(totals.lost, 0, `lost: neither received nor reported offline: ${traffic.ledger.lostSamples.join(', ')}`);
  if (options.killsConnections !== true) {
    assert.equal(
      totals.lostOnKilledConnection + totals.offlineOnDeadConnection,
      0,
      'no connection was killed, so none died under a message',
    );
  }
}
