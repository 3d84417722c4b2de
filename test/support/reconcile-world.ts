import type {
  CoreV1Event,
  KubernetesObject,
  V1ConfigMap,
  V1Lease,
  V1Pod,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { applyMergePatch } from '../../local/apiserver/patch/patch.js';
import { templateHash } from '../../local/controllers/statefulset-pods.js';
import { REVISION_LABEL } from '../../operator/observe.js';
import { IMGATEWAY, type IMGateway, type IMGatewayStatus } from '../../operator/api.js';
import type { PlannedWrite } from '../../operator/apply.js';
import { Reconciler, type Caches, type ReconcileResult } from '../../operator/reconciler.js';
import type { EventTarget } from '../../kube/controller-kit.js';
import {
  Annotations,
  Labels,
  LEASE_DURATION_SECONDS,
  parseRingDocument,
  RING_DATA_KEY,
  ringConfigMapName,
  runtimeLeaseName,
  type RingDocument,
  type RuntimeComponent,
} from '../../ring/index.js';
import { describeGateway, throwIfInvalid } from './gateway-state.js';
import { conflict, deepFreeze, isReady, isSame, recordRing, ringAnnotations, specOf, stuck } from './world-objects.js';
import { NAMESPACE } from './operator-system.js';

/** The kinds the world holds; objects are keyed `kind/name` (one namespace, {@link NAMESPACE}). */
export type WorldKind = 'IMGateway' | 'StatefulSet' | 'Service' | 'PodDisruptionBudget' | 'ConfigMap' | 'Pod' | 'Lease';

export interface ReconcileWorldOptions {
  /** Runtimes besides the gateways that hold a Lease per IMGateway and serve its ring. Default none. */
  readonly runtimes?: readonly Exclude<RuntimeComponent, 'gateway'>[];
}

/** An object as stored: any kind, with whatever body it has. */
type Stored = KubernetesObject & { spec?: unknown; status?: unknown; data?: unknown };

/** Where the clock starts, ms since the epoch. */
const START_MS = Date.parse('2030-01-01T00:00:00.000Z');
/** Most reconciles one {@link ReconcileWorld.until} runs: a bound for a broken build, not a delay. */
const MAX_RECONCILES = 200;

/**
 * IMGateways and everything the operator reads and writes for them, in memory, driven by the
 * operator's own {@link Reconciler}: the caches are this store (objects frozen, as an informer's
 * must be treated), writes land in it at once, and Events are kept. The rest of the cluster
 * reacts after every reconcile: a StatefulSet controller runs each wanted pod at once, Ready;
 * each running gateway pod (and each of `runtimes`) renews its Lease and serves the published
 * ring. Time is a clock the world moves only when nothing else is left to happen, so grace
 * periods, ack and drain timeouts take no wall-clock time.
 */
export class ReconcileWorld {
  /** Every (version, state) a ring ConfigMap went through, in order, as `v2 Prepared`. */
  readonly ringHistory: string[] = [];
  /** Pods deleted through the operator's applier, in order. */
  readonly deletedPods: string[] = [];
  readonly #objects = new Map<string, KubernetesObject>();
  readonly #events: CoreV1Event[] = [];
  /** Pods whose runtime neither renews its Lease nor loads a ring (a stopped process). */
  readonly #frozen = new Set<string>();
  readonly #runtimes: readonly Exclude<RuntimeComponent, 'gateway'>[];
  readonly #reconciler: Reconciler;
  #nowMs = START_MS;
  #resourceVersion = 0;
  #writes = 0;
  #containers = 0;

  constructor(options: ReconcileWorldOptions = {}) {
    this.#runtimes = options.runtimes ?? [];
    this.#reconciler = new Reconciler({
      caches: this.#caches(),
      applier: {
        write: (planned) => this.#write(planned),
        writeStatus: (ref, status) => this.#writeStatus(ref, status),
        deletePod: (pod) => this.#deletePod(pod.name, pod.uid),
      },
      recorder: { record: (target, type, reason, message) => this.#record(target, { type, reason, message }) },
      logger: pino({ level: 'silent' }),
      clusterDomain: 'cluster.local',
      now: () => this.#nowMs,
    });
  }

  /** Writes the operator has sent (objects and status). */
  writes(): number {
    return this.#writes;
  }

  /** Creates `gateway`, or replaces the spec of the one of its name (as `kubectl apply` of a whole manifest). */
  apply(gateway: IMGateway): void {
    const name = gateway.metadata.name!;
    const live = this.gateway(name);
    if (live === undefined) this.#put('IMGateway', { ...gateway, metadata: { ...gateway.metadata, generation: 1 } });
    else this.#replaceSpec(live, { ...gateway.spec });
  }

  /** A JSON merge patch of IMGateway `name` (`kubectl patch --type=merge`); only its spec is taken. */
  patch(name: string, patch: { spec: Record<string, unknown> }): void {
    const live = this.gateway(name);
    if (live === undefined) throw new Error(`no IMGateway ${name}`);
    this.#replaceSpec(live, applyMergePatch(live.spec ?? {}, patch.spec) as Record<string, unknown>);
  }

  /** IMGateway `name` as stored now (frozen). */
  gateway(name: string): IMGateway | undefined {
    return this.object<IMGateway>('IMGateway', name);
  }

  /** The `kind` object named `name` as stored now (frozen), or undefined. */
  object<T extends KubernetesObject>(kind: WorldKind, name: string): T | undefined {
    return this.#objects.get(`${kind}/${name}`) as T | undefined;
  }

  /** The ring document in IMGateway `name`'s ConfigMap now (undefined when missing or invalid). */
  ring(name: string): RingDocument | undefined {
    const configMap = this.object<V1ConfigMap>('ConfigMap', ringConfigMapName(name));
    const parsed = parseRingDocument(configMap?.data?.[RING_DATA_KEY] ?? '');
    return parsed.ok ? parsed.document : undefined;
  }

  /** Events about IMGateway `name`, oldest first. */
  events(name: string): CoreV1Event[] {
    return this.#events.filter((e) => e.involvedObject.kind === IMGATEWAY.kind && e.involvedObject.name === name);
  }

  /** Moves the clock on; runtimes renew their Leases at the new time. */
  advance(ms: number): void {
    this.#nowMs += ms;
    this.#react();
  }

  /**
   * Stops pod `name` as SIGSTOP would: its readiness probe fails (not Ready from now) and its
   * runtime neither renews its Lease nor loads another ring; the pod itself stays.
   */
  freeze(name: string): void {
    this.#frozen.add(name);
    this.#setReady(name, false);
  }

  /** Resumes a frozen pod: Ready again, its runtime renews and serves the published ring. */
  thaw(name: string): void {
    this.#frozen.delete(name);
    this.#setReady(name, true);
    this.#react();
  }

  /** One reconcile of IMGateway `name`, then the cluster's reaction to what it wrote. */
  async reconcile(name: string): Promise<ReconcileResult> {
    const result = await this.#reconciler.reconcile(NAMESPACE, name);
    this.#react();
    return result;
  }

  /**
   * Reconciles IMGateway `name` until `check` accepts it, as the controller would: again after
   * every change, and when nothing changed, once the clock reaches the requeue the reconcile
   * asked for. Fails at once, with the gateway's state, when nothing is left to happen (no
   * change, no requeue) or the spec is invalid and `check` still refuses it.
   */
  async until(name: string, check: (gateway: IMGateway) => boolean): Promise<IMGateway> {
    for (let i = 0; i < MAX_RECONCILES; i++) {
      const seen = this.gateway(name);
      if (seen !== undefined && check(seen)) return seen;
      const before = this.#resourceVersion;
      const result = await this.reconcile(name);
      const after = this.gateway(name);
      if (after !== undefined && check(after)) return after;
      if (this.#resourceVersion !== before) continue;
      throwIfInvalid(after, name);
      if (result.requeueAfterMs === undefined) throw stuck(name, 'nothing is left to happen', after);
      this.advance(result.requeueAfterMs);
    }
    throw new Error(`${name}: not there after ${MAX_RECONCILES} reconciles; ${describeGateway(this.gateway(name))}`);
  }

  #caches(): Caches {
    const labelled = <T extends KubernetesObject>(kind: WorldKind, gateway: string): T[] =>
      this.#all<T>(kind).filter((o) => o.metadata?.labels?.[Labels.gateway] === gateway);
    return {
      gateway: (_namespace, name) => this.gateway(name),
      statefulSet: (_namespace, name) => this.object('StatefulSet', name),
      service: (_namespace, name) => this.object('Service', name),
      podDisruptionBudget: (_namespace, name) => this.object('PodDisruptionBudget', name),
      configMap: (_namespace, name) => this.object('ConfigMap', name),
      pods: (_namespace, gateway) => labelled('Pod', gateway),
      leases: (_namespace, gateway) => labelled('Lease', gateway),
    };
  }

  #write(planned: PlannedWrite<Stored>): Promise<void> {
    this.#writes++;
    const name = planned.object.metadata!.name!;
    const live = this.object(planned.kind, name);
    if (planned.verb === 'create' && live !== undefined) {
      return Promise.reject(conflict(`${planned.kind} ${name} already exists`));
    }
    if (planned.verb !== 'create' && live?.metadata?.resourceVersion !== planned.object.metadata?.resourceVersion) {
      return Promise.reject(conflict(`${planned.kind} ${name} was modified`));
    }
    // Server-side apply, roughly: what the operator sends wins, maps others set are kept.
    const written = (planned.verb === 'apply' ? applyMergePatch(live, planned.object) : planned.object) as Stored;
    this.#edit(planned.kind, written);
    return Promise.resolve();
  }

  /** Stores `object` as anyone's write (a user's, the operator's), a new generation when its spec changed. */
  #edit(kind: WorldKind, object: Stored): void {
    const live = this.object(kind, object.metadata!.name!);
    const generation = (live?.metadata?.generation ?? 0) + (isSame(specOf(live), specOf(object)) ? 0 : 1);
    this.#put(kind, { ...object, metadata: { ...object.metadata, generation } });
  }

  /** Changes StatefulSet `name` as a user would (e.g. `kubectl rollout restart` or `kubectl set image`). */
  editStatefulSet(name: string, change: (set: V1StatefulSet) => V1StatefulSet): void {
    const live = this.#required<V1StatefulSet>('StatefulSet', name);
    this.#edit('StatefulSet', change(structuredClone(live)));
    this.#react();
  }

  /** Pod `name` gets a deletionTimestamp (as `kubectl delete pod`): not Ready, still running until {@link remove}. */
  terminate(name: string): void {
    const pod = this.#required<V1Pod>('Pod', name);
    const deletionTimestamp = new Date(this.#nowMs);
    const ready = { type: 'Ready', status: 'False', lastTransitionTime: deletionTimestamp };
    this.#put('Pod', { ...pod, metadata: { ...pod.metadata, deletionTimestamp }, status: { conditions: [ready] } });
  }

  /** Pod `name` is gone (its grace period ended); the StatefulSet recreates it at its update revision. */
  remove(name: string): void {
    this.#delete('Pod', name);
    this.#react();
  }

  #required<T extends KubernetesObject>(kind: WorldKind, name: string): T {
    const object = this.object<T>(kind, name);
    if (object === undefined) throw new Error(`no ${kind} ${name}`);
    return object;
  }

  #deletePod(name: string, uid: string): Promise<void> {
    this.#writes++;
    const live = this.object<V1Pod>('Pod', name);
    if (live === undefined) return Promise.reject(Object.assign(new Error(`pod ${name} not found`), { code: 404 }));
    if (live.metadata?.uid !== uid) return Promise.reject(conflict(`pod ${name}: uid ${uid} is not the live one`));
    this.deletedPods.push(name);
    this.#delete('Pod', name);
    return Promise.resolve();
  }

  #writeStatus(ref: { name: string; resourceVersion: string | undefined }, status: IMGatewayStatus): Promise<void> {
    this.#writes++;
    const live = this.gateway(ref.name);
    if (live === undefined || live.metadata.resourceVersion !== ref.resourceVersion) {
      return Promise.reject(conflict(`IMGateway ${ref.name} was modified`));
    }
    this.#put('IMGateway', { ...live, status });
    return Promise.resolve();
  }

  #record(target: EventTarget, event: Pick<CoreV1Event, 'type' | 'reason' | 'message'>): Promise<void> {
    const at = new Date(this.#nowMs);
    const involvedObject = { kind: target.kind, name: target.metadata?.name };
    this.#events.push({ ...event, metadata: {}, involvedObject, firstTimestamp: at, lastTimestamp: at, count: 1 });
    return Promise.resolve();
  }

  #replaceSpec(live: IMGateway, spec: Record<string, unknown>): void {
    if (isSame(live.spec, spec)) return;
    const generation = (live.metadata.generation ?? 0) + 1;
    this.#put('IMGateway', { ...live, spec, metadata: { ...live.metadata, generation } });
  }

  /** Stores a copy of `object` at the next resourceVersion, frozen: the reconciler must copy before it edits. */
  #put(kind: WorldKind, object: Stored): void {
    const name = object.metadata!.name!;
    const key = `${kind}/${name}`;
    const live = this.#objects.get(key);
    const metadata = {
      ...object.metadata,
      namespace: NAMESPACE,
      uid: live?.metadata?.uid ?? object.metadata?.uid ?? `uid-${kind.toLowerCase()}-${name}`,
      creationTimestamp: live?.metadata?.creationTimestamp ?? new Date(this.#nowMs),
      resourceVersion: String(++this.#resourceVersion),
    };
    const stored = deepFreeze(JSON.parse(JSON.stringify({ ...object, metadata })) as KubernetesObject);
    this.#objects.set(key, stored);
    if (kind === 'ConfigMap') recordRing(this.ringHistory, stored);
  }

  #delete(kind: WorldKind, name: string): void {
    if (this.#objects.delete(`${kind}/${name}`)) this.#resourceVersion++;
  }

  /** The rest of the cluster catches up with the store: pods follow StatefulSets, runtimes their rings. */
  #react(): void {
    for (const set of this.#all<V1StatefulSet>('StatefulSet')) this.#runPods(set);
    for (const gateway of this.#all<IMGateway>('IMGateway')) this.#runRuntimes(gateway.metadata.name!);
  }

  /** Objects of `kind`, in the order they were first stored. */
  #all<T extends KubernetesObject>(kind: WorldKind): T[] {
    return [...this.#objects.entries()].filter(([key]) => key.startsWith(`${kind}/`)).map(([, o]) => o as T);
  }

  /** The pods of StatefulSet `name` (`<name>-<ordinal>`), by ordinal. */
  #podsOf(name: string): Map<number, V1Pod> {
    const pods = new Map<number, V1Pod>();
    for (const pod of this.#all<V1Pod>('Pod')) {
      const ordinal = /^(.*)-(\d+)$/.exec(pod.metadata!.name!);
      if (ordinal?.[1] === name) pods.set(Number(ordinal[2]), pod);
    }
    return pods;
  }

  /** The StatefulSet controller and the kubelet: pods `<name>-<i>` for i below `spec.replicas`, Ready at once. */
  #runPods(set: V1StatefulSet): void {
    const name = set.metadata!.name!;
    const wanted = set.spec?.replicas ?? 0;
    const revision = `${name}-${templateHash(set.spec?.template ?? {})}`;
    const labels = { ...set.spec?.template?.metadata?.labels, [REVISION_LABEL]: revision };
    for (const [ordinal, pod] of this.#podsOf(name)) {
      if (ordinal < wanted) continue;
      this.#delete('Pod', pod.metadata!.name!);
      this.#delete('Lease', runtimeLeaseName(name, 'gateway', pod.metadata!.name!));
    }
    const running = this.#podsOf(name);
    for (let i = 0; i < wanted; i++) {
      if (running.has(i)) continue;
      const ready = { type: 'Ready', status: 'True', lastTransitionTime: new Date(this.#nowMs) };
      const container = { name: 'gateway', containerID: `local://${++this.#containers}` };
      const status = { conditions: [ready], containerStatuses: [container] };
      const metadata = { name: `${name}-${i}`, labels, uid: `uid-pod-${name}-${i}-${this.#containers}` };
      this.#put('Pod', { apiVersion: 'v1', kind: 'Pod', metadata, status });
    }
    const pods = [...this.#podsOf(name).values()];
    const status = {
      replicas: pods.length,
      readyReplicas: pods.filter(isReady).length,
      updatedReplicas: pods.filter((p) => p.metadata?.labels?.[REVISION_LABEL] === revision).length,
      observedGeneration: set.metadata?.generation,
      updateRevision: revision,
    };
    if (!isSame(set.status, status)) this.#put('StatefulSet', { ...set, status });
  }

  /** Each running gateway pod of `gateway`, and each of the other runtimes, serves the ring and renews its Lease. */
  #runRuntimes(gateway: string): void {
    const document = this.ring(gateway);
    const pods = [...this.#podsOf(gateway).values()].map((p): [RuntimeComponent, string] => [
      'gateway',
      p.metadata!.name!,
    ]);
    const others = this.#runtimes.map((c): [RuntimeComponent, string] => [c, `${gateway}-${c}`]);
    for (const [component, pod] of [...pods, ...others]) {
      if (!this.#frozen.has(pod)) this.#renewLease({ gateway, component, pod }, document);
    }
  }

  /** Writes the runtime's Lease, renewed now and reporting `document` unless it serves a newer one. */
  #renewLease(
    holder: { gateway: string; component: RuntimeComponent; pod: string },
    document: RingDocument | undefined,
  ): void {
    const { gateway, component, pod } = holder;
    const name = runtimeLeaseName(gateway, component, pod);
    const live = this.object<V1Lease>('Lease', name);
    const served = Number(live?.metadata?.annotations?.[Annotations.ringVersion] ?? 0);
    // A runtime refuses an older version than the one it serves (RING-SPEC section 4).
    const loads = document !== undefined && document.version >= served;
    const annotations = loads ? ringAnnotations(document, component) : (live?.metadata?.annotations ?? {});
    if (live !== undefined && this.#isCurrent(live, annotations)) return;
    this.#put('Lease', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, labels: { [Labels.gateway]: gateway, [Labels.component]: component }, annotations },
      spec: { holderIdentity: pod, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: new Date(this.#nowMs) },
    });
  }

  /** Whether `lease` was renewed now and reports `annotations`: writing it again would change nothing. */
  #isCurrent(lease: V1Lease, annotations: Record<string, string>): boolean {
    const renewedNow = new Date(lease.spec?.renewTime ?? 0).getTime() === this.#nowMs;
    return renewedNow && isSame(lease.metadata?.annotations, annotations);
  }

  #setReady(name: string, ready: boolean): void {
    const pod = this.#required<V1Pod>('Pod', name);
    const condition = { type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date(this.#nowMs) };
    this.#put('Pod', { ...pod, status: { ...pod.status, conditions: [condition] } });
    const set = this.object<V1StatefulSet>('StatefulSet', name.slice(0, name.lastIndexOf('-')));
    if (set !== undefined) this.#runPods(set);
  }
}
