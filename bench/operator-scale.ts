/**
 * Operator benchmark, no traffic: time from `kubectl scale imgw/im --replicas=5` (from 1) until
 * RingConverged is True with five members, and from 5 to 2; the barrier of each transition
 * (ring Prepared written → every live runtime serves it, from the operator's
 * `imring_operator_transition_step_seconds{step="Barrier"}`); against, in the same run, the
 * time for the same gateway StatefulSet to go from 1 to 5 Ready pods with no operator (scaled
 * directly, its ring ConfigMap written once by hand).
 *
 * Usage: `node dist/bench/operator-scale.js [--json]` (`npm run bench:operator`).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppsV1Api } from '@kubernetes/client-node';
import type { IMGateway } from '../operator/api.js';
import { desiredHeadlessService, desiredRingConfigMap, desiredStatefulSet, type Owner } from '../operator/desired.js';
import { canonicalMember, DEFAULT_CLUSTER_DOMAIN, selectorString } from '../operator/names.js';
import { resolveSpec, type ResolvedSpec } from '../operator/spec.js';
import { buildRingDocument, DEFAULT_POLICY } from '../ring/index.js';
import { imGateway, NAMESPACE, OperatorSystem } from '../test/support/operator-system.js';
import { watchUntil } from '../test/support/wait.js';
import { operatorMetrics, sample } from './lib/growth-probes.js';
import { median, progress } from './lib/measure.js';

const ROUNDS = 3;

interface Round {
  readonly upMs: number;
  readonly upBarrierMs: number;
  readonly downMs: number;
  readonly downBarrierMs: number;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const system = await OperatorSystem.start();
  try {
    await system.startRuntimes('im');
    const operator = await system.startOperator('bench');
    const bare = await createBareStatefulSet(system);
    await createGateway(system);
    // Interleaved, so neither side gets the cold first round: the operator does not touch the bare StatefulSet.
    const bareTimes: number[] = [];
    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      progress(`round ${r + 1}/${ROUNDS}`);
      bareTimes.push(await bare.round());
      rounds.push(await operatorRound(system, operator.metricsPort));
    }
    const pick = (key: keyof Round): number[] => rounds.map((r) => r[key]);
    const figures = {
      rounds: ROUNDS,
      scaleUpMedianMs: median(pick('upMs')),
      scaleUpBarrierMedianMs: median(pick('upBarrierMs')),
      scaleDownMedianMs: median(pick('downMs')),
      scaleDownBarrierMedianMs: median(pick('downBarrierMs')),
      bareStatefulSetMedianMs: median(bareTimes),
      ratio: median(pick('upMs')) / median(bareTimes),
    };
    const ms = (v: number): string => `${v.toFixed(0)} ms`;
    process.stdout.write(
      [
        `| measure (median of ${ROUNDS}, no traffic) | value |`,
        '|---|---:|',
        `| \`kubectl scale imgw/im --replicas=5\` from 1, until RingConverged | ${ms(figures.scaleUpMedianMs)} |`,
        `| its barrier: ring Prepared written → all runtimes acknowledged | ${ms(figures.scaleUpBarrierMedianMs)} |`,
        `| \`kubectl scale imgw/im --replicas=2\` from 5, until RingConverged | ${ms(figures.scaleDownMedianMs)} |`,
        `| its barrier | ${ms(figures.scaleDownBarrierMedianMs)} |`,
        `| bare StatefulSet of the same gateway pods, \`kubectl scale sts\` 1 → 5 Ready (no operator) | ${ms(figures.bareStatefulSetMedianMs)} |`,
        `| scale-out through the operator over the bare StatefulSet | ${figures.ratio.toFixed(2)}× |`,
        '',
      ].join('\n'),
    );
    if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await system.close();
  }
}

async function createGateway(system: OperatorSystem): Promise<void> {
  const manifest = join(system.dir, 'im.json');
  await writeFile(manifest, JSON.stringify(imGateway('im', { replicas: 1 })));
  await system.kubectlOk(['apply', '-f', manifest]);
  await system.untilGateway('im', convergedAt(1));
}

/** 1 → 5 → 2 through the operator, timed, then back to 1 (untimed). */
async function operatorRound(system: OperatorSystem, metricsPort: number): Promise<Round> {
  const up = await timedScale(system, metricsPort, 5);
  const down = await timedScale(system, metricsPort, 2);
  await system.kubectlOk(['scale', 'imgw/im', '--replicas=1']);
  await system.untilGateway('im', convergedAt(1));
  return { upMs: up.ms, upBarrierMs: up.barrierMs, downMs: down.ms, downBarrierMs: down.barrierMs };
}

