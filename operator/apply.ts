/**
 * Plan and apply: compare each desired object with the cached one and write only what
 * differs, with optimistic concurrency (the cached resourceVersion; a 409 means the cache was
 * stale and the reconcile is requeued). Server-set defaults never count as a difference:
 * desired objects carry only the fields the operator manages.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { IMGATEWAY, type IMGatewayStatus } from './api.js';

/** The kinds the operator writes. */
export type OwnedKind = 'StatefulSet' | 'Service' | 'ConfigMap' | 'PodDisruptionBudget';

/** What applying one desired object did. */
export type ApplyResult = 'created' | 'updated' | 'unchanged';

/**
 * One write the plan calls for. `apply`: server-side apply of the fields the operator owns (field manager
 * {@link FIELD_MANAGER}, forced), guarded by the resourceVersion in the object; fields others set are kept.
 */
export interface PlannedWrite<T extends KubernetesObject> {
  readonly kind: OwnedKind;
  readonly verb: 'create' | 'update' | 'apply';
  readonly object: T;
}

/** The operator's field manager for server-side apply and creates. */
export const FIELD_MANAGER = 'imring-operator';

/** A pod to delete, only if it is still the one seen (its uid). */
export interface PodDeletion {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * True when every field of `desired` equals the field of `observed` (objects recursively;
 * arrays element by element with equal length; an empty desired object or array matches an
 * absent field). Pure.
 */
export function isSubset(desired: unknown, observed: unknown): boolean {
  if (Array.isArray(desired)) {
    if (desired.length === 0 && (observed === undefined || observed === null)) return true;
    return (
      Array.isArray(observed) && observed.length === desired.length && desired.every((d, i) => isSubset(d, observed[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    const entries = Object.entries(desired);
    if (entries.length === 0 && (observed === undefined || observed === null)) return true;
    if (observed === null || typeof observed !== 'object' || Array.isArray(observed)) return false;
    const other = observed as Record<string, unknown>;
    return entries.every(([k, v]) => v === undefined || isSubset(v, other[k]));
  }
  return isDeepStrictEqual(desired, observed);
}

/**
 * The write that makes `observed` match `desired`, or undefined when none is needed. Updates
 * start from a copy of the cached object (never the object itself) carrying its
 * resourceVersion, with the desired labels, owner references, annotations and body.
 */
export function planWrite<T extends KubernetesObject & { spec?: unknown; data?: unknown }>(
  kind: OwnedKind,
  desired: T,
  observed: T | undefined,
): PlannedWrite<T> | undefined {
  if (observed === undefined) return { kind, verb: 'create', object: desired };
  if (isUpToDate(kind, desired, observed)) return undefined;
  if (kind === 'StatefulSet') {
    // Server-side apply keeps what others set in the object (e.g. `kubectl rollout restart`'s template annotation).
    const metadata = { ...desired.metadata, resourceVersion: observed.metadata?.resourceVersion };
    return { kind, verb: 'apply', object: { ...desired, metadata } };
  }
  const copy = structuredClone(observed);
  const meta = copy.metadata ?? {};
  copy.metadata = {
    ...meta,
    labels: { ...meta.labels, ...desired.metadata?.labels },
    annotations: { ...meta.annotations, ...desired.metadata?.annotations },
    ownerReferences: desired.metadata?.ownerReferences,
  };
  if (kind === 'ConfigMap') copy.data = desired.data;
  else copy.spec = desired.spec;
  return { kind, verb: 'update', object: copy };
}

function isUpToDate<T extends KubernetesObject & { spec?: unknown; data?: unknown }>(
  kind: OwnedKind,
  desired: T,
  observed: T,
): boolean {
  const want = desired.metadata ?? {};
  const have = observed.metadata ?? {};
  const body =
    // ConfigMap data is compared exactly: a stray key in the ring ConfigMap is not ours to keep.
    kind === 'ConfigMap'
      ? isDeepStrictEqual(desired.data ?? {}, observed.data ?? {})
      : isSubset(desired.spec, observed.spec);
  return (
    body &&
    isSubset(want.labels ?? {}, have.labels ?? {}) &&
    isSubset(want.annotations ?? {}, have.annotations ?? {}) &&
    isSubset(want.ownerReferences ?? [], have.ownerReferences ?? [])
  );
}

/** Executes planned writes and status updates through client-node. */
export class Applier {
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #policy: PolicyV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #onWrite: (kind: string, verb: string) => void;

  /** `onWrite` is told of each write sent (metrics). */
  constructor(kc: KubeConfig, onWrite: (kind: string, verb: string) => void = () => undefined) {
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#policy = kc.makeApiClient(PolicyV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#onWrite = onWrite;
  }

  /** Sends one planned write. Errors (409 included) propagate: the caller requeues. */
  async write(planned: PlannedWrite<KubernetesObject>): Promise<void> {
    const namespace = planned.object.metadata!.namespace!;
    const name = planned.object.metadata!.name!;
    const body = planned.object as never;
    this.#onWrite(planned.kind, planned.verb);
    const create = planned.verb === 'create';
    switch (planned.kind) {
      case 'StatefulSet':
        await (create
          ? this.#apps.createNamespacedStatefulSet({ namespace, body, fieldManager: FIELD_MANAGER })
          : this.#apps.patchNamespacedStatefulSet(
              { namespace, name, body, fieldManager: FIELD_MANAGER, force: true },
              setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
            ));
        return;
      case 'Service':
        await (create
          ? this.#core.createNamespacedService({ namespace, body })
          : this.#core.replaceNamespacedService({ namespace, name, body }));
        return;
      case 'ConfigMap':
        await (create
          ? this.#core.createNamespacedConfigMap({ namespace, body })
          : this.#core.replaceNamespacedConfigMap({ namespace, name, body }));
        return;
      case 'PodDisruptionBudget':
        await (create
          ? this.#policy.createNamespacedPodDisruptionBudget({ namespace, body })
          : this.#policy.replaceNamespacedPodDisruptionBudget({ namespace, name, body }));
        return;
    }
  }

  /** Deletes a pod if its uid is still `uid` (a 409 otherwise, a 404 when gone: both propagate). */
  async deletePod(pod: PodDeletion): Promise<void> {
    this.#onWrite('Pod', 'delete');
    await this.#core.deleteNamespacedPod({
      namespace: pod.namespace,
      name: pod.name,
      body: { preconditions: { uid: pod.uid } },
    });
  }

  /** Replaces the status of the IMGateway, guarded by the resourceVersion it was computed from. */
  async writeStatus(
    gateway: { namespace: string; name: string; resourceVersion: string | undefined },
    status: IMGatewayStatus,
  ): Promise<void> {
    this.#onWrite('IMGateway', 'updateStatus');
    const body = {
      apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`,
      kind: IMGATEWAY.kind,
      metadata: { name: gateway.name, namespace: gateway.namespace, resourceVersion: gateway.resourceVersion },
      status,
    };
    await this.#custom.replaceNamespacedCustomObjectStatus({
      group: IMGATEWAY.group,
      version: IMGATEWAY.version,
      namespace: gateway.namespace,
      plural: IMGATEWAY.plural,
      name: gateway.name,
      body,
    });
  }
}
