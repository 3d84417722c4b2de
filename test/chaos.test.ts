/**
 * Faults (issue 8), each with the scenario's traffic running (users connected through the
 * proxy, messages pushed over HTTP, every (message, user) pair accounted for by the ledger):
 * the operator SIGKILLed during transitions, API server faults during a scale, a gateway
 * SIGKILLed, proxy and push restarted during a transition, the ring ConfigMap corrupted by hand.
 * Each ends with the ring converged and 0 lost, 0 misrouted.
 *
 * One cluster serves the whole suite (tests run in order; each starts from the previous one's
 * converged ring) and each test has its own traffic and accounting. Randomness is seeded
 * (`CHAOS_SEED`, default below, printed in the diagnostics). `CHAOS_HEAVY=1` (`npm run
 * test:chaos`) runs longer randomized scale sequences, more kills and more traffic.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';
import type { DemoTraffic } from '../cli/demo/traffic.js';
import { CLIENT_DEFAULTS } from '../client/index.js';
import { OPERATOR, SAMPLE } from '../cli/local-system.js';
import { IMGATEWAY } from '../operator/api.js';
import {
  Annotations,
  buildRingDocument,
  RING_DATA_KEY,
  ringConfigMapName,
  runtimeLeaseName,
  serializeRingDocument,
  type RingDocument,
} from '../ring/index.js';
import {
  drawKillPoints,
  eventCount,
  killOperatorAt,
  LeaseReports,
  FAST_LEADER_ELECTION,
  operatorLeader,
  RingTimeline,
  runtimeLeases,
  startApiFaults,
  type Kill,
} from './support/chaos.js';
import { runKubectl } from './support/kubectl.js';
import { seededRandom } from './support/random.js';
import {
  account,
  assertAccounted,
  LEASES_PATH,
  type Accounting,
  CONFIGMAPS_PATH,
  converged,
  killPod,
  PODS_PATH,
  ringDocument,
  runningPid,
  runtimePods,
  scale,
  startSystem,
  startTraffic,
  until,
  type ScenarioSystem,
} from './support/scenario.js';

const HEAVY = process.env.CHAOS_HEAVY === '1';
const SEED = Number(process.env.CHAOS_SEED ?? 0xc4a05);
const LOAD = HEAVY ? { users: 1000, messagesPerSecond: 300 } : { users: 300, messagesPerSecond: 150 };
const START_REPLICAS = 2;
/**
 * Longest wait for every user to be connected again once the ring converged, ms: a client
 * that kept failing (its proxy down, restarted by the kubelet with a growing back-off) waits
 * up to the SDK's longest back-off (±20 %) before its next attempt. A bound, not a delay.
 */
const RECONNECT_BOUND_MS = CLIENT_DEFAULTS.reconnect.maxMs * (1 + CLIENT_DEFAULTS.reconnect.jitter) + 10_000;
/** Messages a test must at least have pushed: about a second of traffic. */
const MIN_MESSAGES = 100;

/** Lease 6 s, renewed every 2 s, fenced 2 s before it could lapse (default 15 s / 5 s / 3 s). */
const RUNTIME_LEASE_FLAGS = ['--lease-duration', '6s', '--lease-renew-period', '2s', '--lease-fence-margin', '2s'];

