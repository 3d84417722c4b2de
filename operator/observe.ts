/**
 * Reads one IMGateway's world from the informer caches and turns it into the protocol's
 * views. Pure functions of cached objects (which are never mutated) and the clock.
 */
import type {
  V1ConfigMap,
  V1Lease,
  V1Pod,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
} from '@kubernetes/client-node';
import {
  buildRingDocument,
  judgeRingDocument,
  Labels,
  parseLeaseAnnotations,
  RING_DATA_KEY,
  type RingDocument,
  type RingMember,
  type RuntimeComponent,
  type TrustedRing,
} from '../ring/index.js';
import type { IMGateway, RingStatus } from './api.js';
import type { Owner } from './desired.js';
import { canonicalMember, ordinalOf, TRANSITION_TIME_ANNOTATION } from './names.js';
import { ringPolicyOf, type ResolvedSpec } from './spec.js';
import type { LeaseView, PodView, RingView } from './transition-types.js';

/** The objects of one IMGateway, from the caches. */
export interface Observed {
  readonly gateway: IMGateway;
  readonly statefulSet: V1StatefulSet | undefined;
  readonly service: V1Service | undefined;
  readonly podDisruptionBudget: V1PodDisruptionBudget | undefined;
  readonly configMap: V1ConfigMap | undefined;
  readonly pods: readonly V1Pod[];
  readonly leases: readonly V1Lease[];
}

/** Milliseconds since the epoch of an API timestamp (client-node gives Dates from lists, strings from watches). */
export function timeOf(value: Date | string | undefined | null): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/** The pod label holding a StatefulSet pod's revision (`status.updateRevision` names the one pods should run). */
export const REVISION_LABEL = 'controller-revision-hash';

/** Gateway pods of `owner` by ordinal; terminating pods are not Ready. */
export function podViews(owner: Owner, pods: readonly V1Pod[]): PodView[] {
  const views: PodView[] = [];
  for (const pod of pods) {
    const ordinal = ordinalOf(owner, pod.metadata?.name ?? '');
    if (ordinal === undefined) continue;
    const condition = pod.status?.conditions?.find((c) => c.type === 'Ready');
    const ready = condition?.status === 'True' && !pod.metadata?.deletionTimestamp;
    const sinceMs = timeOf(condition?.lastTransitionTime) ?? timeOf(pod.metadata?.creationTimestamp) ?? 0;
    views.push({ ordinal, ready, sinceMs, ...identityOf(pod) });
  }
  return views;
}

/** A pod's uid, revision and whether it is being deleted, each when known. */
function identityOf(pod: V1Pod): Pick<PodView, 'uid' | 'revision' | 'terminating'> {
  const metadata = pod.metadata ?? {};
  const revision = metadata.labels?.[REVISION_LABEL];
  return {
    ...(metadata.uid !== undefined ? { uid: metadata.uid } : {}),
    ...(revision !== undefined ? { revision } : {}),
    ...(metadata.deletionTimestamp ? { terminating: true } : {}),
  };
}

/** The runtimes' Leases of `owner`: live when renewed within their duration. */
export function leaseViews(owner: Owner, leases: readonly V1Lease[], nowMs: number): LeaseView[] {
  return leases.map((lease) => leaseView(owner, lease, nowMs)).filter((v): v is LeaseView => v !== undefined);
}

function leaseView(owner: Owner, lease: V1Lease, nowMs: number): LeaseView | undefined {
  const labels = lease.metadata?.labels ?? {};
  const component = labels[Labels.component];
  if (labels[Labels.gateway] !== owner.name || !isComponent(component)) return undefined;
  return {
    component,
    pod: lease.spec?.holderIdentity ?? podOfLease(owner, component, lease.metadata?.name ?? ''),
    live: isLive(lease, nowMs),
    expiresAtMs: expiryOf(lease),
    ...reported(lease.metadata?.annotations ?? {}),
  };
}

/** What a runtime reports in its Lease's annotations (DESIGN.md section 6); counts not reported are 0. */
function reported(
  annotations: Readonly<Record<string, string>>,
): Pick<LeaseView, 'version' | 'state' | 'connections' | 'misplaced' | 'ringError' | 'draining'> {
  const { version, state, connections = 0, misplaced = 0, ringError, draining } = parseLeaseAnnotations(annotations);
  return {
    version,
    state,
    connections,
    misplaced,
    ...(ringError !== undefined ? { ringError } : {}),
    ...(draining === true ? { draining } : {}),
  };
}

/** Renewed within its duration, and not being deleted. */
function isLive(lease: V1Lease, nowMs: number): boolean {
  return !lease.metadata?.deletionTimestamp && expiryOf(lease) > nowMs;
}

/** Its last renewal (or acquisition) plus its duration, ms since the epoch. */
export function expiryOf(lease: V1Lease): number {
  const spec = lease.spec ?? {};
  const renewed = timeOf(spec.renewTime) ?? timeOf(spec.acquireTime) ?? 0;
  return renewed + (spec.leaseDurationSeconds ?? 0) * 1000;
}

function isComponent(value: string | undefined): value is RuntimeComponent {
  return value === 'gateway' || value === 'proxy' || value === 'push';
}

/** `component/pod: error` for each live Lease that reports a refused ring document. */
export function ringErrorsOf(leases: readonly LeaseView[]): string[] {
  return leases
    .filter((l) => l.live && l.ringError !== undefined)
    .map((l) => `${l.component}/${l.pod}: ${l.ringError}`)
    .sort();
}

