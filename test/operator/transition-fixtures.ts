/** Builders of the transition protocol's inputs for table tests (a gateway `chat/im`, the clock at {@link NOW}). */
import assert from 'node:assert/strict';
import type { Owner } from '../../operator/desired.js';
import { canonicalMember } from '../../operator/names.js';
import { resolveSpec, type ResolvedSpec } from '../../operator/spec.js';
import type { LeaseView, PodView, RingView, TransitionInput } from '../../operator/transition-types.js';
import { buildRingDocument, type RingState } from '../../ring/index.js';

export const OWNER: Owner = { namespace: 'chat', name: 'im', uid: 'uid-1' };
export const NOW = 1_000_000;
const PORTS = { ws: 10001, grpc: 10002 };

export function spec(overrides: Record<string, unknown> = {}): ResolvedSpec {
  const resolved = resolveSpec({
    metadata: { name: 'im' },
    spec: {
      auth: { secretName: 's' },
      unreadyGraceSeconds: 30,
      ring: { ackTimeoutSeconds: 30 },
      drain: { timeoutSeconds: 120 },
      ...overrides,
    },
  });
  assert.ok(resolved.ok);
  return resolved.spec;
}

export function ring(init: {
  version: number;
  state: RingState;
  members: number[];
  previous?: number[];
  atMs?: number;
}): RingView {
  const member = (o: number) => canonicalMember(OWNER, o, { ports: PORTS, clusterDomain: 'cluster.local' });
  const document = buildRingDocument({
    gateway: OWNER,
    version: init.version,
    state: init.state,
    members: init.members.map(member),
    previous: init.previous ? { version: init.version - 1, members: init.previous.map(member) } : null,
  });
  return { document, transitionAtMs: init.atMs ?? NOW - 1000 };
}

export const ready = (...ordinals: number[]): PodView[] =>
  ordinals.map((ordinal) => ({ ordinal, ready: true, sinceMs: NOW - 60_000 }));
export const unready = (ordinal: number, sinceMs: number): PodView => ({ ordinal, ready: false, sinceMs });

export function lease(
  component: LeaseView['component'],
  pod: string,
  version: number,
  extra: Partial<LeaseView> = {},
): LeaseView {
  return {
    component,
    pod,
    live: true,
    expiresAtMs: NOW + 15_000,
    version,
    state: 'Committed',
    connections: 0,
    misplaced: 0,
    ...extra,
  };
}

export function input(overrides: Partial<TransitionInput>): TransitionInput {
  return {
    owner: OWNER,
    spec: spec(),
    clusterDomain: 'cluster.local',
    ring: undefined,
    convergedVersion: undefined,
    pods: [],
    leases: [],
    nowMs: NOW,
    ...overrides,
  };
}
