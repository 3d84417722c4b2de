/**
 * The transition protocol of DESIGN.md section 5 as one pure function: given the published
 * ring, the gateway pods and the runtimes' Leases, the next step. Every reconcile takes at
 * most one step; all protocol state is in the ring document (version, state, previous), the
 * ConfigMap's transition time and `status.ring.convergedVersion`, so a restarted or newly
 * elected operator resumes where the last one stopped.
 */
import {
  buildRingDocument,
  type RingDocument,
  type RingMember,
  type RingState,
  type RuntimeComponent,
} from '../ring/index.js';
import type { Owner } from './desired.js';
import { canonicalMember, ordinalOf } from './names.js';
import { ringPolicyOf, type ResolvedSpec } from './spec.js';

/** A gateway pod as the protocol sees it. */
export interface PodView {
  readonly ordinal: number;
  readonly ready: boolean;
  /** When the pod's readiness last changed (its creation when it never was Ready), ms since the epoch. */
  readonly sinceMs: number;
}

/** A runtime's Lease as the protocol sees it. */
export interface LeaseView {
  readonly component: RuntimeComponent;
  /** The pod that holds it. */
  readonly pod: string;
  readonly live: boolean;
  /** When it stops being live unless renewed (its renew time plus duration), ms since the epoch. */
  readonly expiresAtMs: number;
  readonly version: number | undefined;
  readonly state: RingState | undefined;
  readonly connections: number;
  readonly misplaced: number;
  /** The last refused ring document's error (`<code>: <message>`), when the runtime reports one. */
  readonly ringError?: string;
}

/** The published ring and when its state was reached (ms since the epoch). */
export interface RingView {
  readonly document: RingDocument;
  readonly transitionAtMs: number;
}

export interface TransitionInput {
  readonly owner: Owner;
  readonly spec: ResolvedSpec;
  readonly clusterDomain: string;
  /** The valid published ring; undefined before the first one. */
  readonly ring: RingView | undefined;
  /** `status.ring.convergedVersion`: the last version whose transition finished. */
  readonly convergedVersion: number | undefined;
  readonly pods: readonly PodView[];
  readonly leases: readonly LeaseView[];
  readonly nowMs: number;
}

/** Where the protocol stands (status, metrics and conditions use it). */
export type Step = 'Bootstrap' | 'WaitingForPods' | 'Barrier' | 'Draining' | 'Stable';

export interface TransitionEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface Acknowledgement {
  /** Live Leases of the component, and those serving the current version (or a later one). */
  readonly live: number;
  readonly acked: number;
  /** Pods of live Leases that serve an older version. */
  readonly laggards: readonly string[];
}

export interface TransitionDecision {
  /** The ring to publish: the current one when `changed` is false. */
  readonly ring: RingView;
  readonly changed: boolean;
  /** The version whose transition has finished (for `status.ring.convergedVersion`). */
  readonly convergedVersion: number | undefined;
  readonly step: Step;
  /** Members being added and removed by the transition in progress (or waiting to start). */
  readonly adding: readonly string[];
  readonly removing: readonly string[];
  /**
   * Replicas the StatefulSet must have: never below a member of the current ring, nor of the previous one until
   * drained.
   */
  readonly statefulSetReplicas: number;
  readonly events: readonly TransitionEvent[];
  /** Run again after this long even if nothing changes (a timeout or grace period ends). */
  readonly requeueAfterMs: number | undefined;
  readonly acknowledged: Readonly<Record<RuntimeComponent, Acknowledgement>>;
  readonly misplacedConnections: number;
  /** One sentence on what the protocol waits for (conditions' messages). */
  readonly message: string;
  /** A protocol phase this decision ends, and how long it lasted (metrics). */
  readonly completed: { readonly step: 'Barrier' | 'Draining'; readonly seconds: number } | undefined;
}

const COMPONENTS: readonly RuntimeComponent[] = ['gateway', 'proxy', 'push'];

/** The next protocol step. Pure: same input, same decision. */
export function decideTransition(input: TransitionInput): TransitionDecision {
  if (input.ring === undefined) return bootstrap(input);
  const { document } = input.ring;
  if (document.state === 'Prepared') return barrier(input, input.ring);
  const drained = document.previous === null || input.convergedVersion === document.version;
  return drained ? nextTransition(input, input.ring) : drain(input, input.ring);
}

