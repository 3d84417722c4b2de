/**
 * What the chaos suite (test/chaos.test.ts) drives and records beside the scenario's parts:
 * operator kills at seeded points of a transition, the API server's fault pacing, a record of
 * every ring document and of the ring errors runtimes report on their Leases.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Watch,
  type CoreV1Event,
  type KubeConfig,
  type V1ConfigMap,
  type V1Lease,
} from '@kubernetes/client-node';
import { OPERATOR, SAMPLE } from '../../cli/local-system.js';
import type { Faults } from '../../local/index.js';
import {
  Annotations,
  Labels,
  parseRingDocument,
  RING_DATA_KEY,
  ringConfigMapName,
  type RingDocument,
} from '../../ring/index.js';
import { CONFIGMAPS_PATH, killPod, ringDocument, until } from './scenario.js';

/**
 * The operator pod that leads: the one its leader Lease names (config/operator.yaml: two replicas, the
 * identity is the pod's name).
 */
export async function operatorLeader(kc: KubeConfig): Promise<string> {
  const leases = kc.makeApiClient(CoordinationV1Api);
  return until(kc, `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR.namespace}/leases`, async (observe) => {
    const lease = await leases.readNamespacedLease({ name: OPERATOR.name, namespace: OPERATOR.namespace });
    const holder = lease.spec?.holderIdentity ?? '';
    observe(`operator Lease held by "${holder}"`);
    return holder === '' ? undefined : holder;
  });
}

/** Flags that make a SIGKILLed leader's Lease free in 2 s instead of 15 s (a standby then takes it). */
export const FAST_LEADER_ELECTION = [
  '--leader-elect-lease-duration',
  '2s',
  '--leader-elect-renew-deadline',
  '1500ms',
  '--leader-elect-retry-period',
  '250ms',
];

/** Points of a transition where the operator may be killed, in the order a scale passes them. */
export type KillPoint = 'scaled' | 'statefulset' | 'prepared' | 'committed';

const SCALE_UP_POINTS: readonly KillPoint[] = ['scaled', 'statefulset', 'prepared', 'committed'];
/** Scaling down shrinks the StatefulSet only once the smaller ring is Committed and drained. */
const SCALE_DOWN_POINTS: readonly KillPoint[] = ['scaled', 'prepared', 'committed', 'statefulset'];

/** Longest random delay after a kill point is seen, ms: the kill lands somewhere in the step that follows. */
const KILL_JITTER_MS = 300;

/** `count` distinct kill points of a scale `from` → `to`, drawn with `random`, in the order the scale passes them. */
export function drawKillPoints(random: () => number, from: number, to: number, count: number): KillPoint[] {
  const order = to > from ? SCALE_UP_POINTS : SCALE_DOWN_POINTS;
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, order.length)) chosen.add(Math.floor(random() * order.length));
  return [...chosen].sort((a, b) => a - b).map((i) => order[i]!);
}

/** One SIGKILL of the operator. */
export interface Kill {
  readonly point: KillPoint;
  readonly jitterMs: number;
  readonly pid: number;
}

/**
 * SIGKILLs the leading operator at each of `points` of the scale to `replicas` (that started from
 * ring version `fromVersion`): when the point is seen, after a seeded jitter, the process of the pod
 * the leader Lease names (a new process each time: the standby took over, or the pod runner
 * restarted the killed one, which renews the Lease under its pod's name) is killed.
 */
export async function killOperatorAt(
  kc: KubeConfig,
  init: { points: readonly KillPoint[]; replicas: number; fromVersion: number; random: () => number; lastPid?: number },
): Promise<Kill[]> {
  const kills: Kill[] = [];
  let lastPid = init.lastPid;
  for (const point of init.points) {
    await reached(kc, point, init);
    const jitterMs = Math.round(init.random() * KILL_JITTER_MS);
    // Chaos pacing, not a wait for an event: the kill lands at a random moment after the point.
    await new Promise((resolve) => setTimeout(resolve, jitterMs));
    lastPid = await killPod(kc, await operatorLeader(kc), lastPid, OPERATOR.namespace);
    kills.push({ point, jitterMs, pid: lastPid });
  }
  return kills;
}

async function reached(
  kc: KubeConfig,
  point: KillPoint,
  init: { replicas: number; fromVersion: number },
): Promise<void> {
  if (point === 'scaled') return;
  if (point === 'statefulset') {
    const apps = kc.makeApiClient(AppsV1Api);
    const path = `/apis/apps/v1/namespaces/${SAMPLE.namespace}/statefulsets`;
    await until(kc, path, async (observe) => {
      const set = await apps.readNamespacedStatefulSet({ name: SAMPLE.name, namespace: SAMPLE.namespace });
      const replicas = set.spec?.replicas;
      observe(`StatefulSet replicas ${replicas}`);
      return replicas === init.replicas ? true : undefined;
    });
    return;
  }
  await until(kc, CONFIGMAPS_PATH, async (observe) => {
    const document = await ringDocument(kc);
    observe(document === undefined ? 'no valid ring document' : `ring v${document.version} ${document.state}`);
    if (document === undefined || document.version <= init.fromVersion) return undefined;
    return point === 'prepared' || document.state === 'Committed' || document.version > init.fromVersion + 1
      ? true
      : undefined;
  });
}