describe(
  `chaos (seed ${SEED}${HEAVY ? ', heavy' : ''}): faults with traffic running, the ring converges, 0 lost, 0 misrouted`,
  { timeout: HEAVY ? 1_800_000 : 600_000 },
  () => {
    let system: ScenarioSystem;
    let replicas = START_REPLICAS;
    let traffic: DemoTraffic | undefined;

    before(async () => {
      // Short Lease periods for proxy and push (the flags a user has): push cut off lapses in seconds.
      // A 100 ms restart backoff (doubling to 2 s) instead of 1 s: the operator killed four times restarts in
      // under 2 s in all rather than 15 s.
      system = await startSystem({
        replicas,
        prefix: 'imring-chaos-',
        runtimeArgs: RUNTIME_LEASE_FLAGS,
        // A SIGKILLed leader's Lease frees in 2 s (not 15 s): the standby replica takes over, or the restarted pod.
        operatorArgs: FAST_LEADER_ELECTION,
        restartBackoff: { baseMs: 100, maxMs: 2000 },
      });
    });
    after(async () => {
      await traffic?.close();
      await system?.close();
    });

    /** Runs `body` with fresh traffic; then the ring must converge at `replicas`, and every pair be accounted for. */
    async function withTraffic(
      t: TestContext,
      run: { seed: number; killsConnections?: boolean },
      body: () => Promise<void>,
    ): Promise<Accounting> {
      traffic = await startTraffic(system.endpoints, { ...LOAD, seed: run.seed });
      try {
        await body();
        await converged(system.cluster, replicas);
        const reconnected = await traffic.allConnected(RECONNECT_BOUND_MS);
        const accounting = await account(traffic);
        t.diagnostic(`seed ${SEED}; ${accounting.lines.join('; ')}`);
        assertAccounted(traffic, accounting, {
          minMessages: MIN_MESSAGES,
          killsConnections: run.killsConnections === true,
        });
        assert.ok(reconnected, `every user is connected again: ${traffic.counts.connected} of ${LOAD.users}`);
        return accounting;
      } finally {
        await traffic.close();
        traffic = undefined;
      }
    }

    test('the operator SIGKILLed at seeded points of transitions (at least 3 times): a new operator continues each transition where it stopped', async (t) => {
      const random = seededRandom(SEED ^ 0x01);
      const sequence = HEAVY ? Array.from({ length: 6 }, () => 1 + Math.floor(random() * 6)) : [4, 3];
      const kills: string[] = [];
      let lastPid: number | undefined;
      await withTraffic(t, { seed: SEED ^ 0x11 }, async () => {
        for (const target of sequence) {
          if (target === replicas) continue;
          const fromVersion = (await ringDocument(system.cluster.kc))?.version ?? 0;
          const points = drawKillPoints(random, replicas, target, HEAVY ? 3 : 2);
          await scale(system, target);
          const done: Kill[] = await killOperatorAt(system.cluster.kc, {
            points,
            replicas: target,
            fromVersion,
            random,
            ...(lastPid === undefined ? {} : { lastPid }),
          });
          lastPid = done.at(-1)?.pid ?? lastPid;
          kills.push(...done.map((k) => `${replicas} → ${target} at ${k.point} + ${k.jitterMs} ms`));
          replicas = target;
          await converged(system.cluster, replicas);
        }
      });
      t.diagnostic(`operator kills (${kills.length}): ${kills.join('; ')}`);
      assert.ok(kills.length >= 3, `killed ${kills.length} times`);
      const pid = await runningPid(
        system.cluster.kc,
        await operatorLeader(system.cluster.kc),
        undefined,
        OPERATOR.namespace,
      );
      assert.notEqual(pid, lastPid, 'a new operator leads');
    });

    test('API server faults during a scale (10 % of requests 500/429, 50–200 ms latency, watches dropped every 2 s and history expired every 4 s): the scale converges under faults and the informers recover', async (t) => {
      const { requestLog } = system;
      const targets = HEAVY ? [replicas + 2, replicas - 1] : [replicas + 1];
      let faults: ReturnType<typeof startApiFaults> | undefined;
      const logged = requestLog.length;
      await withTraffic(t, { seed: SEED ^ 0x12 }, async () => {
        faults = startApiFaults(system.faults, { periodMs: 2000 });
        try {
          for (const target of targets) {
            await scaleThroughFaults(system, target);
            // Under faults: the new ring is written, acknowledged by every runtime, Committed, and
            // the moved users migrate; the operator's status reports it converged.
            const gateway = await converged(system.cluster, target);
            replicas = target;
            t.diagnostic(
              `→ ${target}: ring v${gateway.status?.ring?.version} converged under faults, ${faults.rounds()} watch drops so far (every other one with history expired)`,
            );
          }
        } finally {
          faults.stop();
        }
      });
      const during = requestLog.slice(-Math.max(0, requestLog.length - logged));
      const byStatus = (code: number): number => during.filter((r) => r.status === code).length;
      t.diagnostic(
        `requests answered 500: ${byStatus(500)}, 429: ${byStatus(429)}, lists (relists included): ${during.filter((r) => r.verb === 'list').length}`,
      );
      assert.ok(
        faults !== undefined && faults.rounds() >= 2,
        'watches were dropped, and history expired, at least once',
      );
      assert.ok(byStatus(500) > 0 && byStatus(429) > 0, 'requests failed with 500 and 429');
    });

    test('a gateway SIGKILLed: its users reconnect (elsewhere while it is out of the ring, or to it when it is back), and it rejoins the ring through the protocol', async (t) => {
      const kc = system.cluster.kc;
      const random = seededRandom(SEED ^ 0x03);
      // A short grace, so that the killed gateway leaves the ring before the pod runner restarts it.
      await patchGateway(system, { unreadyGraceSeconds: 1 });
      await converged(system.cluster, replicas);
      const timeline = await RingTimeline.start(kc);
      const outcomes: string[] = [];
      try {
        await withTraffic(t, { seed: SEED ^ 0x13, killsConnections: true }, async () => {
          for (let kill = 0; kill < (HEAVY ? 3 : 1); kill++) {
            const victim = `${SAMPLE.name}-${Math.floor(random() * replicas)}`;
            const from = timeline.documents.length;
            const pid = await killPod(kc, victim);
            await runningPid(kc, victim, pid);
            await podReady(kc, victim);
            await converged(system.cluster, replicas);
            outcomes.push(rejoined(timeline.documents.slice(from), victim));
          }
        });
      } finally {
        timeline.stop();
      }
      t.diagnostic(`${outcomes.join('; ')}; rings: ${timeline.describe().join(' → ')}`);
      await patchGateway(system, { unreadyGraceSeconds: 10 });
      await converged(system.cluster, replicas);
    });

    test('proxy and push SIGKILLed during a transition: both restart, acknowledge the ring and the scale completes', async (t) => {
      const kc = system.cluster.kc;
      const timeoutsBefore = await eventCount(kc, 'BarrierTimeout');
      await withTraffic(t, { seed: SEED ^ 0x14, killsConnections: true }, async () => {
        for (let transition = 0; transition < (HEAVY ? 3 : 1); transition++) {
          const target = replicas + (transition % 2 === 0 ? 1 : -1);
          const fromVersion = (await ringDocument(kc))?.version ?? 0;
          await scale(system, target);
          await until(kc, CONFIGMAPS_PATH, async () =>
            ((await ringDocument(kc))?.version ?? 0) > fromVersion ? true : undefined,
          );
          // One of the two proxy and push replicas each. A push call in flight on the killed push is reported
          // offline with reason push_unreachable (accounted for, not lost); the clients of the killed proxy are
          // cut off and reconnect through the proxy Service to the other replica; their messages meanwhile are
          // offline (not_connected).
          const victims = [(await runtimePods(kc, 'proxy'))[0]!, (await runtimePods(kc, 'push'))[0]!];
          const killed = await Promise.all(victims.map((pod) => killPod(kc, pod)));
          // Restarted by the kubelet (after its crash back-off, which grows with each kill), and ready.
          await Promise.all(
            victims.map(async (pod, i) => {
              await runningPid(kc, pod, killed[i]);
              await podReady(kc, pod);
            }),
          );
          replicas = target;
          const gateway = await converged(system.cluster, replicas);
          t.diagnostic(
            `→ ${target}: ring v${gateway.status?.ring?.version} acknowledged by ${JSON.stringify(gateway.status?.ring?.acknowledged)}`,
          );
        }
      });
      // The restarted proxy and push (same pods, same Leases) and their other replicas acknowledged the new ring:
      // the barrier never had to give up on them.
      assert.equal(await eventCount(kc, 'BarrierTimeout'), timeoutsBefore, 'no barrier timed out');
    });

    test('push cut off from the API server during a scale: its Lease lapses, it fences itself (calls refused with 503) rather than route with a stale ring, the scale completes without it, and it returns once reconnected', async (t) => {
      const kc = system.cluster.kc;
      const { faults } = system;
      const pushPods = await runtimePods(kc, 'push');
      const leaseNames = pushPods.map((pod) => runtimeLeaseName(SAMPLE.name, 'push', pod));
      const target = replicas + 1;
      let version = 0;
      const accounting = await withTraffic(t, { seed: SEED ^ 0x16 }, async () => {
        // Every request push makes fails, and its open watches end: it sees no ring change and cannot renew its Lease.
        faults.set({ failureRate: 1, matching: (r) => r.userAgent.startsWith('imring-push') });
        faults.dropWatches();
        try {
          await scale(system, target);
          replicas = target;
          // Without a live Lease from push, the barrier goes on without it; push, fenced, fails its readiness.
          const gateway = await converged(system.cluster, replicas);
          version = gateway.status?.ring?.version ?? 0;
          for (const pod of pushPods) await podReady(kc, pod, false);
          t.diagnostic(`→ ${target}: ring v${version} converged while push was cut off and fenced`);
        } finally {
          faults.clear();
        }
        // Reconnected: push serves the new ring, renews its Lease and is ready again.
        for (const pod of pushPods) await podReady(kc, pod);
        for (const leaseName of leaseNames) {
          await until(kc, LEASES_PATH, async () =>
            Number((await readLease(kc, leaseName))?.metadata?.annotations?.[Annotations.ringVersion]) >= version
              ? true
              : undefined,
          );
        }
      });
      // The fence is what refused them: push answered 503 `fenced` (reported push_unreachable by the sender), never a
      // stale route.
      assert.ok((accounting.totals.offlineByReason.push_unreachable ?? 0) > 0, 'push refused calls while fenced');
    });

    test('the ring ConfigMap edited into invalid JSON, a wrong checksum, a lower version: every runtime keeps its ring and reports the error, the operator restores the document', async (t) => {
      const kc = system.cluster.kc;
      const good = await ringDocument(kc);
      assert.ok(good !== undefined && good.version > 1, 'a good ring with a history');
      const text = serializeRingDocument(good);
      const corruptions: [string, string, string][] = [
        ['invalid JSON', text.slice(0, Math.floor(text.length / 2)), 'IMRING_RING_INVALID_JSON'],
        [
          'wrong checksum',
          text.replace(good.checksum, flipLastHexDigit(good.checksum)),
          'IMRING_RING_CHECKSUM_MISMATCH',
        ],
        ['lower version', serializeRingDocument(lowerVersion(good)), 'IMRING_RING_STALE_VERSION'],
      ];
      const leases = await runtimeLeases(kc);
      const reports = await LeaseReports.start(kc);
      try {
        await withTraffic(t, { seed: SEED ^ 0x15 }, async () => {
          for (const [what, bad, code] of corruptions) {
            const restoredBefore = await eventCount(kc, 'RingRestored');
            await writeRingText(system, bad);
            await reports.reported(leases, code);
            await until(kc, CONFIGMAPS_PATH, async () => {
              const now = await ringDocument(kc);
              return now?.version === good.version && now.checksum === good.checksum ? true : undefined;
            });
            await until(kc, `/api/v1/namespaces/${SAMPLE.namespace}/events`, async () =>
              (await eventCount(kc, 'RingRestored')) > restoredBefore ? true : undefined,
            );
            t.diagnostic(`${what}: ${code} reported on ${leases.length} Leases; restored v${good.version}`);
          }
        });
      } finally {
        reports.stop();
      }
      for (const [lease, versions] of reports.versions)
        assert.ok(
          versions.every((v) => v >= good.version),
          `${lease} served only good rings: ${versions.join(', ')}`,
        );
    });
  },
);

