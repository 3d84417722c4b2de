/**
 * Growth benchmark (issue 19): how the operator's, the barrier's and a rollout's costs grow with
 * the number of gateways N (default 10, 50, 100, 300, 1,000). The API server, controllers,
 * operator process, Leases, ring watchers and barrier are real; the gateways are simulated (the
 * real ring watcher and Lease reporter, no websockets, no gRPC) on a virtual node whose kubelet
 * is one child process (bench/lib/virtual-node.ts). Proxy and push run as real pods.
 *
 * Usage: `node dist/bench/growth.js [--sizes 10,50] [--no-rollouts] [--json]` (`npm run bench:growth`); progress
 * on stderr, the report on stdout, with `--json` one JSON object on the last line.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RING_DATA_KEY } from '../ring/index.js';
import { convergedAt, imGateway, NAMESPACE, OperatorSystem } from '../test/support/operator-system.js';
import { WriteCounter } from './lib/api-writes.js';
import { processMemory, rssOf, type ReadingSources, type WindowCost } from './lib/growth-probes.js';
import { printReport, type SizeFigures } from './lib/growth-report.js';
import {
  GATEWAY,
  measureRollout,
  ROLLOUT_ANNOTATION,
  ROLLOUT_BASE,
  measureScale,
  measureSteady,
  type Measured,
} from './lib/growth-steps.js';
import { progress } from './lib/measure.js';
import { imringCommandOf } from './lib/process-cpu.js';
import { VIRTUAL_NODE_LABEL, VirtualNode } from './lib/virtual-node.js';

const DEFAULT_SIZES = [10, 50, 100, 300, 1000];
/** The CRD's bound on spec.replicas. */
const MAX_REPLICAS = 1000;
/** The gateways' Lease periods, s: the contract's defaults (DESIGN.md section 6). */
const LEASE_RENEW_SECONDS = 5;
const LEASE_DURATION_SECONDS = 15;
/** The steady window: three renewals of every Lease. */
const STEADY_SECONDS = 3 * LEASE_RENEW_SECONDS;
/** Rollout batches timed at each N before it is turned back (a longer rollout is extrapolated). */
const ROLLOUT_BATCHES = 2;
/** The default ack timeout: a barrier that waits it out shows as such, not as a fast one. */
const ACK_TIMEOUT_SECONDS = 30;
const SCALE_TIMEOUT_MS = 900_000;
/** The push pod's ops port (test/support/runtime-pod.ts). */
const PUSH_OPS_PORT = 10092;

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const sizes = sizesOf(process.argv);
  const writes = new WriteCounter();
  const system = await OperatorSystem.start({ onRequest: (r) => writes.record(r) });
  let node: VirtualNode | undefined;
  // Ctrl-C stops every process the bench started (pods, the operator, the virtual node) before exiting.
  process.once('SIGINT', () => {
    void Promise.allSettled([node?.close(), system.close()]).then(() => process.exit(130));
  });
  try {
    progress('starting proxy and push pods, the virtual node, the operator');
    // Before the virtual node exists, so the scheduler puts them on the pod runner's nodes.
    const { push } = await system.startRuntimes(GATEWAY);
    node = await VirtualNode.start({
      kc: system.cluster.kc,
      kubeconfigPath: system.cluster.kubeconfigPath,
      renewSeconds: LEASE_RENEW_SECONDS,
      durationSeconds: LEASE_DURATION_SECONDS,
    });
    const operator = await system.startOperator('bench');
    const sources: ReadingSources = {
      operatorPid: operator.child.pid!,
      operatorMetricsPort: operator.metricsPort,
      virtualNodePid: node.pid,
      writes,
    };
    await createGateway(system);
    // --no-rollouts: the scale and steady figures alone (a quick look at a large N).
    const rolloutModes = process.argv.includes('--no-rollouts') ? [] : await rolloutModesOf(system);
    const figures: SizeFigures[] = [];
    for (const n of sizes) {
      progress(`N=${n}: scaling`);
      const scale = await measureScale(system, sources, n, SCALE_TIMEOUT_MS);
      // N + 1 must fit spec.replicas (at most 1,000): at the top, one member leaves first, then joins again.
      const top = n + 1 > MAX_REPLICAS;
      progress(top ? `N=${n}: remove one member, add it back` : `N=${n}: add one member, remove it`);
      const first = await measureScale(system, sources, top ? n - 1 : n + 1, SCALE_TIMEOUT_MS);
      const second = await measureScale(system, sources, n, SCALE_TIMEOUT_MS);
      const [add, remove] = top ? [second, first] : [first, second];
      progress(`N=${n}: steady state for ${STEADY_SECONDS} s`);
      const mark = writes.operatorLog.length;
      const steady = await measureSteady(sources, STEADY_SECONDS);
      const operatorSteadyWrites = writes.operatorLog.slice(mark);
      if (operatorSteadyWrites.length > 0)
        progress(`N=${n}: operator writes in the steady window: ${operatorSteadyWrites.join(', ')}`);
      const memory = await memoryAt(system, sources, push.status?.podIP);
      const rollouts = [];
      for (const maxUnavailable of rolloutModes) {
        progress(`N=${n}: rollout, maxUnavailable ${maxUnavailable ?? 1}`);
        rollouts.push(
          await measureRollout(system, sources, {
            replicas: n,
            maxUnavailable,
            measureBatches: ROLLOUT_BATCHES,
            mark: `${n}-${maxUnavailable ?? 1}`,
            timeoutMs: SCALE_TIMEOUT_MS,
          }),
        );
      }
      const virtualNode = await node.stats();
      figures.push({
        n,
        scaleMs: scale.ms,
        add: transitionOf(add),
        remove: transitionOf(remove),
        steady: { ...steadyOf(steady), operatorWrites: operatorSteadyWrites },
        ringBytes: await ringBytes(system),
        ...memory,
        virtualNodeRssBytes: virtualNode.rss,
        rollouts,
      });
    }
    printReport({ sizes, figures, json, leaseRenewSeconds: LEASE_RENEW_SECONDS, steadySeconds: STEADY_SECONDS });
  } finally {
    await node?.close();
    await system.close();
  }
}

