import type { StatusView } from '../status-view.js';
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

/** The fact a status view states at `at`, or null without a valid ring. */
export function ringFact(view: StatusView, convergedVersion: number | null, at: number): RingFact | null {
  const ring = view.ring;
  if (ring.status !== 'ok' || ring.version === null || view.acknowledged === null) return null;
  const version = ring.version;
  const state = ring.state === 'Prepared' ? 'Prepared' : 'Committed';
  const acknowledged = Object.values(view.acknowledged).every((a) => a.acked === a.live);
  const ringConverged = view.conditions.find((c) => c.type === 'RingConverged')?.status === 'True';
  return {
    at,
    version,
    state,
    previousVersion: ring.previous?.version ?? null,
    acknowledged,
    misplaced: view.misplacedConnections,
    converged:
      convergedVersion !== null
        ? convergedVersion >= version
        : ringConverged && state === 'Committed' && view.misplacedConnections === 0,
  };
}

/** The index in {@link TIMELINE_STEPS} of the last step `fact` shows reached. */
function reachedIndex(fact: RingFact): number {
  if (fact.converged) return 4;
  if (fact.state === 'Committed') return fact.misplaced === 0 ? 3 : 2;
  return fact.acknowledged ? 1 : 0;
}
