/**
 * What the transition protocol reads (pods, Leases, the published ring) and what it decides: the
 * vocabulary shared by `decideTransition` (transition.ts), the reconciler that observes its input, and the
 * status and metrics built from its decision.
 */
import type { RingDocument, RingState, RuntimeComponent } from '../ring/index.js';
import type { Owner } from './desired.js';
import type { ResolvedSpec } from './spec.js';

/** A gateway pod as the protocol sees it. */
export interface PodView {
  readonly ordinal: number;
  readonly ready: boolean;
  /** When the pod's readiness last changed (its creation when it never was Ready), ms since the epoch. */
  readonly sinceMs: number;
  /** The pod's uid (the precondition of its deletion); absent for a missing pod. */
  readonly uid?: string;
  /** Its StatefulSet revision (label `controller-revision-hash`), when labelled. */
  readonly revision?: string;
  /** Being deleted (`metadata.deletionTimestamp` set): it leaves the ring at once. */
  readonly terminating?: boolean;
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
  /** A gateway that got SIGTERM (annotation `imring.dev/draining`): it leaves the ring at once. */
  readonly draining?: boolean;
}

/** The published ring and when its state was reached (ms since the epoch). */
export interface RingView {
  readonly document: RingDocument;
  readonly transitionAtMs: number;
}

/** Everything one protocol step depends on: `decideTransition` reads nothing else. */
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
  /**
   * The StatefulSet's `status.updateRevision` when it describes the StatefulSet as the operator wants it (status
   * observed the current generation, and no write of ours is due); undefined: no rollout decision this reconcile.
   */
  readonly updateRevision?: string;
  /** The last status said a rollout was in progress (condition Progressing, reason `RollingUpdate`). */
  readonly wasRollingOut?: boolean;
}

/** Where the protocol stands (status, metrics and conditions use it). */
export type Step = 'Bootstrap' | 'WaitingForPods' | 'Barrier' | 'Draining' | 'Stable';

/** A Kubernetes Event the step records on the IMGateway. */
export interface TransitionEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** How many runtimes of one component serve the published ring version. */
export interface Acknowledgement {
  /** Live Leases of the component, and those serving the current version (or a later one). */
  readonly live: number;
  readonly acked: number;
  /** Pods of live Leases that serve an older version. */
  readonly laggards: readonly string[];
}

/** A gateway pod the rollout replaces: deleted with its uid as precondition, recreated at the update revision. */
export interface PodReplacement {
  readonly ordinal: number;
  readonly uid: string;
  readonly revision: string;
  readonly updateRevision: string;
}

/** The step taken: the ring to publish, the StatefulSet's size, and what status and metrics report. */
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
  /** Pods to delete now (at most one rollout batch, `spec.rollout.maxUnavailable`): outdated pods out of the ring. */
  readonly deletePods: readonly PodReplacement[];
  /** A pod below `replicas` is outdated, or a replaced member has not joined again yet. */
  readonly rollingUpdate: boolean;
  /** While `rollingUpdate`: `batch b/B, u of N pods updated` (the Progressing condition's message). */
  readonly rolloutProgress?: string;
}