/** `kubectl scale` while the API server fails requests: a failed call is made again (at most 5 times). */
async function scaleThroughFaults(system: ScenarioSystem, replicas: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const scaled = await runKubectl(system.cluster.kubeconfigPath, system.dir, [
      'scale',
      `imgw/${SAMPLE.name}`,
      `--replicas=${replicas}`,
    ]);
    if (scaled.code === 0) return;
    assert.ok(attempt < 5, scaled.stderr);
  }
}

/** Resolves once pod `name` is Ready (or, with `ready` false, not Ready). */
function podReady(kc: KubeConfig, name: string, ready = true): Promise<true> {
  const core = kc.makeApiClient(CoreV1Api);
  return until(kc, PODS_PATH, async () => {
    const pod = await core.readNamespacedPod({ name, namespace: SAMPLE.namespace });
    const isReady = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    return isReady === ready ? true : undefined;
  });
}

async function readLease(kc: KubeConfig, name: string): Promise<V1Lease | undefined> {
  try {
    return await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: SAMPLE.namespace });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/**
 * Checks the rings written since `victim` was killed: it is in the last one, and if it left
 * (unready past its grace) it came back through the protocol, Prepared then Committed.
 */
function rejoined(documents: readonly RingDocument[], victim: string): string {
  const has = (d: RingDocument): boolean => d.members.some((m) => m.name === victim);
  assert.ok(documents.length === 0 || has(documents.at(-1)!), `${victim} is in the last ring`);
  const left = documents.findIndex((d) => !has(d));
  if (left < 0) return `${victim} killed, back before its grace ran out (ring unchanged)`;
  const back = documents.slice(left).filter(has);
  assert.deepEqual(
    back.slice(0, 2).map((d) => d.state),
    ['Prepared', 'Committed'],
    `${victim} rejoined through the protocol`,
  );
  return `${victim} killed, left the ring at v${documents[left]!.version}, rejoined at v${back[0]!.version}`;
}