/** Wall time of one `kubectl scale` until converged, and the barrier seconds the operator recorded meanwhile. */
async function timedScale(
  system: OperatorSystem,
  metricsPort: number,
  replicas: number,
): Promise<{ ms: number; barrierMs: number }> {
  const barrierBefore = await barrierSeconds(metricsPort);
  const start = performance.now();
  await system.kubectlOk(['scale', 'imgw/im', `--replicas=${replicas}`]);
  await system.untilGateway('im', convergedAt(replicas));
  const ms = performance.now() - start;
  return { ms, barrierMs: ((await barrierSeconds(metricsPort)) - barrierBefore) * 1000 };
}

function convergedAt(replicas: number) {
  return (g: IMGateway): boolean =>
    g.status?.observedGeneration === g.metadata.generation &&
    g.status?.conditions?.some((c) => c.type === 'RingConverged' && c.status === 'True') === true &&
    g.status?.ring?.members?.length === replicas &&
    g.status?.replicas === replicas;
}

/** `imring_operator_transition_step_seconds_sum{step="Barrier"}` from the operator's /metrics. */
async function barrierSeconds(metricsPort: number): Promise<number> {
  return sample(await operatorMetrics(metricsPort), 'imring_operator_transition_step_seconds_sum', 'step="Barrier"');
}

/**
 * The gateway StatefulSet and headless Service the operator would build, created and scaled by
 * hand (no operator runs yet), with a ring ConfigMap naming all five members written once:
 * gateway pods are Ready only with a ring loaded.
 */
async function createBareStatefulSet(system: OperatorSystem): Promise<{ round: () => Promise<number> }> {
  const owner: Owner = { namespace: NAMESPACE, name: 'bare', uid: 'bare-uid' };
  const spec = specOf(imGateway('bare'));
  const members = [0, 1, 2, 3, 4].map((o) =>
    canonicalMember(owner, o, { ports: spec.ports, clusterDomain: DEFAULT_CLUSTER_DOMAIN }),
  );
  const document = buildRingDocument({
    gateway: owner,
    version: 1,
    state: 'Committed',
    tableSize: spec.ring.tableSize,
    members,
    previous: null,
    policy: DEFAULT_POLICY,
  });
  // No owner: the garbage collector would delete objects whose owner does not exist.
  const unowned = <T extends { metadata?: { ownerReferences?: unknown } }>(object: T): T => ({
    ...object,
    metadata: { ...object.metadata, ownerReferences: undefined },
  });
  await system.core.createNamespacedService({
    namespace: NAMESPACE,
    body: unowned(desiredHeadlessService(owner, spec)),
  });
  await system.core.createNamespacedConfigMap({
    namespace: NAMESPACE,
    body: unowned(desiredRingConfigMap(owner, document, new Date().toISOString())),
  });
  const apps = system.cluster.kc.makeApiClient(AppsV1Api);
  await apps.createNamespacedStatefulSet({ namespace: NAMESPACE, body: unowned(desiredStatefulSet(owner, spec, 1)) });
  await readyPods(system, 1);
  // One round: `kubectl scale sts` 1 → 5 until all Ready (timed), then back to 1.
  const round = async (): Promise<number> => {
    const start = performance.now();
    await system.kubectlOk(['scale', 'sts/bare', '--replicas=5']);
    await readyPods(system, 5);
    const ms = performance.now() - start;
    await system.kubectlOk(['scale', 'sts/bare', '--replicas=1']);
    await readyPods(system, 1);
    return ms;
  };
  return { round };
}

function specOf(gateway: IMGateway): ResolvedSpec {
  const resolved = resolveSpec(gateway);
  if (!resolved.ok) throw new Error(`bench spec refused: ${JSON.stringify(resolved.problems)}`);
  return resolved.spec;
}

/** Resolves when exactly `count` pods of the bare StatefulSet exist and all are Ready. */
function readyPods(system: OperatorSystem, count: number): Promise<true> {
  return watchUntil(
    system.cluster.kc,
    `/api/v1/namespaces/${NAMESPACE}/pods`,
    async () => {
      const pods = (
        await system.core.listNamespacedPod({
          namespace: NAMESPACE,
          labelSelector: selectorString({ namespace: NAMESPACE, name: 'bare' }),
        })
      ).items;
      const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return pods.length === count && ready.length === count ? true : undefined;
    },
    120_000,
  );
}

await main();
