/**
 * The decision a protocol step builds: each step starts a {@link Draft}, changes what it decides,
 * and {@link finish} derives the rest (acknowledgements, misplaced connections, the StatefulSet's
 * replicas) from the ring the step leaves published.
 */
import type { RingMember, RuntimeComponent } from '../ring/index.js';
import { ordinalOf } from './names.js';
import { isRollingOut, rolloutProgress } from './rollout.js';
import { membershipDiff } from './transition-members.js';
import type {
  Acknowledgement,
  LeaseView,
  PodReplacement,
  RingView,
  Step,
  TransitionDecision,
  TransitionEvent,
  TransitionInput,
} from './transition-types.js';

const COMPONENTS: readonly RuntimeComponent[] = ['gateway', 'proxy', 'push'];

/** A decision being built by one step; fields the step does not set keep the values of {@link draft}. */
export interface Draft {
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
  deletePods: PodReplacement[];
}

/** A draft that changes nothing: the current ring, the converged version as it was, no events. */
export function draft(input: TransitionInput, ring: RingView, step: Step): Draft {
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
    deletePods: [],
  };
}

/** The decision of a finished draft. */
export function finish(d: Draft): TransitionDecision {
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
  const rollingUpdate = isRollingOut(d.input, document, d.convergedVersion);
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
    deletePods: d.deletePods,
    rollingUpdate,
    ...(rollingUpdate ? { rolloutProgress: rolloutProgress(d.input, document) } : {}),
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