async function patchGateway(system: ScenarioSystem, spec: Record<string, unknown>): Promise<void> {
  const custom = system.cluster.kc.makeApiClient(CustomObjectsApi);
  await custom.patchNamespacedCustomObject(
    {
      group: IMGATEWAY.group,
      version: IMGATEWAY.version,
      namespace: SAMPLE.namespace,
      plural: IMGATEWAY.plural,
      name: SAMPLE.name,
      body: { spec },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Replaces the ring ConfigMap's document by hand (as `kubectl edit` would). */
async function writeRingText(system: ScenarioSystem, text: string): Promise<void> {
  const core = system.cluster.kc.makeApiClient(CoreV1Api);
  await core.patchNamespacedConfigMap(
    { name: ringConfigMapName(SAMPLE.name), namespace: SAMPLE.namespace, body: { data: { [RING_DATA_KEY]: text } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

function flipLastHexDigit(checksum: string): string {
  const last = checksum.at(-1);
  return `${checksum.slice(0, -1)}${last === '0' ? '1' : '0'}`;
}

/** A valid document one version below `good` (what a stale writer or a restored backup would write). */
function lowerVersion(good: RingDocument): RingDocument {
  const version = good.version - 1;
  const previous = version === 1 ? null : { version: version - 1, members: good.members };
  return buildRingDocument({
    gateway: good.gateway,
    version,
    state: 'Committed',
    members: good.members,
    previous,
    tableSize: good.algorithm.tableSize,
    policy: good.policy,
  });
}