interface Draft {
  readonly input: TransitionInput;
  ring: RingView;
  changed: boolean;
  convergedVersion: number | undefined;
  step: Step;
  events: TransitionEvent[];
  requeueAfterMs: number | undefined;
  message: string;
  adding: string[];
  removing: string[];
  completed: TransitionDecision['completed'];
}

function draft(input: TransitionInput, ring: RingView, step: Step): Draft {
  return {
    input,
    ring,
    changed: false,
    convergedVersion: input.convergedVersion,
    step,
    events: [],
    requeueAfterMs: undefined,
    message: '',
    adding: [],
    removing: [],
    completed: undefined,
  };
}

function finish(d: Draft): TransitionDecision {
  const document = d.ring.document;
  const acknowledged = Object.fromEntries(
    COMPONENTS.map((c) => [c, acknowledgement(d.input.leases, c, document.version)]),
  ) as Record<RuntimeComponent, Acknowledgement>;
  const misplacedConnections = d.input.leases
    .filter((l) => l.live && l.component === 'gateway')
    .reduce((sum, l) => sum + l.misplaced, 0);
  if (
    d.adding.length === 0 &&
    d.removing.length === 0 &&
    document.previous !== null &&
    d.convergedVersion !== document.version
  ) {
    const diff = membershipDiff(document.previous.members, document.members);
    d.adding = diff.adding;
    d.removing = diff.removing;
  }
  return {
    ring: d.ring,
    changed: d.changed,
    convergedVersion: d.convergedVersion,
    step: d.step,
    adding: d.adding,
    removing: d.removing,
    statefulSetReplicas: statefulSetReplicas(d),
    events: d.events,
    requeueAfterMs: d.requeueAfterMs,
    acknowledged,
    misplacedConnections,
    message: d.message,
    completed: d.completed,
  };
}

function acknowledgement(leases: readonly LeaseView[], component: RuntimeComponent, version: number): Acknowledgement {
  const live = leases.filter((l) => l.live && l.component === component);
  const laggards = live.filter((l) => (l.version ?? 0) < version).map((l) => l.pod);
  return { live: live.length, acked: live.length - laggards.length, laggards: laggards.sort() };
}

function statefulSetReplicas(d: Draft): number {
  const document = d.ring.document;
  const owner = d.input.owner;
  const highest = (members: readonly RingMember[]): number =>
    Math.max(-1, ...members.map((m) => ordinalOf(owner, m.name) ?? -1)) + 1;
  const drained = document.previous === null || d.convergedVersion === document.version;
  const keepPrevious = drained || document.previous === null ? 0 : highest(document.previous.members);
  return Math.max(d.input.spec.replicas, highest(document.members), keepPrevious);
}

function bootstrap(input: TransitionInput): TransitionDecision {
  const members = [...readyOrdinals(input)].map((o) => member(input, o));
  // Above any version a runtime still serves (a ring lost with its status): readers refuse older versions.
  const version = Math.max(0, ...input.leases.map((l) => l.version ?? 0)) + 1;
  // RING-SPEC: every version after 1 names the one it replaces; a lost one is replaced by nobody.
  const document = ringDocument(input, {
    version,
    state: 'Committed',
    members,
    previous: version === 1 ? null : { version: version - 1, members: [] },
  });
  const d = draft(input, { document, transitionAtMs: input.nowMs }, 'Bootstrap');
  d.changed = true;
  d.convergedVersion = version;
  d.events.push({
    type: 'Normal',
    reason: 'RingCreated',
    message: `Ring version ${version} published with ${members.length} member(s)`,
  });
  d.message = `Ring version ${version} published`;
  return finish(d);
}

