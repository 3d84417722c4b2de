/**
 * A pure simulation of a rollout for the batch tests: reconciles `decideTransition` against a world where every
 * runtime acknowledges at once, deleted pods come back at the update revision, and a recreated pod is Ready one
 * reconcile later. Each reconcile is one second of the clock.
 */
import { decideTransition } from '../../operator/transition.js';
import type { PodView, RingView, TransitionDecision, TransitionInput } from '../../operator/transition-types.js';
import type { MaxUnavailable } from '../../operator/spec-rollout.js';
import { input, lease, NOW, OWNER, ring, spec } from './transition-fixtures.js';
import { ordinalOf } from '../../operator/names.js';

export const OLD = 'im-old';
export const NEW = 'im-new';

/** A pod of `revision`, Ready for a minute unless told otherwise. */
export function pod(ordinal: number, revision: string, extra: Partial<PodView> = {}): PodView {
  return { ordinal, ready: true, sinceMs: NOW - 60_000, uid: `uid-${ordinal}-${revision}`, revision, ...extra };
}

/** A ring change the simulated rollout made: the members it added and removed, and the ring's size after it. */
export interface RingChange {
  readonly version: number;
  readonly adding: readonly string[];
  readonly removing: readonly string[];
  readonly members: number;
}

export interface Simulation {
  readonly changes: RingChange[];
  /** Every decision, in order. */
  readonly decisions: TransitionDecision[];
  /** Ordinals of the pods deleted by each reconcile that deleted some. */
  readonly deletions: number[][];
  /** The fewest members any published ring (Prepared or Committed) had. */
  readonly fewestMembers: number;
  readonly world: World;
}

/** What the simulated cluster holds between reconciles: the protocol's whole state. */
export interface World {
  replicas: number;
  maxUnavailable: MaxUnavailable;
  ring: RingView;
  convergedVersion: number | undefined;
  pods: Map<number, PodView>;
  wasRollingOut: boolean;
  nowMs: number;
}

/** A converged ring of `replicas` members, every pod at {@link OLD}, the StatefulSet now at {@link NEW}. */
export function outdatedWorld(replicas: number, maxUnavailable: MaxUnavailable): World {
  const ordinals = Array.from({ length: replicas }, (_, i) => i);
  return {
    replicas,
    maxUnavailable,
    ring: ring({ version: 4, state: 'Committed', members: ordinals, previous: ordinals }),
    convergedVersion: 4,
    pods: new Map(ordinals.map((o) => [o, pod(o, OLD)])),
    wasRollingOut: false,
    nowMs: NOW,
  };
}

/** The protocol's input in `world`: one live gateway Lease per pod, serving the published ring. */
export function inputOf(world: World): TransitionInput {
  const { document } = world.ring;
  return input({
    spec: spec({ replicas: world.replicas, rollout: { maxUnavailable: world.maxUnavailable } }),
    ring: world.ring,
    convergedVersion: world.convergedVersion,
    pods: [...world.pods.values()].sort((a, b) => a.ordinal - b.ordinal),
    leases: [...world.pods.values()].map((p) =>
      lease('gateway', `im-${p.ordinal}`, document.version, {
        state: document.state,
        expiresAtMs: world.nowMs + 15_000,
      }),
    ),
    nowMs: world.nowMs,
    updateRevision: NEW,
    wasRollingOut: world.wasRollingOut,
  });
}

/**
 * Reconciles until the rollout is over and the ring converged (at most `limit` reconciles). `between` may change
 * the world after each reconcile (scale, fail a deletion).
 */
export function simulate(
  world: World,
  options: { limit?: number; between?: (world: World, d: TransitionDecision) => void } = {},
): Simulation {
  const changes: RingChange[] = [];
  const decisions: TransitionDecision[] = [];
  const deletions: number[][] = [];
  let fewestMembers = world.ring.document.members.length;
  for (let i = 0; i < (options.limit ?? 500); i++) {
    const d = decideTransition(inputOf(world));
    decisions.push(d);
    const { document } = d.ring;
    if (d.changed && document.state === 'Prepared') {
      const members = document.members.length;
      changes.push({ version: document.version, adding: d.adding, removing: d.removing, members });
    }
    fewestMembers = Math.min(fewestMembers, document.members.length);
    advance(world, d);
    options.between?.(world, d);
    if (d.deletePods.length > 0) deletions.push(d.deletePods.map((p) => p.ordinal));
    if (isDone(world, d)) break;
  }
  return { changes, decisions, deletions, fewestMembers, world };
}

/** Applies `d` to `world`: the ring it publishes, the pods it deletes (recreated unready), one second later. */
function advance(world: World, d: TransitionDecision): void {
  world.nowMs += 1000;
  for (const [ordinal, p] of world.pods) {
    if (!p.ready && p.revision === NEW) world.pods.set(ordinal, { ...p, ready: true, sinceMs: world.nowMs });
  }
  for (const deleted of d.deletePods) {
    const recreated = pod(deleted.ordinal, NEW, { ready: false, sinceMs: world.nowMs });
    world.pods.set(deleted.ordinal, recreated);
  }
  world.ring = d.ring;
  world.convergedVersion = d.convergedVersion;
  world.wasRollingOut = d.rollingUpdate;
  // The StatefulSet: pods below its replicas, the missing ones created at the update revision.
  for (const ordinal of world.pods.keys()) if (ordinal >= d.statefulSetReplicas) world.pods.delete(ordinal);
  for (let o = 0; o < d.statefulSetReplicas; o++) {
    if (!world.pods.has(o)) world.pods.set(o, pod(o, NEW, { ready: false, sinceMs: world.nowMs }));
  }
}

function isDone(world: World, d: TransitionDecision): boolean {
  const allNew = [...world.pods.values()].every((p) => p.revision === NEW && p.ready);
  const ordinals = new Set(d.ring.document.members.map((m) => ordinalOf(OWNER, m.name)));
  const complete = Array.from({ length: world.replicas }, (_, i) => i).every((o) => ordinals.has(o));
  return allNew && complete && !d.rollingUpdate && d.convergedVersion === d.ring.document.version && !d.changed;
}
