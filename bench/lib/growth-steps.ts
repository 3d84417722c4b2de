/**
 * The measured steps of the growth bench on a running system: a scale to N, one transition
 * (kubectl scale → RingConverged at the new version), a steady window, and a rollout (all, or
 * its first batches, extrapolated).
 */
import type { IMGateway } from '../../operator/api.js';
import { isConverged, type OperatorSystem } from '../../test/support/operator-system.js';
import { costBetween, takeReading, type ReadingSources, type WindowCost } from './growth-probes.js';

/** The IMGateway the bench drives. */
export const GATEWAY = 'im';
/**
 * The pod template annotation a rollout changes, and its value between rollouts: turning a rollout
 * back restores this very template, whose StatefulSet revision the pods not replaced yet still run
 * (removing the annotation instead would leave `annotations: {}`, a new revision for every pod).
 */
export const ROLLOUT_ANNOTATION = 'bench.imring.dev/rollout';
export const ROLLOUT_BASE = 'base';

/** A step's wall time and what it cost. */
export interface Measured extends WindowCost {
  readonly ms: number;
}

/** Converged at `replicas` with a ring version above `after`. */
function convergedPast(replicas: number, after: number) {
  return (g: IMGateway): boolean => isConverged(g, replicas) && (g.status?.ring?.version ?? 0) > after;
}

/** `kubectl scale imgw/im --replicas=<replicas>`, timed until converged at a new ring version. */
export async function measureScale(
  system: OperatorSystem,
  sources: ReadingSources,
  replicas: number,
  timeoutMs: number,
): Promise<Measured> {
  const version = (await system.gateway(GATEWAY)).status?.ring?.version ?? 0;
  const before = await takeReading(sources);
  await system.kubectlOk(['scale', `imgw/${GATEWAY}`, `--replicas=${replicas}`]);
  await system.untilGateway(GATEWAY, convergedPast(replicas, version), timeoutMs);
  const after = await takeReading(sources);
  return { ms: after.atMs - before.atMs, ...costBetween(before, after) };
}

/** What a window of `seconds` with nothing to do costs. */
export async function measureSteady(sources: ReadingSources, seconds: number): Promise<WindowCost> {
  const before = await takeReading(sources);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  return costBetween(before, await takeReading(sources));
}

/** A rollout at one N and one maxUnavailable. */
export interface RolloutFigures {
  readonly maxUnavailable: string;
  /** Members replaced per batch (one ring change removing them, one adding them back). */
  readonly perBatch: number;
  readonly batches: number;
  readonly batchesMeasured: number;
  /** Measured when every batch ran, else per-batch time × batches. */
  readonly totalMs: number;
  readonly extrapolated: boolean;
  readonly msPerBatch: number;
  /** Ring versions committed in the measured part. */
  readonly ringChanges: number;
  /** Events about the IMGateway in the measured part. */
  readonly events: number;
  readonly operatorCpuMs: number;
}

/** Options of {@link measureRollout}. */
export interface RolloutOptions {
  readonly replicas: number;
  /** `spec.rollout.maxUnavailable`, or undefined to leave the spec's (default 1). */
  readonly maxUnavailable: number | string | undefined;
  /** Batches measured before the rollout is turned back (when it has more). */
  readonly measureBatches: number;
  /** Distinguishes this rollout's pod template. */
  readonly mark: string;
  readonly timeoutMs: number;
}

/**
 * Makes every pod outdated (a pod template annotation) and times the rollout: to the end when it
 * has at most `measureBatches` batches, else its first `measureBatches`, extrapolated; then the
 * annotation is set back, and the pods replaced so far roll back (untimed).
 */
export async function measureRollout(
  system: OperatorSystem,
  sources: ReadingSources,
  options: RolloutOptions,
): Promise<RolloutFigures> {
  const { replicas } = options;
  const perBatch = batchSize(options.maxUnavailable, replicas);
  const batches = Math.ceil(replicas / perBatch);
  const measured = Math.min(batches, options.measureBatches);
  const committedBefore = committedCount(system);
  const eventsBefore = (await system.events(GATEWAY)).length;
  const before = await takeReading(sources);
  const rollout = options.maxUnavailable === undefined ? {} : { rollout: { maxUnavailable: options.maxUnavailable } };
  await patchSpec(system, { ...rollout, podTemplate: { annotations: { [ROLLOUT_ANNOTATION]: options.mark } } });
  // Each batch commits two ring versions: its members out, then back in on the new revision.
  await system.untilGateway(
    GATEWAY,
    (g) =>
      committedCount(system) - committedBefore >= 2 * measured &&
      isConverged(g, replicas) &&
      (measured < batches || g.status?.updatedReplicas === replicas),
    options.timeoutMs,
  );
  const after = await takeReading(sources);
  const cost = costBetween(before, after);
  const ms = after.atMs - before.atMs;
  const figures: RolloutFigures = {
    maxUnavailable: String(options.maxUnavailable ?? 1),
    perBatch,
    batches,
    batchesMeasured: measured,
    totalMs: measured === batches ? ms : (ms / measured) * batches,
    extrapolated: measured < batches,
    msPerBatch: ms / measured,
    ringChanges: committedCount(system) - committedBefore,
    events: (await system.events(GATEWAY)).length - eventsBefore,
    operatorCpuMs: cost.operatorCpuMs,
  };
  await patchSpec(system, { podTemplate: { annotations: { [ROLLOUT_ANNOTATION]: ROLLOUT_BASE } } });
  const rolledBack = (g: IMGateway): boolean => isConverged(g, replicas) && g.status?.updatedReplicas === replicas;
  await system.untilGateway(GATEWAY, rolledBack, options.timeoutMs);
  return figures;
}

/** Members per batch for `maxUnavailable` (an integer, or a percentage rounded down, at least 1). */
export function batchSize(maxUnavailable: number | string | undefined, replicas: number): number {
  if (maxUnavailable === undefined) return 1;
  if (typeof maxUnavailable === 'number') return Math.max(1, maxUnavailable);
  const percent = Number(maxUnavailable.replace(/%$/, ''));
  return Math.max(1, Math.floor((replicas * percent) / 100));
}

function committedCount(system: OperatorSystem): number {
  return system.ringHistory.filter((entry) => entry.endsWith(' Committed')).length;
}

async function patchSpec(system: OperatorSystem, spec: Record<string, unknown>): Promise<void> {
  await system.kubectlOk(['patch', `imgw/${GATEWAY}`, '--type', 'merge', '-p', JSON.stringify({ spec })]);
}