/** Step 3: every live runtime serves v+1, or the ack timeout passed; then step 4, Committed. */
function barrier(input: TransitionInput, ring: RingView): TransitionDecision {
  const { document } = ring;
  const d = draft(input, ring, 'Barrier');
  const lagging = input.leases.filter((l) => l.live && (l.version ?? 0) < document.version);
  const laggards = lagging.map((l) => `${l.component}/${l.pod}`).sort();
  const waitedMs = input.nowMs - ring.transitionAtMs;
  const timeoutMs = input.spec.ring.ackTimeoutSeconds * 1000;
  if (laggards.length > 0 && waitedMs < timeoutMs) {
    d.requeueAfterMs = untilFirst(input, timeoutMs - waitedMs, lagging);
    d.message = `Waiting for ${laggards.length} runtime(s) to serve ring version ${document.version}: ${list(laggards)}`;
    return finish(d);
  }
  if (laggards.length > 0) {
    d.events.push({
      type: 'Warning',
      reason: 'BarrierTimeout',
      message: `Ring version ${document.version}: no acknowledgement within ${input.spec.ring.ackTimeoutSeconds}s from ${list(laggards)}; committing anyway`,
    });
  } else {
    d.events.push({
      type: 'Normal',
      reason: 'AllRuntimesAcked',
      message: `Every live runtime serves ring version ${document.version} (${(waitedMs / 1000).toFixed(1)}s)`,
    });
  }
  d.ring = { document: rebuilt(document, 'Committed'), transitionAtMs: input.nowMs };
  d.completed = { step: 'Barrier', seconds: waitedMs / 1000 };
  d.changed = true;
  d.step = 'Draining';
  d.events.push({
    type: 'Normal',
    reason: 'RingCommitted',
    message: `Ring version ${document.version} committed: gateways migrate the users they no longer own`,
  });
  d.message = `Ring version ${document.version} committed`;
  return finish(d);
}

/** Step 5: gateways report 0 misplaced, removed members 0 connections, or the drain timeout passed. */
function drain(input: TransitionInput, ring: RingView): TransitionDecision {
  const { document } = ring;
  const d = draft(input, ring, 'Draining');
  const members = new Set(document.members.map((m) => m.name));
  const pending: string[] = [];
  const waitingOn: LeaseView[] = [];
  for (const lease of input.leases) {
    const why =
      lease.live && lease.component === 'gateway'
        ? undrained(lease, members.has(lease.pod), document.version)
        : undefined;
    if (why === undefined) continue;
    pending.push(`${lease.pod} (${why})`);
    waitingOn.push(lease);
  }
  pending.sort();
  const waitedMs = input.nowMs - ring.transitionAtMs;
  const timeoutMs = input.spec.drain.timeoutSeconds * 1000;
  if (pending.length > 0 && waitedMs < timeoutMs) {
    d.requeueAfterMs = untilFirst(input, timeoutMs - waitedMs, waitingOn);
    d.message = `Draining ring version ${document.version}: ${list(pending)}`;
    return finish(d);
  }
  if (pending.length > 0) {
    d.events.push({
      type: 'Warning',
      reason: 'DrainTimeout',
      message: `Ring version ${document.version}: not drained within ${input.spec.drain.timeoutSeconds}s: ${list(pending)}`,
    });
  }
  d.convergedVersion = document.version;
  d.completed = { step: 'Draining', seconds: waitedMs / 1000 };
  d.events.push({
    type: 'Normal',
    reason: 'RingConverged',
    message: `Ring version ${document.version} converged in ${(waitedMs / 1000).toFixed(1)}s after commit`,
  });
  // Step 6 (shrinking the StatefulSet) follows from statefulSetReplicas() now that it is drained.
  return nextTransition(input, ring, d);
}

/**
 * Why a live gateway is not drained yet, or undefined. A removed member only has to have no
 * connections: the ring version it serves does not matter once nobody is connected to it (an
 * unready member that left the ring may not load new versions at all).
 */
function undrained(lease: LeaseView, isMember: boolean, version: number): string | undefined {
  if (!isMember) return lease.connections > 0 ? `${lease.connections} connections` : undefined;
  if (lease.version !== version || lease.state !== 'Committed')
    return `serves ${lease.version ?? 'no'} ${lease.state ?? 'ring'}`;
  return lease.misplaced > 0 ? `${lease.misplaced} misplaced` : undefined;
}