/**
 * Faults of issue 8 in force through `faults` until stopped: a share of requests failing,
 * latency, watches dropped and history expired every `periodMs`.
 */
export function startApiFaults(faults: Faults, options: { periodMs: number }): { stop(): void; rounds(): number } {
  faults.set({ failureRate: 0.1, failureCodes: [500, 429], latencyMs: [50, 200] });
  let rounds = 0;
  // Load, not a wait: the API server drops every watch every few seconds, and every other
  // time also forgets its history, so resuming watches get 410 Gone and relist.
  const timer = setInterval(() => {
    rounds++;
    if (rounds % 2 === 0) faults.expireHistory();
    faults.dropWatches();
  }, options.periodMs);
  return {
    stop: () => {
      clearInterval(timer);
      faults.clear();
    },
    rounds: () => rounds,
  };
}

/** Every ring document the ConfigMap held while recording (parsed; refused texts are skipped). */
export class RingTimeline {
  readonly documents: RingDocument[] = [];
  #controller: AbortController | undefined;

  static async start(kc: KubeConfig): Promise<RingTimeline> {
    const timeline = new RingTimeline();
    timeline.#controller = await new Watch(kc).watch(
      CONFIGMAPS_PATH,
      {},
      (_type: string, object: V1ConfigMap) => {
        if (object.metadata?.name !== ringConfigMapName(SAMPLE.name)) return;
        const parsed = parseRingDocument(object.data?.[RING_DATA_KEY] ?? '');
        const last = timeline.documents.at(-1);
        if (parsed.ok && (last?.version !== parsed.document.version || last.state !== parsed.document.state))
          timeline.documents.push(parsed.document);
      },
      () => undefined,
    );
    return timeline;
  }

  /** `v3 Committed [demo-0, demo-1]`, … */
  describe(): string[] {
    return this.documents.map((d) => `v${d.version} ${d.state} [${d.members.map((m) => m.name).join(', ')}]`);
  }

  stop(): void {
    this.#controller?.abort();
  }
}

/** What each runtime Lease of the sample reported while recording: ring errors and the ring versions served. */
export class LeaseReports {
  /** Lease name → ring-error annotations seen. */
  readonly errors = new Map<string, string[]>();
  /** Lease name → ring versions served, in order (changes only). */
  readonly versions = new Map<string, number[]>();
  readonly #waiters = new Set<() => void>();
  #controller: AbortController | undefined;

  static async start(kc: KubeConfig): Promise<LeaseReports> {
    const reports = new LeaseReports();
    const path = `/apis/coordination.k8s.io/v1/namespaces/${SAMPLE.namespace}/leases`;
    reports.#controller = await new Watch(kc).watch(
      path,
      { labelSelector: `${Labels.gateway}=${SAMPLE.name}` },
      (type: string, lease: V1Lease) => reports.#record(type, lease),
      () => undefined,
    );
    return reports;
  }

  /**
   * Resolves once every Lease in `names` reported an error that includes `code` (after `timeoutMs`, rejects naming the
   * silent ones).
   */
  reported(names: readonly string[], code: string, timeoutMs = 30_000): Promise<void> {
    const missing = (): string[] => names.filter((n) => !(this.errors.get(n) ?? []).some((e) => e.includes(code)));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (missing().length > 0) return;
        finish();
        resolve();
      };
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `no ${code} reported on ${missing().join(', ')}: ${JSON.stringify(Object.fromEntries(this.errors))}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }

  stop(): void {
    this.#controller?.abort();
  }

  #record(type: string, lease: V1Lease): void {
    const name = lease.metadata?.name;
    if (name === undefined || type === 'DELETED') return;
    const annotations = lease.metadata?.annotations ?? {};
    const error = annotations[Annotations.ringError];
    if (error !== undefined) this.errors.set(name, [...(this.errors.get(name) ?? []), error]);
    const version = Number(annotations[Annotations.ringVersion]);
    const served = this.versions.get(name) ?? [];
    if (Number.isInteger(version) && served.at(-1) !== version) this.versions.set(name, [...served, version]);
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/**
 * Names of the sample's live runtime Leases now (renewed within their duration): a Lease whose
 * gateway was removed while the API server failed its delete lapses, but stays.
 */
export async function runtimeLeases(kc: KubeConfig): Promise<string[]> {
  const api = kc.makeApiClient(CoordinationV1Api);
  const list = await api.listNamespacedLease({
    namespace: SAMPLE.namespace,
    labelSelector: `${Labels.gateway}=${SAMPLE.name}`,
  });
  const isLive = (l: V1Lease): boolean =>
    new Date(l.spec?.renewTime ?? 0).getTime() + (l.spec?.leaseDurationSeconds ?? 0) * 1000 > Date.now();
  return list.items
    .filter(isLive)
    .map((l) => l.metadata?.name ?? '')
    .filter((n) => n !== '');
}

/** How many `reason` Events the sample IMGateway has. */
export async function eventCount(kc: KubeConfig, reason: string): Promise<number> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({
    namespace: SAMPLE.namespace,
    fieldSelector: `involvedObject.name=${SAMPLE.name}`,
  });
  return list.items.filter((e: CoreV1Event) => e.reason === reason).length;
}