function podOfLease(owner: Owner, component: string, name: string): string {
  const prefix = `${owner.name}-${component}-`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/**
 * The StatefulSet's update revision once its status describes its current generation; undefined
 * before (a template just changed, e.g. `kubectl set image` about to be reverted, has no revision yet).
 */
export function updateRevisionOf(set: V1StatefulSet | undefined): string | undefined {
  const generation = set?.metadata?.generation;
  if (generation === undefined || set?.status?.observedGeneration !== generation) return undefined;
  return set.status.updateRevision || undefined;
}

/** Where the published ring comes from, and why it was not taken from the ConfigMap. */
export interface CurrentRing {
  readonly ring: RingView | undefined;
  /** Set when the ConfigMap's document was refused: it is rewritten from the status. */
  readonly refused: string | undefined;
}

/**
 * The ring the protocol continues from. The ConfigMap is the source of truth while it holds a
 * valid document of this IMGateway that is newer than what the status records, or the same;
 * otherwise (edited by hand, corrupt, deleted) the document is rebuilt from `status.ring`,
 * which the operator writes after every ring write, and published again.
 */
export function currentRing(init: {
  owner: Owner;
  spec: ResolvedSpec;
  clusterDomain: string;
  configMap: V1ConfigMap | undefined;
  status: RingStatus | undefined;
  nowMs: number;
}): CurrentRing {
  const { configMap, status } = init;
  let refused: string | undefined;
  if (configMap !== undefined) {
    const judged = judgeConfigMap(configMap, init.owner, status);
    if (judged.document !== undefined) {
      const at =
        timeOf(configMap.metadata?.annotations?.[TRANSITION_TIME_ANNOTATION]) ??
        timeOf(status?.lastTransitionTime) ??
        init.nowMs;
      return { ring: { document: judged.document, transitionAtMs: at }, refused: undefined };
    }
    refused = judged.refused;
  } else if (status?.version !== undefined) {
    refused = 'the ConfigMap is missing';
  }
  const restored = status ? ringFromStatus(init, status) : undefined;
  return {
    ring: restored
      ? { document: restored, transitionAtMs: timeOf(status?.lastTransitionTime) ?? init.nowMs }
      : undefined,
    refused,
  };
}

/**
 * The ConfigMap's document if {@link judgeRingDocument} finds it ours and not behind what the
 * status records (newer, or identical); else why not.
 */
function judgeConfigMap(
  configMap: V1ConfigMap,
  owner: Owner,
  status: RingStatus | undefined,
): { document?: RingDocument; refused?: string } {
  const trusted = recordedRing(status);
  // Every Lease renewal brings a reconcile; parsing and checksumming the document (O(members)) each
  // time made a steady ring cost O(N) per event. The informer hands the same object until the
  // ConfigMap changes, so the judgement is kept per object and per recorded ring.
  const key = JSON.stringify([owner.namespace, owner.name, owner.uid, trusted ?? null]);
  const kept = JUDGED.get(configMap);
  if (kept?.key === key) return kept.result;
  const text = configMap.data?.[RING_DATA_KEY];
  const judged = judgeRingDocument({ text, gateway: owner, trusted, trustedAs: 'recorded' });
  const result =
    judged.verdict === 'newer' || judged.verdict === 'identical'
      ? { document: judged.document }
      : { refused: `${judged.error.code}: ${judged.error.message}` };
  JUDGED.set(configMap, { key, result });
  return result;
}

/** The last judgement of each ConfigMap object (objects from an informer cache are never mutated). */
const JUDGED = new WeakMap<V1ConfigMap, { key: string; result: { document?: RingDocument; refused?: string } }>();

/** What the status records of the published ring: its version, state and checksum. */
function recordedRing(status: RingStatus | undefined): TrustedRing | undefined {
  if (status?.version === undefined) return undefined;
  const { version, state, checksum } = status;
  return { version, ...(state !== undefined ? { state } : {}), ...(checksum !== undefined ? { checksum } : {}) };
}

function ringFromStatus(
  init: { owner: Owner; spec: ResolvedSpec; clusterDomain: string },
  status: RingStatus,
): RingDocument | undefined {
  if (status.version === undefined || status.state === undefined || status.members === undefined) return undefined;
  const members = (names: readonly string[]): RingMember[] | undefined => {
    const ordinals = names.map((n) => ordinalOf(init.owner, n));
    if (ordinals.some((o) => o === undefined)) return undefined;
    return ordinals.map((o) =>
      canonicalMember(init.owner, o!, { ports: init.spec.ports, clusterDomain: init.clusterDomain }),
    );
  };
  const current = members(status.members);
  const previous = status.previous ? members(status.previous.members) : null;
  if (current === undefined || previous === undefined) return undefined;
  try {
    return buildRingDocument({
      gateway: { namespace: init.owner.namespace, name: init.owner.name, uid: init.owner.uid },
      version: status.version,
      state: status.state,
      // The published table, not the spec's: the spec may have been edited since (see RingStatus.tableSize).
      tableSize: status.tableSize ?? init.spec.ring.tableSize,
      members: current,
      previous: previous && status.previous ? { version: status.previous.version, members: previous } : null,
      policy: ringPolicyOf(init.spec),
    });
  } catch {
    return undefined; // a status that cannot make a valid document: start over from the pods
  }
}
