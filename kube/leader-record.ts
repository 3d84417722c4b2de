import { V1MicroTime, type V1LeaseSpec } from '@kubernetes/client-node';

/**
 * The leader election record client-go keeps in a Lease's spec, and the pure decisions the
 * elector (kube/leader-election.ts) takes over it: whether another candidate holds the Lease,
 * and the spec it writes to claim, renew or release it.
 */

/** The parts of a Lease's spec that make up client-go's leader election record, times in ms. */
export interface LeaderRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number | undefined;
  readonly acquireTime: number | undefined;
  readonly renewTime: number | undefined;
  readonly leaseTransitions: number;
}

/** The election record of a Lease spec. Pure. */
export function leaderRecord(spec: V1LeaseSpec | undefined): LeaderRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds,
    acquireTime: timeOf(spec?.acquireTime),
    renewTime: timeOf(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

/** Whether two records are the same (a changed record restarts the observed lease). Pure. */
export function isSameRecord(a: LeaderRecord, b: LeaderRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/**
 * Whether `record` is held by a candidate other than `identity` and still valid: it has a
 * holder, and `observedAtMs` (when this process first saw this exact record) plus the
 * record's duration (else `fallbackSeconds`) is still ahead of `nowMs`. Pure.
 */
export function isHeldByOther(
  record: LeaderRecord,
  identity: string,
  clock: { observedAtMs: number; nowMs: number; fallbackSeconds: number },
): boolean {
  if (record.holderIdentity === '' || record.holderIdentity === identity) return false;
  const seconds = record.leaseDurationSeconds ?? clock.fallbackSeconds;
  return clock.observedAtMs + seconds * 1000 > clock.nowMs;
}

/** The spec that claims (or renews) the Lease for `identity`, over `current` (never mutated). Pure. */
export function claimedLeaseSpec(
  current: V1LeaseSpec | undefined,
  claim: { identity: string; leaseDurationSeconds: number; nowMs: number },
): V1LeaseSpec {
  const now = new V1MicroTime(claim.nowMs);
  const renewing = current?.holderIdentity === claim.identity;
  return {
    ...current,
    holderIdentity: claim.identity,
    leaseDurationSeconds: claim.leaseDurationSeconds,
    acquireTime: (renewing ? current?.acquireTime : undefined) ?? now,
    renewTime: now,
    // A new Lease starts at 0; every change of holder counts one transition.
    leaseTransitions: current === undefined ? 0 : (current.leaseTransitions ?? 0) + (renewing ? 0 : 1),
  };
}

/** The spec that gives the Lease up (client-go ReleaseOnCancel): no holder, valid for 1 s. Pure. */
export function releasedLeaseSpec(current: V1LeaseSpec | undefined, nowMs: number): V1LeaseSpec {
  const now = new V1MicroTime(nowMs);
  return { ...current, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now };
}

function timeOf(time: Date | string | undefined): number | undefined {
  if (time === undefined || time === null) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}
