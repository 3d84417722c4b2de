/**
 * The ring documents a transition publishes, built with the ring contract's builder so that the
 * checksum and the invariants of RING-SPEC hold for every version the operator writes.
 */
import { buildRingDocument, type RingDocument, type RingMember, type RingState } from '../ring/index.js';
import { ringPolicyOf } from './spec.js';
import type { TransitionInput } from './transition-types.js';

/** A new version of the gateway's ring, with the policy and table size of `input`. */
export function ringDocument(
  input: TransitionInput,
  init: {
    version: number;
    state: RingState;
    members: RingMember[];
    previous: { version: number; members: readonly RingMember[] } | null;
  },
): RingDocument {
  return buildRingDocument({
    gateway: { namespace: input.owner.namespace, name: input.owner.name, uid: input.owner.uid },
    version: init.version,
    state: init.state,
    // The table size of a published ring never changes: `previous` must be read with the same table
    // (RING-SPEC section 5).
    tableSize: input.ring?.document.algorithm.tableSize ?? input.spec.ring.tableSize,
    members: init.members,
    previous: init.previous,
    policy: ringPolicyOf(input.spec),
  });
}

/** The same document in another state (version, members and policy unchanged). */
export function rebuilt(document: RingDocument, state: RingState): RingDocument {
  return buildRingDocument({
    gateway: document.gateway,
    version: document.version,
    state,
    tableSize: document.algorithm.tableSize,
    members: document.members,
    previous: document.previous,
    policy: document.policy,
  });
}
