/**
 * Which runtime Lease events a reconcile must follow. Every runtime renews its Lease every few
 * seconds; a renewal that changes nothing but `renewTime` changes nothing a reconcile reads while
 * the Lease stays live, and at N gateways reconciling on each one cost O(N) work N/renew times a
 * second (bench:growth: 577 ms of operator CPU per second at 1,000 gateways). Such renewals are
 * skipped; what a reconcile reads (labels, the annotations a runtime reports, the holder, the
 * duration, a deletion) and a Lease's lapse and return are followed.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { expiryOf } from './observe.js';

interface Seen {
  /** What a reconcile reads of the Lease, as one string. */
  readonly read: string;
  readonly expiresAtMs: number;
  /** The gateway it is labelled with, `namespace/name` style key of the queue. */
  readonly owner: string;
  /** Reported as lapsed already: a lapse is followed once. */
  lapsed: boolean;
}

/** The last-seen state of each Lease, by uid (or namespace/name). */
export class LeaseChanges {
  readonly #seen = new Map<string, Seen>();

  /**
   * Whether this add or update of `lease` (of the gateway whose queue key is `owner`) changes what a
   * reconcile reads: it is new, something but its renewal times changed, or it had lapsed by
   * `nowMs` before this renewal. Remembers it.
   */
  matters(lease: V1Lease, owner: string, nowMs: number): boolean {
    const id = idOf(lease);
    const read = readOf(lease);
    const before = this.#seen.get(id);
    this.#seen.set(id, { read, expiresAtMs: expiryOf(lease), owner, lapsed: false });
    return before === undefined || before.read !== read || before.owner !== owner || before.expiresAtMs <= nowMs;
  }

  /** Forgets a deleted Lease. */
  forget(lease: V1Lease): void {
    this.#seen.delete(idOf(lease));
  }

  /**
   * The queue keys of the gateways whose Leases lapsed by `nowMs` since the last call (each lapse
   * once): no event marks a lapse, so the controller asks every so often.
   */
  lapsed(nowMs: number): Set<string> {
    const owners = new Set<string>();
    for (const seen of this.#seen.values()) {
      if (seen.lapsed || seen.expiresAtMs > nowMs) continue;
      seen.lapsed = true;
      owners.add(seen.owner);
    }
    return owners;
  }
}

function idOf(lease: V1Lease): string {
  return lease.metadata?.uid ?? `${lease.metadata?.namespace}/${lease.metadata?.name}`;
}

function readOf(lease: V1Lease): string {
  const { metadata, spec } = lease;
  return JSON.stringify([
    metadata?.labels ?? null,
    metadata?.annotations ?? null,
    metadata?.deletionTimestamp ?? null,
    spec?.holderIdentity ?? null,
    spec?.leaseDurationSeconds ?? null,
  ]);
}
