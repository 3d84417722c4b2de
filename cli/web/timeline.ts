import { acknowledgements, type GatewayCondition, type LeaseReport, type RingObservation } from '../status-view.js';
import { TIMELINE_STEPS, type Timeline, type TimelineStep } from './snapshot.js';

/**
 * The transition timeline, computed from a sequence of observations (pure: the feed passes
 * each one with its time). Each step is stamped with the time it was first observed; the
 * protocol's steps happen in order, so a later step observed implies the earlier ones.
 */

/** What one observation says about the ring's transition. */
export interface RingFact {
  /** When it was observed, ms since the epoch. */
  readonly at: number;
  readonly version: number;
  readonly state: 'Prepared' | 'Committed';
  readonly previousVersion: number | null;
  /** Every live runtime of every component serves `version` (or a newer one). */
  readonly acknowledged: boolean;
  /** Misplaced connections over live gateway Leases. */
  readonly misplaced: number;
  /** The IMGateway reports `version` converged (status.ring.convergedVersion, or RingConverged True). */
  readonly converged: boolean;
}

/**
 * The timeline after `fact`. A new version starts a new timeline; the very first observation
 * of an already converged ring starts none (no transition was seen). Steps already reached
 * when a timeline starts get that time and no duration: they happened before it was seen.
 */
export function advanceTimeline(previous: Timeline | null, fact: RingFact): Timeline | null {
  const reached = reachedIndex(fact);
  if (previous === null || previous.version !== fact.version) {
    if (previous === null && reached === TIMELINE_STEPS.length - 1) return null;
    const at = new Date(fact.at).toISOString();
    return {
      version: fact.version,
      fromVersion: fact.previousVersion ?? previous?.version ?? null,
      steps: TIMELINE_STEPS.map((name, i) => ({ name, at: i <= reached ? at : null, durationMs: null })),
    };
  }
  if (previous.steps.every((s, i) => i > reached || s.at !== null)) return previous;
  const steps: TimelineStep[] = [];
  previous.steps.forEach((step, i) => {
    if (step.at !== null || i > reached) {
      steps.push(step);
      return;
    }
    const before = steps[i - 1]?.at;
    const durationMs = before ? Math.max(0, fact.at - Date.parse(before)) : null;
    steps.push({ name: step.name, at: new Date(fact.at).toISOString(), durationMs });
  });
  return { ...previous, steps };
}

/** What {@link ringFact} reads: the ring ConfigMap, the runtime Leases and the IMGateway's status. */
export interface FactInput {
  readonly ring: RingObservation;
  readonly leases: readonly LeaseReport[];
  readonly conditions: readonly GatewayCondition[];
  /** `status.ring.convergedVersion` of the IMGateway, null when it reports none. */
  readonly convergedVersion: number | null;
  /** Wall clock, ms since the epoch. */
  readonly at: number;
}

/**
 * The fact observed at `at`, or null without a valid ring. It builds no Maglev table (unlike
 * statusView), so the feed can take one at every watch event and stamp steps when they happen.
 */
export function ringFact(input: FactInput): RingFact | null {
  if (input.ring.kind !== 'ok') return null;
  const document = input.ring.document;
  const version = document.version;
  const state = document.state === 'Prepared' ? 'Prepared' : 'Committed';
  const live = input.leases.filter((l) => l.live);
  const acknowledged = Object.values(acknowledgements(live, version)).every((a) => a.acked === a.live);
  const misplaced = live.filter((l) => l.component === 'gateway').reduce((sum, l) => sum + (l.misplaced ?? 0), 0);
  const ringConverged = input.conditions.find((c) => c.type === 'RingConverged')?.status === 'True';
  const converged =
    input.convergedVersion !== null
      ? input.convergedVersion >= version
      : ringConverged && state === 'Committed' && misplaced === 0;
  return {
    at: input.at,
    version,
    state,
    previousVersion: document.previous?.version ?? null,
    acknowledged,
    misplaced,
    converged,
  };
}

/** The index in {@link TIMELINE_STEPS} of the last step `fact` shows reached. */
function reachedIndex(fact: RingFact): number {
  if (fact.converged) return 4;
  if (fact.state === 'Committed') return fact.misplaced === 0 ? 3 : 2;
  return fact.acknowledged ? 1 : 0;
}
