import {
  ApiextensionsV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import { ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import {
  BUILTIN_RESOURCES,
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  apiVersionOf,
  customResourcesOf,
  dependentAction,
  groupOf,
  hasPendingFinalizer,
  isBlocking,
  isDeletingDependents,
  ownerStateOf,
  resourceKey,
  watchPath,
  withoutFinalizer,
  withoutOwners,
  type DependentAction,
  type OwnerState,
  type WatchedResource,
} from './garbage-collector-plan.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import { Lifecycle } from './lifecycle.js';
import { headerOf, metadataPatch } from './metadata-patch.js';
import { OwnerGraph } from './owner-graph.js';

/** Options of {@link GarbageCollector}. */
export interface GarbageCollectorOptions {
  readonly kc: KubeConfig;
  /** Told of each failed attempt (it is retried with backoff) and of watch errors. */
  readonly onError?: (error: unknown) => void;
  /**
   * Interval of full passes over every object with owners, in ms. Catches owners of kinds
   * the collector does not watch, whose deletion it is never told of. Default 60,000.
   */
  readonly resyncMs?: number;
}

const DEFAULTS = { resyncMs: 60_000 };

type ResolvedOptions = Required<Omit<GarbageCollectorOptions, 'onError'>> & Pick<GarbageCollectorOptions, 'onError'>;
/** Delay before retrying an object after a 409 (our cached copy was stale), in ms. */
const CONFLICT_RETRY_MS = 50;

/** One watched resource and its informer. */
interface Watch {
  readonly resource: WatchedResource;
  readonly informer: ResilientInformer<KubernetesObject>;
  readonly custom: boolean;
  /** Resolves once the informer's cache is loaded. */
  readonly started: Promise<void>;
}

/**
 * Deletes objects whose owners are gone, as kube-controller-manager's garbage collector does
 * (simplified): it watches the namespaced built-in resources and every custom resource, keeps
 * a graph of ownerReferences by uid, and
 * - deletes (background) an object whose every owner is gone (checked live before deleting);
 * - for an owner with the `foregroundDeletion` finalizer, deletes its dependents and removes
 *   the finalizer once no dependent with `blockOwnerDeletion` remains;
 * - for an owner with the `orphan` finalizer, removes the references to it from its
 *   dependents, then the finalizer.
 * A dependent with several owners lives while any of them does. Keys of the work queue are uids.
 */
export class GarbageCollector {
  readonly #options: ResolvedOptions;
  readonly #objects: KubernetesObjectApi;
  readonly #crds: ResilientInformer<V1CustomResourceDefinition>;
  readonly #watches = new Map<string, Watch>();
  readonly #graph = new OwnerGraph();
  readonly #queue: WorkQueue;
  /** uids seen before the first sync; handled once every cache is loaded. */
  readonly #pending = new Set<string>();
  #synced = false;
  #resync: NodeJS.Timeout | undefined;
  readonly #lifecycle = new Lifecycle('GarbageCollector', { start: () => this.#start(), close: () => this.#close() });

  constructor(options: GarbageCollectorOptions) {
    this.#options = resolveOptions(options);
    const { kc } = options;
    this.#objects = KubernetesObjectApi.makeApiClient(kc);
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    this.#crds = new ResilientInformer<V1CustomResourceDefinition>({
      kc,
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      list: () => extensions.listCustomResourceDefinition(),
      onError: (e) => {
        if (this.#lifecycle.isClosed) return;
        this.#report(new Error('while watching customresourcedefinitions', { cause: e }));
      },
    });
    for (const event of ['add', 'update', 'delete'] as const) this.#crds.on(event, () => this.#syncCustomResources());
    this.#queue = new WorkQueue((uid) => this.#reconcile(uid), {
      onError: (uid, e) => this.#report(new Error(`while collecting object ${uid}`, { cause: e })),
    });
  }

  /** Starts watching; resolves once every cache is loaded and the first pass is queued. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops watching and waits for the objects being handled. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    for (const resource of BUILTIN_RESOURCES) this.#watch(resource, { custom: false });
    await this.#crds.start();
    this.#syncCustomResources();
    // Custom resources whose CRDs came with the first list included.
    await Promise.all([...this.#watches.values()].map((w) => w.started));
    if (this.#lifecycle.isClosed) return;
    this.#synced = true;
    for (const uid of this.#pending) this.#queue.add(uid);
    this.#pending.clear();
    this.#resync = setInterval(() => this.#resyncAll(), this.#options.resyncMs);
    this.#resync.unref();
  }

  async #close(): Promise<void> {
    clearInterval(this.#resync);
    await this.#crds.close();
    await Promise.all([...this.#watches.values()].map((w) => w.informer.close()));
    await this.#queue.close();
  }

  /** Watches the custom resources of the current CRDs, and stops watching those gone. */
  #syncCustomResources(): void {
    if (this.#lifecycle.isClosed) return;
    const wanted = new Map(customResourcesOf(this.#crds.list()).map((r) => [resourceKey(r), r]));
    for (const [key, resource] of wanted) {
      if (!this.#watches.has(key)) this.#watch(resource, { custom: true });
    }
    for (const [key, watch] of this.#watches) {
      if (watch.custom && !wanted.has(key)) this.#unwatch(key, watch).catch((e: unknown) => this.#report(e));
    }
  }

  #watch(resource: WatchedResource, kind: { custom: boolean }): void {
    const key = resourceKey(resource);
    const informer = new ResilientInformer<KubernetesObject>({
      kc: this.#options.kc,
      path: watchPath(resource),
      list: () => this.#objects.list(apiVersionOf(resource), resource.kind),
      onError: (e) => {
        // Closing a watch aborts its request: not an error once we stopped it.
        if (this.#watches.get(key)?.informer !== informer || this.#lifecycle.isClosed) return;
        this.#report(new Error(`while watching ${watchPath(resource)}`, { cause: e }));
      },
    });
    informer.on('add', (o) => this.#observe(key, o));
    informer.on('update', (o) => this.#observe(key, o));
    informer.on('delete', (o) => this.#forget(o.metadata?.uid));
    this.#watches.set(key, { resource, informer, custom: kind.custom, started: informer.start() });
  }

  /** Stops watching a resource whose CRD went away: its objects are gone with it. */
  async #unwatch(key: string, watch: Watch): Promise<void> {
    this.#watches.delete(key);
    // Taken now: a CRD created again under the same key starts a new watch meanwhile.
    const gone = this.#graph.uidsOf(key);
    await watch.informer.close();
    for (const uid of gone) this.#forget(uid);
  }

  #observe(key: string, object: KubernetesObject): void {
    const meta = object.metadata;
    if (!meta?.uid || !meta.name) return;
    const uid = meta.uid;
    const owners = (meta.ownerReferences ?? []).map((r) => r.uid);
    const previous = this.#graph.set(uid, { key, name: meta.name, namespace: meta.namespace, owners });
    if (owners.length > 0 || hasPendingFinalizer(object, ORPHAN_FINALIZER) || isDeletingDependents(object))
      this.#enqueue(uid);
    // A changed dependent may unblock an owner waiting for it.
    for (const owner of new Set([...previous, ...owners])) if (this.#isWaitingOwner(owner)) this.#enqueue(owner);
  }

  #forget(uid: string | undefined): void {
    if (!uid) return;
    const node = this.#graph.delete(uid);
    for (const dependent of this.#graph.dependentsOf(uid)) this.#enqueue(dependent);
    for (const owner of node?.owners ?? []) if (this.#graph.has(owner)) this.#enqueue(owner);
  }

  #isWaitingOwner(uid: string): boolean {
    const object = this.#current(uid);
    return object !== undefined && (isDeletingDependents(object) || hasPendingFinalizer(object, ORPHAN_FINALIZER));
  }

  #enqueue(uid: string): void {
    if (this.#synced) this.#queue.add(uid);
    else this.#pending.add(uid);
  }

  #resyncAll(): void {
    for (const uid of this.#graph.owned()) this.#queue.add(uid);
  }

  /** The cached object with `uid`, if any. */
  #current(uid: string): KubernetesObject | undefined {
    const node = this.#graph.get(uid);
    const watch = node && this.#watches.get(node.key);
    const object = watch?.informer.get(node!.name, node!.namespace);
    return object?.metadata?.uid === uid ? object : undefined;
  }

  async #reconcile(uid: string): Promise<void> {
    const object = this.#current(uid);
    const resource = this.#watches.get(this.#graph.get(uid)?.key ?? '')?.resource;
    if (!object || !resource) return;
    if (hasPendingFinalizer(object, ORPHAN_FINALIZER)) return this.#orphanDependents(uid, resource, object);
    if (isDeletingDependents(object)) return this.#deleteDependents(uid, resource, object);
    // Already going: its own deletion (and its finalizers) take it from here.
    if (object.metadata?.deletionTimestamp) return;
    const refs = object.metadata?.ownerReferences ?? [];
    if (refs.length === 0) return;
    const states = await Promise.all(refs.map((ref) => this.#ownerState(ref, object.metadata?.namespace)));
    const action = dependentAction(refs, states, this.#graph.dependentsOf(uid).size > 0);
    await this.#apply(uid, { resource, object }, action);
  }

  async #apply(
    uid: string,
    target: { resource: WatchedResource; object: KubernetesObject },
    action: DependentAction,
  ): Promise<void> {
    if (action.type === 'none') return;
    if (action.type === 'delete') {
      const header = headerOf(target.resource, target.object);
      const body = { propagationPolicy: action.propagationPolicy, preconditions: { uid } };
      await this.#tolerate(
        uid,
        this.#objects.delete(header, undefined, undefined, undefined, undefined, action.propagationPolicy, body),
      );
      return;
    }
    const patch = metadataPatch(target.resource, target.object, {
      ownerReferences: withoutOwners(target.object, action.uids),
    });
    await this.#tolerate(uid, this.#mergePatch(patch));
  }

  /** Foreground deletion: dependents go first; the finalizer goes when none blocks any more. */
  async #deleteDependents(uid: string, resource: WatchedResource, owner: KubernetesObject): Promise<void> {
    const dependents = this.#cachedDependents(uid);
    // Each dependent sees this owner waiting, and deletes itself (or drops the reference).
    for (const dependent of dependents) this.#queue.add(dependent.metadata!.uid!);
    if (dependents.some((d) => isBlocking(d, uid))) return;
    await this.#removeFinalizer(uid, resource, owner, FOREGROUND_FINALIZER);
  }

  /** Orphan deletion: the references to the owner are removed from its dependents, then the finalizer. */
  async #orphanDependents(uid: string, resource: WatchedResource, owner: KubernetesObject): Promise<void> {
    for (const dependent of this.#cachedDependents(uid)) {
      const node = this.#graph.get(dependent.metadata!.uid!);
      const watch = node && this.#watches.get(node.key);
      if (!watch) continue;
      const patch = metadataPatch(watch.resource, dependent, { ownerReferences: withoutOwners(dependent, [uid]) });
      // A conflict fails the pass: the owner is retried, and must not lose its finalizer first.
      await this.#mergePatch(patch).catch(ignoreNotFound);
    }
    await this.#removeFinalizer(uid, resource, owner, ORPHAN_FINALIZER);
  }

  #cachedDependents(uid: string): KubernetesObject[] {
    return [...this.#graph.dependentsOf(uid)].map((d) => this.#current(d)).filter((d) => d !== undefined);
  }

  async #removeFinalizer(
    uid: string,
    resource: WatchedResource,
    owner: KubernetesObject,
    finalizer: string,
  ): Promise<void> {
    const patch = metadataPatch(resource, owner, { finalizers: withoutFinalizer(owner, finalizer) });
    await this.#tolerate(uid, this.#mergePatch(patch));
  }

  #mergePatch(patch: KubernetesObject): Promise<KubernetesObject> {
    return this.#objects.patch(patch, undefined, undefined, undefined, undefined, PatchStrategy.MergePatch);
  }

  /**
   * The state of the owner `ref` names: from the cache when it holds that uid, else from a
   * live read, so nothing is deleted because a cache is behind (the real collector does the same).
   */
  async #ownerState(ref: V1OwnerReference, namespace: string | undefined): Promise<OwnerState> {
    const watch = this.#watchOfKind(groupOf(ref.apiVersion), ref.kind);
    if (watch) {
      const cached = watch.informer.get(ref.name, watch.resource.namespaced ? namespace : undefined);
      if (cached?.metadata?.uid === ref.uid) return ownerStateOf(ref, cached);
    }
    try {
      const live = await this.#objects.read({
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: ref.name, ...(namespace ? { namespace } : {}) },
      });
      return ownerStateOf(ref, live);
    } catch (error) {
      if (apiStatusCode(error) === 404) return 'dangling';
      throw new Error(`while looking up owner ${ref.kind} ${namespace ? `${namespace}/` : ''}${ref.name}`, {
        cause: error,
      });
    }
  }

  #watchOfKind(group: string, kind: string): Watch | undefined {
    for (const watch of this.#watches.values())
      if (watch.resource.group === group && watch.resource.kind === kind) return watch;
    return undefined;
  }

  /** Not found = done; conflict = our copy was stale, retry shortly once the cache catches up. */
  async #tolerate(uid: string, write: Promise<unknown>): Promise<void> {
    try {
      await write;
    } catch (error) {
      const code = apiStatusCode(error);
      if (code === 404) return;
      if (code === 409) return this.#queue.add(uid, CONFLICT_RETRY_MS);
      throw error;
    }
  }

  #report(error: unknown): void {
    this.#options.onError?.(error);
  }
}

function resolveOptions(options: GarbageCollectorOptions): ResolvedOptions {
  const resolved = { ...DEFAULTS, ...options };
  if (!Number.isFinite(resolved.resyncMs) || resolved.resyncMs <= 0)
    throw new RangeError(`resyncMs must be a positive number of ms, got ${resolved.resyncMs}`);
  return resolved;
}

function ignoreNotFound(error: unknown): undefined {
  if (apiStatusCode(error) === 404) return undefined;
  throw error;
}