/**
 * Ms until the timeout, or until the first of `waitingOn` expires if sooner: a Lease that
 * stops being renewed changes nothing in the API, so nothing else would wake the reconcile
 * that no longer has to wait for it.
 */
function untilFirst(input: TransitionInput, timeoutMs: number, waitingOn: readonly LeaseView[]): number {
  return Math.max(1, Math.min(timeoutMs, ...waitingOn.map((l) => l.expiresAtMs - input.nowMs)));
}

/** From a converged ring: start the next transition (step 2) once additions are Ready, or stay. */
function nextTransition(input: TransitionInput, ring: RingView, converged?: Draft): TransitionDecision {
  const { document } = ring;
  const d = converged ?? draft(input, ring, 'Stable');
  d.step = 'Stable';
  if (converged) return finish(d); // one step per reconcile: the next transition starts on the next one
  const target = desiredMembers(input, ring);
  const diff = membershipDiff(document.members, target.members);
  d.requeueAfterMs = target.requeueAfterMs;
  if (target.waitingFor.length > 0) {
    d.step = 'WaitingForPods';
    d.adding = target.waitingFor;
    d.message = `Waiting for ${list(target.waitingFor)} to become Ready before they join the ring`;
    return finish(d);
  }
  if (diff.adding.length === 0 && diff.removing.length === 0 && !addressesChanged(document.members, target.members)) {
    d.message = `Ring version ${document.version} is converged`;
    return finish(d);
  }
  const version = document.version + 1;
  d.ring = {
    document: ringDocument(input, {
      version,
      state: 'Prepared',
      members: target.members,
      previous: { version: document.version, members: document.members },
    }),
    transitionAtMs: input.nowMs,
  };
  d.changed = true;
  d.step = 'Barrier';
  d.adding = diff.adding;
  d.removing = diff.removing;
  d.requeueAfterMs = input.spec.ring.ackTimeoutSeconds * 1000;
  const change = [
    diff.adding.length > 0 ? `adding ${list(diff.adding)}` : '',
    diff.removing.length > 0 ? `removing ${list(diff.removing)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  d.events.push({
    type: 'Normal',
    reason: 'RingPrepared',
    message: `Ring version ${version} prepared (${change || 'new addresses'}); waiting for every runtime to load it`,
  });
  d.message = `Ring version ${version} prepared`;
  return finish(d);
}

interface Target {
  readonly members: RingMember[];
  /** New members whose pods are not Ready yet (within the grace period): wait for them. */
  readonly waitingFor: string[];
  readonly requeueAfterMs: number | undefined;
}

/**
 * The desired set D of DESIGN.md section 5: ordinals below `replicas` whose pod is Ready, plus
 * current members unready for less than `unreadyGraceSeconds`.
 */
function desiredMembers(input: TransitionInput, ring: RingView): Target {
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

function readyOrdinals(input: TransitionInput): number[] {
  return input.pods
    .filter((p) => p.ready && p.ordinal < input.spec.replicas)
    .map((p) => p.ordinal)
    .sort((a, b) => a - b);
}

function member(input: TransitionInput, ordinal: number): RingMember {
  return canonicalMember(input.owner, ordinal, { ports: input.spec.ports, clusterDomain: input.clusterDomain });
}

function ringDocument(
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
    // The table size of a published ring never changes: `previous` must be read with the same table (RING-SPEC section
    // 5).
    tableSize: input.ring?.document.algorithm.tableSize ?? input.spec.ring.tableSize,
    members: init.members,
    previous: init.previous,
    policy: ringPolicyOf(input.spec),
  });
}

/** The same document in another state (version, members and policy unchanged). */
function rebuilt(document: RingDocument, state: RingState): RingDocument {
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

function addressesChanged(from: readonly RingMember[], to: readonly RingMember[]): boolean {
  const byName = new Map(from.map((m) => [m.name, m]));
  return to.some((m) => {
    const old = byName.get(m.name);
    return old === undefined || old.host !== m.host || old.ports.ws !== m.ports.ws || old.ports.grpc !== m.ports.grpc;
  });
}

/** At most 5 names, then "and N more": event messages stay readable at 1000 replicas. */
function list(names: readonly string[]): string {
  return names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`;
}
