/**
 * Which gateways a ring lists, and how two member lists differ. Pure: pods, the spec and the clock
 * come in with the {@link TransitionInput}.
 */
import type { RingMember } from '../ring/index.js';
import { canonicalMember, ordinalOf } from './names.js';
import { isOutdated, isStopping } from './rollout.js';
import type { RingView, TransitionInput } from './transition-types.js';

/** The members a ring should have, and the pods it still waits for. */
export interface Target {
  readonly members: RingMember[];
  /** New members whose pods are not Ready yet (within the grace period): wait for them. */
  readonly waitingFor: string[];
  readonly requeueAfterMs: number | undefined;
}

/**
 * The desired set D of DESIGN.md section 5: ordinals below `replicas` whose pod is Ready, plus
 * current members unready for less than `unreadyGraceSeconds`. A stopping gateway (pod being
 * deleted, or Lease draining) is out at once; an outdated pod out of the ring does not join: the
 * rollout replaces it.
 */
export function desiredMembers(input: TransitionInput, ring: RingView): Target {
  const graceMs = input.spec.unreadyGraceSeconds * 1000;
  const pods = new Map(input.pods.map((p) => [p.ordinal, p]));
  const current = new Set(ring.document.members.map((m) => ordinalOf(input.owner, m.name)));
  const ordinals: number[] = [];
  const waitingFor: string[] = [];
  let requeueAfterMs: number | undefined;
  const wake = (ms: number): void => {
    requeueAfterMs = Math.max(1, Math.min(requeueAfterMs ?? Infinity, ms));
  };
  for (let ordinal = 0; ordinal < input.spec.replicas; ordinal++) {
    const pod = pods.get(ordinal);
    if (isStopping(input, ordinal, pod) || (isOutdated(input, pod) && !current.has(ordinal))) continue;
    if (pod?.ready) {
      ordinals.push(ordinal);
      continue;
    }
    // A missing pod counts as unready since the ring's last step: the StatefulSet recreates it.
    const unreadyMs = input.nowMs - (pod?.sinceMs ?? ring.transitionAtMs);
    if (unreadyMs >= graceMs) continue;
    wake(graceMs - unreadyMs);
    if (current.has(ordinal)) ordinals.push(ordinal);
    else waitingFor.push(member(input, ordinal).name);
  }
  return { members: ordinals.map((o) => member(input, o)), waitingFor, requeueAfterMs };
}

/** The first ring's members: the Ready pods below `replicas`, in ordinal order. */
export function readyMembers(input: TransitionInput): RingMember[] {
  return readyOrdinals(input).map((o) => member(input, o));
}

function readyOrdinals(input: TransitionInput): number[] {
  return input.pods
    .filter((p) => p.ready && p.ordinal < input.spec.replicas)
    .map((p) => p.ordinal)
    .sort((a, b) => a - b);
}

function member(input: TransitionInput, ordinal: number): RingMember {
  return canonicalMember(input.owner, ordinal, { ports: input.spec.ports, clusterDomain: input.clusterDomain });
}

/** Names added to and removed from `from` by `to`. */
export function membershipDiff(
  from: readonly RingMember[],
  to: readonly RingMember[],
): { adding: string[]; removing: string[] } {
  const before = new Set(from.map((m) => m.name));
  const after = new Set(to.map((m) => m.name));
  return {
    adding: [...after].filter((n) => !before.has(n)).sort(),
    removing: [...before].filter((n) => !after.has(n)).sort(),
  };
}

/** Whether `to` has a member that `from` lacks or addresses differently (host or ports). */
export function addressesChanged(from: readonly RingMember[], to: readonly RingMember[]): boolean {
  const byName = new Map(from.map((m) => [m.name, m]));
  return to.some((m) => {
    const old = byName.get(m.name);
    return old === undefined || old.host !== m.host || old.ports.ws !== m.ports.ws || old.ports.grpc !== m.ports.grpc;
  });
}
