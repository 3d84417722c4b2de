/**
 * One reconcile of one IMGateway (STYLE.md): observe (caches) → desired objects and the next
 * protocol step (pure) → plan → apply only what differs → status (pure) → write it only if it
 * changed. A reconcile that finds nothing to change writes nothing.
 */
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Lease,
  V1Pod,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventRecorder } from '../kube/controller-kit.js';
import { IMGATEWAY, type IMGateway, type IMGatewayStatus } from './api.js';
import { planWrite, type Applier, type PlannedWrite } from './apply.js';
import {
  desiredHeadlessService,
  desiredPodDisruptionBudget,
  desiredRingConfigMap,
  desiredStatefulSet,
  type Owner,
} from './desired.js';
import {
  APPLIED_SPEC_ANNOTATION,
  ringName,
  selectorString,
  headlessServiceName,
  statefulSetName,
  memberName,
  ordinalOf,
} from './names.js';
import { currentRing, leaseViews, podViews, ringErrorsOf, updateRevisionOf, type Observed } from './observe.js';
import { resolveSpec, type SpecProblem } from './spec.js';
import { computeStatus, invalidSpecStatus, isSameStatus } from './status.js';
import { replacedMessage, type RolloutMode } from './rollout.js';
import { decideTransition } from './transition.js';
import type { PodView, RingView, TransitionDecision, TransitionInput } from './transition-types.js';
import { changedFields } from './owned-fields.js';
import { ROLLING_UPDATE } from './status.js';

/** Read access to the informer caches the reconciler needs. */
export interface Caches {
  gateway(namespace: string, name: string): IMGateway | undefined;
  statefulSet(namespace: string, name: string): V1StatefulSet | undefined;
  service(namespace: string, name: string): V1Service | undefined;
  podDisruptionBudget(namespace: string, name: string): V1PodDisruptionBudget | undefined;
  configMap(namespace: string, name: string): V1ConfigMap | undefined;
  /** Pods and Leases labelled `imring.dev/gateway=<gateway>`. */
  pods(namespace: string, gateway: string): readonly V1Pod[];
  leases(namespace: string, gateway: string): readonly V1Lease[];
}

export interface ReconcilerOptions {
  readonly caches: Caches;
  /** Sends the writes: an {@link Applier}, or anything with its two methods. */
  readonly applier: Pick<Applier, 'write' | 'writeStatus' | 'deletePod'>;
  readonly recorder: Pick<EventRecorder, 'record'>;
  readonly logger: Logger;
  /** Cluster DNS domain of canonical member addresses. Default `cluster.local`. */
  readonly clusterDomain: string;
  /** Who rolls gateway pods out (operator/rollout.ts). Default `ring`. */
  readonly rollout?: RolloutMode;
  /** Wall clock, ms since the epoch. */
  readonly now: () => number;
  /** Told of each protocol step the reconcile takes (metrics). */
  readonly onStep?: (step: string, decision: TransitionDecision) => void;
}

/** Retry delay while a cache has not shown our last write yet, ms. */
const STALE_CACHE_RETRY_MS = 100;
/** Longest an expected write is waited for before the cache is trusted again, ms. */
const EXPECTATION_TTL_MS = 10_000;

/** What a reconcile asks of the queue. */
export interface ReconcileResult {
  /** Reconcile again after this many ms even if nothing changes. */
  readonly requeueAfterMs: number | undefined;
}

