import type { V1Pod, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { controllerKeyOf, controllerRef, isControlledBy } from './owner-refs.js';

/**
 * Pod identity for the StatefulSet controller, pure: revision hashes, the pod of an ordinal,
 * ordinals of pod names, and the pod predicates of kube-controller-manager's
 * `stateful_set_utils.go`. Works on typed client-node objects and raw watch JSON alike.
 */

/** Label of a pod's StatefulSet revision (`<set>-<hash>`), as the real controller sets it. */
export const REVISION_LABEL = 'controller-revision-hash';
/** Label carrying the pod's own name, so a Service can select one member. */
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** Label carrying the pod's ordinal (Kubernetes ≥ 1.28). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** A revision of a StatefulSet: its name (`<set>-<hash>`) and the pod template it stands for. */
export interface Revision {
  readonly name: string;
  readonly template: V1PodTemplateSpec;
}

/** The revision of `set`'s current `spec.template`. */
export function updateRevisionOf(set: V1StatefulSet): Revision {
  const template = set.spec?.template ?? {};
  return { name: `${set.metadata?.name ?? ''}-${templateHash(template)}`, template };
}

/**
 * A short, stable hash of a pod template: FNV-1a (32 bit) of its canonical JSON, its decimal
 * digits spelled in the vowel-free alphabet of apimachinery's `rand.SafeEncodeString`, as
 * the real `controller.ComputeHash` does (so the value never forms words and is label-safe).
 */
export function templateHash(template: V1PodTemplateSpec): string {
  const digits = String(fnv1a32(canonicalJson(template)));
  return [...digits].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** The ordinal of `podName` in set `setName` (`web-3` → 3), or undefined if not a member name. */
export function ordinalOf(podName: string, setName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

/**
 * The pod of `ordinal` for `set` at `revision`: template labels and annotations plus the
 * identity labels, hostname and subdomain for the governing Service's DNS, and a controller
 * owner reference that blocks the set's foreground deletion until the pod is gone.
 */
export function desiredPod(set: V1StatefulSet, ordinal: number, revision: Revision): V1Pod {
  const setName = set.metadata?.name ?? '';
  const name = `${setName}-${ordinal}`;
  const template = structuredClone(revision.template);
  const meta = template.metadata ?? {};
  const spec = template.spec ?? { containers: [] };
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  else delete spec.subdomain;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata?.namespace,
      labels: {
        ...meta.labels,
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
        [REVISION_LABEL]: revision.name,
      },
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ...(meta.finalizers?.length ? { finalizers: [...meta.finalizers] } : {}),
      ownerReferences: [controllerRef('StatefulSet', set.metadata)],
    },
    spec,
  };
}

/** Whether `pod`'s controller is `set` (matched by uid, as the real controller does). */
export function isOwnedBy(pod: V1Pod, set: V1StatefulSet): boolean {
  return isControlledBy(pod, set);
}

/** The `namespace/name` of the StatefulSet controlling `pod`, if any. */
export function ownerKeyOf(pod: V1Pod): string | undefined {
  return controllerKeyOf(pod, 'StatefulSet');
}

/** The revision name a pod was made from. */
export function revisionOfPod(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.[REVISION_LABEL];
}

/** Being deleted: a deletionTimestamp is set, and the pod is waited for, never replaced. */
export function isTerminating(pod: V1Pod): boolean {
  return Boolean(pod.metadata?.deletionTimestamp);
}

/** Finished for good (Failed or Succeeded): the controller deletes it to recreate it. */
export function isFinished(pod: V1Pod): boolean {
  return pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
}

/** Phase Running and condition Ready True. */
export function isRunningAndReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && readyCondition(pod)?.status === 'True';
}

/** Running, Ready and not terminating: what OrderedReady waits for. */
export function isHealthy(pod: V1Pod): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/**
 * Milliseconds until `pod` has been Ready for `minReadySeconds` (0 when it has, or when
 * `minReadySeconds` is 0), or undefined when it is not Ready at all.
 * @param nowMs the current time, epoch milliseconds.
 */
export function msUntilAvailable(pod: V1Pod, minReadySeconds: number, nowMs: number): number | undefined {
  if (!isRunningAndReady(pod)) return undefined;
  if (minReadySeconds <= 0) return 0;
  const since = readyCondition(pod)?.lastTransitionTime;
  // A Ready condition without a transition time cannot be aged: count it available, as the
  // real podutil.IsPodAvailable does for a zero time.
  if (since === undefined) return 0;
  const sinceMs = new Date(since).getTime();
  if (Number.isNaN(sinceMs)) return 0;
  return Math.max(0, sinceMs + minReadySeconds * 1000 - nowMs);
}

function readyCondition(pod: V1Pod): { status: string; lastTransitionTime?: Date | string } | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * JSON with sorted keys, without null or undefined members, and timestamps to the second: an
 * informer caches typed objects (Dates) from lists and raw JSON (strings) from watches, and
 * the same template must hash the same either way.
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value));
}

function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined && member !== null) out[key] = canonical(member);
  }
  return out;
}
