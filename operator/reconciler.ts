/**
 * One reconcile of one IMGateway (STYLE.md): observe (caches) → desired objects and the next
 * protocol step (pure) → plan → apply only what differs → status (pure) → write it only if it
 * changed. A reconcile that finds nothing to change writes nothing.
 */
import type { KubernetesObject, V1ConfigMap, V1Lease, V1Pod, V1PodDisruptionBudget, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EventRecorder } from '../kube/controller-kit.js';
import { IMGATEWAY, type IMGateway } from './api.js';
import { planWrite, type Applier, type PlannedWrite } from './apply.js';
import { desiredHeadlessService, desiredPodDisruptionBudget, desiredRingConfigMap, desiredStatefulSet, type Owner } from './desired.js';
import { ringName, selectorString, headlessServiceName, statefulSetName, memberName, ordinalOf } from './names.js';
import { currentRing, leaseViews, podViews, ringErrorsOf, type Observed } from './observe.js';
import { resolveSpec } from './spec.js';
import { computeStatus, invalidSpecStatus, isSameStatus } from './status.js';
import { decideTransition, type TransitionDecision } from './transition.js';

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
  readonly applier: Applier;
  readonly recorder: Pick<EventRecorder, 'record'>;
  readonly logger: Logger;
  /** Cluster DNS domain of canonical member addresses. Default `cluster.local`. */
  readonly clusterDomain: string;
  /** Wall clock, ms since the epoch. */
  readonly now: () => number;
  /** Told of each protocol step the reconcile takes (metrics). */
  readonly onStep?: (step: string, decision: TransitionDecision) => void;
}

/** What a reconcile asks of the queue. */
export interface ReconcileResult {
  /** Reconcile again after this many ms even if nothing changes. */
  readonly requeueAfterMs: number | undefined;
}

/** Reconciles IMGateways; stateless between calls (everything it needs is in the caches). */
export class Reconciler {
  readonly #o: ReconcilerOptions;

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
    const resolved = resolveSpec(gateway);
    if (!resolved.ok) {
      const problems = resolved.problems.map((p) => `${p.field}: ${p.message}`);
      const status = invalidSpecStatus({ previous: gateway.status, generation: gateway.metadata.generation, now: new Date(nowMs) }, problems);
      if (!isSameStatus(gateway.status, status)) {
        await this.#event(gateway, 'Warning', 'InvalidSpec', problems.join('; '));
        await this.#o.applier.writeStatus({ namespace, name, resourceVersion: gateway.metadata.resourceVersion }, status);
      }
      return { requeueAfterMs: undefined };
    }
    const { spec, warnings } = resolved;
    const observed = this.#observe(gateway, owner);
    const current = currentRing({ owner, spec, clusterDomain: this.#o.clusterDomain, configMap: observed.configMap, status: gateway.status?.ring, nowMs });
    const leases = leaseViews(owner, observed.leases, nowMs);
    const pods = podViews(owner, observed.pods);
    const decision = decideTransition({ owner, spec, clusterDomain: this.#o.clusterDomain, ring: current.ring, convergedVersion: gateway.status?.ring?.convergedVersion, pods, leases, nowMs });
    if (current.refused !== undefined && current.ring !== undefined) {
      await this.#event(gateway, 'Warning', 'RingRestored', `ConfigMap ${ringName(owner)} refused (${current.refused}); publishing ring version ${current.ring.document.version} again`);
    }
    const writes = [
      planWrite('Service', desiredHeadlessService(owner, spec), observed.service),
      planWrite('PodDisruptionBudget', desiredPodDisruptionBudget(owner), observed.podDisruptionBudget),
      planWrite('ConfigMap', desiredRingConfigMap(owner, decision.ring.document, new Date(decision.ring.transitionAtMs).toISOString()), observed.configMap),
      planWrite('StatefulSet', desiredStatefulSet(owner, spec, decision.statefulSetReplicas), observed.statefulSet),
    ].filter((w): w is PlannedWrite<KubernetesObject> => w !== undefined);
    for (const write of writes) await this.#o.applier.write(write);
    await this.#stepEvents(gateway, decision, observed.statefulSet);
    const unreadyMembers = unreadyPastGrace(owner, decision, pods, spec.replicas);
    const status = computeStatus(
      {
        previous: gateway.status,
        generation: gateway.metadata.generation,
        selector: selectorString(owner),
        desiredReplicas: spec.replicas,
        replicas: observed.statefulSet?.status?.replicas ?? 0,
        readyReplicas: observed.statefulSet?.status?.readyReplicas ?? 0,
        configMap: ringName(owner),
        unreadyMembers,
        ringErrors: ringErrorsOf(owner, observed.leases, nowMs),
        now: new Date(nowMs),
      },
      decision,
      warnings,
    );
    if (!isSameStatus(gateway.status, status)) await this.#o.applier.writeStatus({ namespace, name, resourceVersion: gateway.metadata.resourceVersion }, status);
    return { requeueAfterMs: decision.requeueAfterMs };
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

  async #stepEvents(gateway: IMGateway, decision: TransitionDecision, statefulSet: V1StatefulSet | undefined): Promise<void> {
    if (decision.changed || decision.events.length > 0) this.#o.onStep?.(decision.step, decision);
    for (const event of decision.events) await this.#event(gateway, event.type, event.reason, event.message);
    const before = statefulSet?.spec?.replicas;
    if (before !== undefined && before !== decision.statefulSetReplicas) {
      const reason = before < decision.statefulSetReplicas ? 'ScalingUp' : 'StatefulSetShrunk';
      await this.#event(gateway, 'Normal', reason, `StatefulSet ${statefulSetName(gateway.metadata as Owner)} replicas ${before} → ${decision.statefulSetReplicas}`);
    }
  }

  #event(gateway: IMGateway, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    this.#o.logger.info({ gateway: `${gateway.metadata.namespace}/${gateway.metadata.name}`, type, reason }, message);
    return this.#o.recorder.record({ apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`, kind: IMGATEWAY.kind, metadata: gateway.metadata }, type, reason, message);
  }
}

/** An object of this name that another owner controls is not ours: treated as absent (the create then fails with 409, and says so). */
function owned<T extends KubernetesObject>(object: T | undefined, owner: Owner): T | undefined {
  if (object === undefined) return undefined;
  const controller = object.metadata?.ownerReferences?.find((r) => r.controller);
  return controller === undefined || controller.uid === owner.uid ? object : undefined;
}

/** Ordinals below `replicas` that are neither in the ring nor waiting to join: unready past their grace period. */
function unreadyPastGrace(owner: Owner, decision: TransitionDecision, pods: ReturnType<typeof podViews>, replicas: number): string[] {
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