/** Reconciles IMGateways; stateless between calls (everything it needs is in the caches). */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  /**
   * Writes the caches have not shown yet: `kind/namespace/name` → the resourceVersion the cache
   * must move past ('' = the object must appear). Acting on a cache older than our own last
   * write would repeat a step (and its Event); the watch brings the object within milliseconds.
   */
  readonly #expected = new Map<string, { readonly resourceVersion: string; readonly atMs: number }>();
  /** When each missing gateway pod was first seen missing (`namespace/name/ordinal`): a timer, not protocol state. */
  readonly #missingSince = new Map<string, number>();

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  /** Reconciles `namespace/name`. Errors propagate (the queue retries with backoff; 409 included). */
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const gateway = this.#o.caches.gateway(namespace, name);
    // Deleted: the garbage collector removes what it owned (ownerReferences).
    if (gateway === undefined || gateway.metadata.deletionTimestamp) return { requeueAfterMs: undefined };
    const owner: Owner = { namespace, name, uid: gateway.metadata.uid ?? '' };
    const nowMs = this.#o.now();
    if (this.#isCacheBehind(gateway, owner, nowMs)) return { requeueAfterMs: STALE_CACHE_RETRY_MS };
    const resolved = resolveSpec(gateway);
    if (!resolved.ok) return this.#reportInvalid(gateway, resolved.problems, nowMs);
    const { spec, warnings } = resolved;
    const observed = this.#observe(gateway, owner);
    const current = currentRing({
      owner,
      spec,
      clusterDomain: this.#o.clusterDomain,
      configMap: observed.configMap,
      status: gateway.status?.ring,
      nowMs,
    });
    const leases = leaseViews(owner, observed.leases, nowMs);
    const ordinals = Math.max(spec.replicas, highestOrdinal(owner, current.ring) + 1);
    const pods = this.#withMissing(owner, podViews(owner, observed.pods), ordinals, nowMs);
    const input: TransitionInput = {
      owner,
      spec,
      clusterDomain: this.#o.clusterDomain,
      ring: current.ring,
      convergedVersion: gateway.status?.ring?.convergedVersion,
      pods,
      leases,
      nowMs,
      wasRollingOut: gateway.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === ROLLING_UPDATE),
    };
    const { decision, statefulSet } = decide(input, observed.statefulSet, this.#o.rollout ?? 'ring');
    if (current.refused !== undefined && current.ring !== undefined) {
      await this.#event(
        gateway,
        'Warning',
        'RingRestored',
        `ConfigMap ${ringName(owner)} refused (${current.refused}); publishing ring version ${current.ring.document.version} again`,
      );
    }
    await this.#warnReverted(gateway, statefulSet, observed.statefulSet);
    await this.#apply(
      owner,
      [
        planWrite('Service', desiredHeadlessService(owner, spec), observed.service),
        planWrite('PodDisruptionBudget', desiredPodDisruptionBudget(owner), observed.podDisruptionBudget),
        planWrite(
          'ConfigMap',
          desiredRingConfigMap(owner, decision.ring.document, new Date(decision.ring.transitionAtMs).toISOString()),
          observed.configMap,
        ),
        statefulSet,
      ],
      nowMs,
    );
    await this.#replacePods(gateway, decision, nowMs);
    await this.#stepEvents(gateway, decision, observed.statefulSet);
    const status = computeStatus(
      {
        previous: gateway.status,
        generation: gateway.metadata.generation,
        selector: selectorString(owner),
        desiredReplicas: spec.replicas,
        ...statefulSetCounts(observed.statefulSet),
        updatedReplicas: updatedReplicas(input, decision, observed.statefulSet),
        configMap: ringName(owner),
        unreadyMembers: unreadyPastGrace(owner, decision, pods, spec.replicas),
        ringErrors: ringErrorsOf(leases),
        now: new Date(nowMs),
      },
      decision,
      warnings,
    );
    if (!isSameStatus(gateway.status, status)) await this.#writeStatus(gateway, status, nowMs);
    return { requeueAfterMs: decision.requeueAfterMs };
  }

  /** Sends the planned writes in order, remembering each so a stale cache is not acted on. */
  async #apply(
    owner: Owner,
    planned: readonly (PlannedWrite<KubernetesObject> | undefined)[],
    nowMs: number,
  ): Promise<void> {
    for (const write of planned) {
      if (write === undefined) continue;
      await this.#o.applier.write(write);
      this.#expect(
        `${write.kind}/${owner.namespace}/${write.object.metadata?.name}`,
        write.verb === 'create' ? '' : (write.object.metadata?.resourceVersion ?? ''),
        nowMs,
      );
    }
  }

  /**
   * A Warning when the StatefulSet differs from the desired one although the operator's spec did not change (the
   * applied-spec hash still matches): someone else edited fields the IMGateway owns, and the write reverts them.
   */
  async #warnReverted(
    gateway: IMGateway,
    write: PlannedWrite<V1StatefulSet> | undefined,
    observed: V1StatefulSet | undefined,
  ): Promise<void> {
    if (write?.verb !== 'apply' || observed === undefined) return;
    const applied = observed.metadata?.annotations?.[APPLIED_SPEC_ANNOTATION];
    if (applied === undefined || applied !== write.object.metadata?.annotations?.[APPLIED_SPEC_ANNOTATION]) return;
    const fields = changedFields(write.object.spec, observed.spec, 'spec');
    if (fields.length === 0) return;
    const name = gateway.metadata.name!;
    await this.#event(
      gateway,
      'Warning',
      'OwnedFieldReverted',
      `StatefulSet ${name}: ${fields.join(', ')} changed by someone else, reverted: the IMGateway owns ${fields.length > 1 ? 'them' : 'it'} (${hintFor(fields)} on imgw/${name} instead)`,
    );
  }

  /**
   * Deletes the outdated pods the rollout replaces, each only if it is still the pod that was seen; one
   * `RolloutPodReplaced` Event for them all (a batch at 1,000 gateways and 10 % would otherwise be 100 Events).
   */
  async #replacePods(gateway: IMGateway, decision: TransitionDecision, nowMs: number): Promise<void> {
    const owner = gateway.metadata as Owner;
    if (decision.deletePods.length === 0) return;
    for (const pod of decision.deletePods) {
      const name = memberName(owner, pod.ordinal);
      const seen = this.#o.caches.pods(owner.namespace, owner.name).find((p) => p.metadata?.name === name);
      await this.#o.applier.deletePod({ namespace: owner.namespace, name, uid: pod.uid });
      this.#expect(`Pod/${owner.namespace}/${name}`, seen?.metadata?.resourceVersion ?? '', nowMs);
    }
    await this.#event(gateway, 'Normal', 'RolloutPodReplaced', replacedMessage(owner, decision.deletePods));
  }

  /**
   * InvalidSpec: condition True with the problems, one Warning; the ring and the StatefulSet are not touched, and no
   * requeue (the next spec change brings one).
   */
  async #reportInvalid(gateway: IMGateway, found: readonly SpecProblem[], nowMs: number): Promise<ReconcileResult> {
    const problems = found.map((p) => `${p.field}: ${p.message}`);
    const status = invalidSpecStatus(
      { previous: gateway.status, generation: gateway.metadata.generation, now: new Date(nowMs) },
      problems,
    );
    if (!isSameStatus(gateway.status, status)) {
      await this.#event(gateway, 'Warning', 'InvalidSpec', problems.join('; '));
      await this.#writeStatus(gateway, status, nowMs);
    }
    return { requeueAfterMs: undefined };
  }

  async #writeStatus(gateway: IMGateway, status: IMGatewayStatus, nowMs: number): Promise<void> {
    const { namespace, name, resourceVersion } = gateway.metadata;
    await this.#o.applier.writeStatus({ namespace: namespace!, name: name!, resourceVersion }, status);
    this.#expect(`IMGateway/${namespace}/${name}`, resourceVersion ?? '', nowMs);
  }

  #expect(key: string, resourceVersion: string, nowMs: number): void {
    this.#expected.set(key, { resourceVersion, atMs: nowMs });
  }

  /** True while a cache still shows an object as it was before one of our writes. */
  #isCacheBehind(gateway: IMGateway, owner: Owner, nowMs: number): boolean {
    const { caches } = this.#o;
    const { namespace } = owner;
    const objects: [string, string, KubernetesObject | undefined][] = [
      ['IMGateway', owner.name, gateway],
      ['StatefulSet', statefulSetName(owner), caches.statefulSet(namespace, statefulSetName(owner))],
      ['Service', headlessServiceName(owner), caches.service(namespace, headlessServiceName(owner))],
      ['PodDisruptionBudget', statefulSetName(owner), caches.podDisruptionBudget(namespace, statefulSetName(owner))],
      ['ConfigMap', ringName(owner), caches.configMap(namespace, ringName(owner))],
      ...caches
        .pods(namespace, owner.name)
        .map((p): [string, string, KubernetesObject] => ['Pod', p.metadata?.name ?? '', p]),
    ];
    let behind = false;
    for (const [kind, name, object] of objects) {
      const key = `${kind}/${namespace}/${name}`;
      const expected = this.#expected.get(key);
      if (expected === undefined) continue;
      const seen = object?.metadata?.resourceVersion ?? '';
      // A lost watch event must not stall the key for ever: the informer's relist catches up well within this.
      if (seen !== expected.resourceVersion || nowMs - expected.atMs > EXPECTATION_TTL_MS) this.#expected.delete(key);
      else behind = true;
    }
    return behind;
  }

  /** Adds a never-Ready view for each missing pod below `ordinals`, unready since it was first seen missing. */
  #withMissing(owner: Owner, pods: PodView[], ordinals: number, nowMs: number): PodView[] {
    const present = new Set(pods.map((p) => p.ordinal));
    const views = [...pods];
    for (let ordinal = 0; ordinal < ordinals; ordinal++) {
      const key = `${owner.namespace}/${owner.name}/${ordinal}`;
      if (present.has(ordinal)) {
        this.#missingSince.delete(key);
        continue;
      }
      if (!this.#missingSince.has(key)) this.#missingSince.set(key, nowMs);
      views.push({ ordinal, ready: false, sinceMs: this.#missingSince.get(key)! });
    }
    return views;
  }

  #observe(gateway: IMGateway, owner: Owner): Observed {
    const { caches } = this.#o;
    return {
      gateway,
      statefulSet: owned(caches.statefulSet(owner.namespace, statefulSetName(owner)), owner),
      service: owned(caches.service(owner.namespace, headlessServiceName(owner)), owner),
      podDisruptionBudget: owned(caches.podDisruptionBudget(owner.namespace, statefulSetName(owner)), owner),
      configMap: owned(caches.configMap(owner.namespace, ringName(owner)), owner),
      pods: caches.pods(owner.namespace, owner.name),
      leases: caches.leases(owner.namespace, owner.name),
    };
  }

  async #stepEvents(
    gateway: IMGateway,
    decision: TransitionDecision,
    statefulSet: V1StatefulSet | undefined,
  ): Promise<void> {
    if (decision.changed || decision.events.length > 0) this.#o.onStep?.(decision.step, decision);
    for (const event of decision.events) await this.#event(gateway, event.type, event.reason, event.message);
    const before = statefulSet?.spec?.replicas;
    if (before !== undefined && before !== decision.statefulSetReplicas) {
      const reason = before < decision.statefulSetReplicas ? 'ScalingUp' : 'StatefulSetShrunk';
      await this.#event(
        gateway,
        'Normal',
        reason,
        `StatefulSet ${statefulSetName(gateway.metadata as Owner)} replicas ${before} → ${decision.statefulSetReplicas}`,
      );
    }
  }

  #event(gateway: IMGateway, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.#o.logger.info({ gateway: `${gateway.metadata.namespace}/${gateway.metadata.name}`, type, reason }, message);
    return this.#o.recorder.record(
      { apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`, kind: IMGATEWAY.kind, metadata: gateway.metadata },
      type,
      reason,
      message,
    );
  }
}

/**
 * An object of this name that another owner controls is not ours: treated as absent (the create then fails with 409,
 * and says so).
 */
function owned<T extends KubernetesObject>(object: T | undefined, owner: Owner): T | undefined {
  if (object === undefined) return undefined;
  const controller = object.metadata?.ownerReferences?.find((r) => r.controller);
  return controller === undefined || controller.uid === owner.uid ? object : undefined;
}

function statefulSetCounts(set: V1StatefulSet | undefined): { replicas: number; readyReplicas: number } {
  return { replicas: set?.status?.replicas ?? 0, readyReplicas: set?.status?.readyReplicas ?? 0 };
}

/**
 * The protocol's step and the StatefulSet write it needs. Rollout decisions need the update revision of the
 * StatefulSet as the operator wants it: when a write of ours is due (someone changed it), the step is decided again
 * without one, so a revision about to be reverted never replaces a pod.
 */
function decide(
  input: TransitionInput,
  observed: V1StatefulSet | undefined,
  rollout: RolloutMode,
): { decision: TransitionDecision; statefulSet: PlannedWrite<V1StatefulSet> | undefined } {
  const plan = (d: TransitionDecision): PlannedWrite<V1StatefulSet> | undefined =>
    planWrite('StatefulSet', desiredStatefulSet(input.owner, input.spec, d.statefulSetReplicas, rollout), observed);
  if (rollout === 'statefulset') {
    // Membership follows readiness alone: no rollout of ours, no stopping pod taken out before its grace.
    const decision = decideTransition({
      ...input,
      pods: input.pods.map((p) => ({ ...p, terminating: false })),
      leases: input.leases.map((l) => ({ ...l, draining: false })),
    });
    return { decision, statefulSet: plan(decision) };
  }
  const updateRevision = updateRevisionOf(observed);
  const decision = decideTransition({ ...input, ...(updateRevision !== undefined ? { updateRevision } : {}) });
  const statefulSet = plan(decision);
  if (statefulSet === undefined || updateRevision === undefined) return { decision, statefulSet };
  const without = decideTransition(input);
  return { decision: without, statefulSet: plan(without) };
}

/** Pods at the update revision (the StatefulSet's own count while the revision is not known). */
function updatedReplicas(input: TransitionInput, decision: TransitionDecision, set: V1StatefulSet | undefined): number {
  const revision = updateRevisionOf(set);
  if (revision === undefined) return set?.status?.updatedReplicas ?? 0;
  return input.pods.filter((p) => p.revision === revision && !p.terminating).length;
}

/** What to set on the IMGateway instead of editing a field of its StatefulSet. */
function hintFor(fields: readonly string[]): string {
  if (fields.every((f) => f === 'spec.replicas')) return 'set spec.replicas';
  if (fields.every((f) => /\.containers\[[^\]]+\]\.image$/.test(f))) return 'set spec.image';
  return 'change the spec';
}

/** The highest ordinal among the ring's members (-1 without any). */
function highestOrdinal(owner: Owner, ring: RingView | undefined): number {
  return Math.max(-1, ...(ring?.document.members ?? []).map((m) => ordinalOf(owner, m.name) ?? -1));
}

/** Ordinals below `replicas` that are neither in the ring nor waiting to join: unready past their grace period. */
function unreadyPastGrace(
  owner: Owner,
  decision: TransitionDecision,
  pods: readonly PodView[],
  replicas: number,
): string[] {
  const inRing = new Set(decision.ring.document.members.map((m) => ordinalOf(owner, m.name)));
  const waiting = new Set(decision.adding);
  const names: string[] = [];
  for (let i = 0; i < replicas; i++) {
    const name = memberName(owner, i);
    if (inRing.has(i) || waiting.has(name)) continue;
    const pod = pods.find((p) => p.ordinal === i);
    if (decision.step === 'Stable' && !pod?.ready) names.push(name);
  }
  return names;
}
