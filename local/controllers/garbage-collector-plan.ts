import type { KubernetesObject, V1CustomResourceDefinition, V1OwnerReference } from '@kubernetes/client-node';

/**
 * The pure decisions of the garbage collector (garbage-collector.ts does the I/O): which
 * resources to watch, and what to do with a dependent or a deleting owner given what is known
 * of its owners. Modelled on kube-controller-manager's garbagecollector, simplified.
 */

/** The finalizer the API server puts on an owner deleted with `propagationPolicy: Foreground`. */
export const FOREGROUND_FINALIZER = 'foregroundDeletion';
/** The finalizer the API server puts on an owner deleted with `propagationPolicy: Orphan`. */
export const ORPHAN_FINALIZER = 'orphan';

/** One resource the collector watches (its storage version, for custom resources). */
export interface WatchedResource {
  /** API group, `''` for core. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

/** The namespaced built-in resources the local API server serves (DESIGN.md section 9). */
export const BUILTIN_RESOURCES: readonly WatchedResource[] = [
  { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  { group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions', namespaced: true },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true },
  { group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice', plural: 'endpointslices', namespaced: true },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
];

/** `group/version`, or `version` for core: the apiVersion of a resource. */
export function apiVersionOf(resource: WatchedResource): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** The collection path of a resource across namespaces, e.g. `/apis/apps/v1/statefulsets`. */
export function watchPath(resource: WatchedResource): string {
  return resource.group === ''
    ? `/api/${resource.version}/${resource.plural}`
    : `/apis/${resource.group}/${resource.version}/${resource.plural}`;
}

/** A stable key for a resource: `group/version/plural`. */
export function resourceKey(resource: WatchedResource): string {
  return `${resource.group}/${resource.version}/${resource.plural}`;
}

/** The group of an apiVersion (`apps/v1` → `apps`, `v1` → `''`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * The custom resources to watch: the served storage version of each Established CRD.
 * A CRD not yet established has no endpoint to watch; one being deleted is dropped at once.
 */
export function customResourcesOf(crds: readonly V1CustomResourceDefinition[]): WatchedResource[] {
  const resources: WatchedResource[] = [];
  for (const crd of crds) {
    if (crd.metadata?.deletionTimestamp || !isEstablished(crd)) continue;
    const storage = crd.spec.versions.find((v) => v.storage && v.served);
    if (!storage) continue;
    resources.push({
      group: crd.spec.group,
      version: storage.name,
      kind: crd.spec.names.kind,
      plural: crd.spec.names.plural,
      namespaced: crd.spec.scope === 'Namespaced',
    });
  }
  return resources;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/** What is known of one owner, looked up by the reference's kind, name and uid. */
export type OwnerState =
  /** Exists with the referenced uid and is not waiting for its dependents. */
  | 'solid'
  /** Gone, or replaced by an object with another uid. */
  | 'dangling'
  /** Being deleted in the foreground: its dependents must go first. */
  | 'waiting';

/** The state of an owner as found (or not) under the reference's name. */
export function ownerStateOf(ref: V1OwnerReference, found: KubernetesObject | undefined): OwnerState {
  if (!found || found.metadata?.uid !== ref.uid) return 'dangling';
  return isDeletingDependents(found) ? 'waiting' : 'solid';
}

/** What to do with a dependent. */
export type DependentAction =
  | { readonly type: 'none' }
  | { readonly type: 'delete'; readonly propagationPolicy: 'Background' | 'Foreground' }
  /** It keeps a live owner: drop only the references to the gone or foreground-deleting ones. */
  | { readonly type: 'removeOwnerReferences'; readonly uids: readonly string[] };

/**
 * The decision for a dependent whose owners are in `states` (same order as its references):
 * it survives while any owner is solid; otherwise it is deleted, in the foreground when an
 * owner waits for it and it has dependents of its own (so the wait covers the whole subtree).
 */
export function dependentAction(
  refs: readonly V1OwnerReference[],
  states: readonly OwnerState[],
  hasDependents: boolean,
): DependentAction {
  if (refs.length === 0) return { type: 'none' };
  const solid = states.some((s) => s === 'solid');
  if (solid) {
    const uids = refs.filter((_, i) => states[i] !== 'solid').map((r) => r.uid);
    return uids.length === 0 ? { type: 'none' } : { type: 'removeOwnerReferences', uids };
  }
  const waiting = states.some((s) => s === 'waiting');
  return { type: 'delete', propagationPolicy: waiting && hasDependents ? 'Foreground' : 'Background' };
}

/** The owner references of `object` without those to `uids` (a new array; the object is untouched). */
export function withoutOwners(object: KubernetesObject, uids: readonly string[]): V1OwnerReference[] {
  const drop = new Set(uids);
  return (object.metadata?.ownerReferences ?? []).filter((r) => !drop.has(r.uid));
}

/** The finalizers of `object` without `finalizer` (a new array). */
export function withoutFinalizer(object: KubernetesObject, finalizer: string): string[] {
  return (object.metadata?.finalizers ?? []).filter((f) => f !== finalizer);
}

/** Whether `object` is being deleted and still has `finalizer`. */
export function hasPendingFinalizer(object: KubernetesObject, finalizer: string): boolean {
  return Boolean(object.metadata?.deletionTimestamp) && (object.metadata?.finalizers ?? []).includes(finalizer);
}

/** Whether `object` is being deleted in the foreground (waits for its dependents). */
export function isDeletingDependents(object: KubernetesObject): boolean {
  return hasPendingFinalizer(object, FOREGROUND_FINALIZER);
}

/**
 * Whether a dependent still blocks the foreground deletion of `ownerUid`: it refers to the
 * owner with `blockOwnerDeletion: true`. Dependents without it are deleted but not waited for.
 */
export function isBlocking(dependent: KubernetesObject, ownerUid: string): boolean {
  return (dependent.metadata?.ownerReferences ?? []).some((r) => r.uid === ownerUid && r.blockOwnerDeletion === true);
}