function sizesOf(argv: readonly string[]): number[] {
  const at = argv.indexOf('--sizes');
  if (at < 0) return DEFAULT_SIZES;
  const sizes = (argv[at + 1] ?? '').split(',').map(Number);
  if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 2 || n > MAX_REPLICAS))
    throw new RangeError(`--sizes must list integers from 2 to ${MAX_REPLICAS}`);
  return sizes;
}

/** IMGateway `im` with one member on the virtual node. */
async function createGateway(system: OperatorSystem): Promise<void> {
  const manifest = join(system.dir, 'im.json');
  const gateway = imGateway(GATEWAY, {
    replicas: 1,
    podTemplate: { nodeSelector: VIRTUAL_NODE_LABEL, annotations: { [ROLLOUT_ANNOTATION]: ROLLOUT_BASE } },
    ring: { ackTimeoutSeconds: ACK_TIMEOUT_SECONDS },
  });
  await writeFile(manifest, JSON.stringify(gateway));
  await system.kubectlOk(['apply', '-f', manifest]);
  await system.untilGateway(GATEWAY, convergedAt(1), SCALE_TIMEOUT_MS);
}

/** maxUnavailable 1 (the spec's default) and 10 % when the CRD has `spec.rollout.maxUnavailable`. */
async function rolloutModesOf(system: OperatorSystem): Promise<(string | undefined)[]> {
  const crd = await system.kubectlOk(['get', 'crd', 'imgateways.imring.dev', '-o', 'json']);
  return crd.includes('"maxUnavailable"') ? [undefined, '10%'] : [undefined];
}

function transitionOf(m: Measured) {
  return {
    ms: m.ms,
    operatorCpuMs: m.operatorCpuMs,
    operatorWrites: m.writes.operator ?? 0,
    barrierMs: m.barriers > 0 ? m.barrierMs / m.barriers : NaN,
    informerEvents: m.informerEvents,
    virtualNodeCpuMs: m.virtualNodeCpuMs,
    benchCpuMs: m.benchCpuMs,
  };
}

function steadyOf(cost: WindowCost) {
  const perSecond = (count: number | undefined): number => (count ?? 0) / cost.seconds;
  return {
    seconds: cost.seconds,
    gatewayLeaseWritesPerSecond: perSecond(cost.writes['gateway Leases']),
    operatorWritesPerSecond: perSecond(cost.writes.operator),
    leaderElectionWritesPerSecond: perSecond(cost.writes['operator leader election']),
    otherWritesPerSecond: perSecond(
      (cost.writes['proxy and push'] ?? 0) +
        (cost.writes['virtual kubelet'] ?? 0) +
        (cost.writes['cluster and bench'] ?? 0),
    ),
    operatorCpuMsPerSecond: cost.operatorCpuMs / cost.seconds,
    informerEventsPerSecond: cost.informerEvents / cost.seconds,
  };
}

async function ringBytes(system: OperatorSystem): Promise<number> {
  const configMap = await system.core.readNamespacedConfigMap({ namespace: NAMESPACE, name: `${GATEWAY}-ring` });
  return Buffer.byteLength(configMap.data?.[RING_DATA_KEY] ?? '');
}

/** The operator's memory (its /metrics) and the push pod's, a real runtime holding the ring. */
async function memoryAt(system: OperatorSystem, sources: ReadingSources, pushIP: string | undefined) {
  const operator = await processMemory(`http://127.0.0.1:${sources.operatorMetricsPort}/metrics`);
  const pushPid = system.cluster.pids().find((pid) => imringCommandOf(pid) === 'push');
  const push = pushIP ? await processMemory(`http://${pushIP}:${PUSH_OPS_PORT}/metrics`) : undefined;
  return {
    operatorRssBytes: operator.rssBytes,
    operatorHeapUsedBytes: operator.heapUsedBytes,
    runtimeRssBytes: pushPid === undefined ? (push?.rssBytes ?? NaN) : rssOf(pushPid),
    runtimeHeapUsedBytes: push?.heapUsedBytes ?? NaN,
  };
}

await main();
