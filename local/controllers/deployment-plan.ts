import type { V1Deployment, V1Pod, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { controllerRef, isControlledBy } from './owner-refs.js';
import { activePods } from './replicaset-plan.js';
import { isFinished, msUntilAvailable, templateHash } from './statefulset-pods.js';

/**
 * What the Deployment controller does next, pure, after kube-controller-manager's
 * `deployment/rolling.go`, `recreate.go`, `sync.go` and `util/deployment_util.go`: one step per
 * reconcile (the real controller returns after each scale), without proportional scaling of a
 * rollout in progress and without hash collisions.
 */

/** Label carrying the template hash on a Deployment's ReplicaSets, their selectors and pods. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
/** Annotation carrying a ReplicaSet's revision number. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
/** Annotation carrying the Deployment's replicas when the ReplicaSet was last scaled. */
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
/** Annotation carrying replicas + maxSurge when the ReplicaSet was last scaled. */
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';

/** Deployment annotations never copied to its ReplicaSets (annotationsToSkip). */
const SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  'deprecated.deployment.rollback.to',
]);

/** One ReplicaSet write. `scale` also sets the annotations (revision, desired and max replicas). */
export type DeploymentAction =
  | { readonly kind: 'create'; readonly rs: V1ReplicaSet }
  | {
      readonly kind: 'scale';
      readonly rs: V1ReplicaSet;
      readonly replicas: number;
      readonly annotations: Readonly<Record<string, string>>;
    }
  | { readonly kind: 'delete'; readonly rs: V1ReplicaSet };

/** The replica bounds of a rollout. */
export interface RolloutBounds {
  readonly replicas: number;
  /** Pods above `replicas` a RollingUpdate may run (0 under Recreate). */
  readonly maxSurge: number;
  /** Pods below `replicas` a RollingUpdate may leave unavailable (0 under Recreate). */
  readonly maxUnavailable: number;
}

/** What the planning functions work from. */
export interface DeploymentInput {
  readonly deployment: V1Deployment;
  /** The ReplicaSets the Deployment controls. */
  readonly replicaSets: readonly V1ReplicaSet[];
  /** The pods those ReplicaSets control. */
  readonly pods: readonly V1Pod[];
  /** Epoch milliseconds, for `minReadySeconds`. */
  readonly nowMs: number;
}

/**
 * maxSurge and maxUnavailable as pod counts (ResolveFenceposts): a percentage of `replicas`,
 * surge rounded up and unavailable rounded down; both 0 makes unavailable 1, so a rollout can
 * move.
 */
export function rolloutBounds(deployment: V1Deployment): RolloutBounds {
  const replicas = Math.max(0, deployment.spec?.replicas ?? 1);
  const rolling = deployment.spec?.strategy?.rollingUpdate;
  if (deployment.spec?.strategy?.type === 'Recreate') return { replicas, maxSurge: 0, maxUnavailable: 0 };
  const maxSurge = scaledValue(rolling?.maxSurge ?? '25%', replicas, true);
  let maxUnavailable = scaledValue(rolling?.maxUnavailable ?? '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { replicas, maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}

/** An IntOrString as a count: an integer as is, a percentage of `total` rounded up or down. */
export function scaledValue(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return Math.max(0, value);
  const percent = /^(\d+)%$/.exec(value);
  if (!percent) return Math.max(0, Number.parseInt(value, 10) || 0);
  const exact = (Number(percent[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** The template hash of a Deployment's current template: its new ReplicaSet is `<deployment>-<hash>`. */
export function deploymentHash(deployment: V1Deployment): string {
  return templateHash(deployment.spec?.template ?? {});
}

/** The ReplicaSet whose template is the Deployment's (the hash label aside), oldest first; and the others. */
export function splitReplicaSets(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): { newRS?: V1ReplicaSet; old: V1ReplicaSet[] } {
  const hash = deploymentHash(deployment);
  const sorted = [...replicaSets].sort(byCreation);
  const newRS = sorted.find((rs) => replicaSetTemplateHash(rs) === hash);
  return { ...(newRS ? { newRS } : {}), old: sorted.filter((rs) => rs !== newRS) };
}

/**
 * Hashes of ReplicaSet templates without the hash label, by template object: a reconcile runs on
 * every pod event and compares every ReplicaSet, and informer objects are replaced, never changed.
 */
const TEMPLATE_HASHES = new WeakMap<object, string>();

function replicaSetTemplateHash(rs: V1ReplicaSet): string {
  const template = rs.spec?.template;
  if (template === undefined) return templateHash(withoutHashLabel(template));
  let hash = TEMPLATE_HASHES.get(template);
  if (hash === undefined) {
    hash = templateHash(withoutHashLabel(template));
    TEMPLATE_HASHES.set(template, hash);
  }
  return hash;
}

/** The template of a ReplicaSet as its Deployment had it: without the hash label (what `rollout undo` writes back). */
export function withoutHashLabel(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy = structuredClone(template ?? {});
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  return copy;
}

/** A ReplicaSet's revision (its annotation), 0 when it has none. */
export function revisionOf(rs: V1ReplicaSet): number {
  const value = Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

/** The annotations the new ReplicaSet carries: the Deployment's own, the revision and the replica figures. */
export function newAnnotations(
  deployment: V1Deployment,
  revision: number,
  base: Record<string, string> = {},
): Record<string, string> {
  const out: Record<string, string> = { ...base };
  for (const [k, v] of Object.entries(deployment.metadata?.annotations ?? {}))
    if (!SKIPPED_ANNOTATIONS.has(k)) out[k] = v;
  out[REVISION_ANNOTATION] = String(revision);
  return { ...out, ...replicaAnnotations(deployment) };
}

/** The new ReplicaSet of a Deployment: `<deployment>-<hash>`, the hash label on its selector, template and pods. */
export function desiredReplicaSet(deployment: V1Deployment, revision: number, replicas: number): V1ReplicaSet {
  const hash = deploymentHash(deployment);
  const template = structuredClone(deployment.spec?.template ?? {});
  template.metadata = {
    ...template.metadata,
    labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
  };
  const selector = structuredClone(deployment.spec?.selector ?? {});
  selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${deployment.metadata?.name ?? ''}-${hash}`,
      namespace: deployment.metadata?.namespace,
      labels: { ...template.metadata.labels },
      annotations: newAnnotations(deployment, revision),
      ownerReferences: [controllerRef('Deployment', deployment.metadata)],
    },
    spec: { replicas, minReadySeconds: deployment.spec?.minReadySeconds ?? 0, selector, template },
  };
}

/**
 * The next step of a Deployment: a rollout step (RollingUpdate or Recreate), or, when paused,
 * only scaling and history; then the history beyond `revisionHistoryLimit` once nothing else
 * is to do. Empty when the Deployment is where its spec wants it.
 */
export function planDeployment(input: DeploymentInput): DeploymentAction[] {
  const { deployment } = input;
  const { newRS, old } = splitReplicaSets(deployment, input.replicaSets);
  const revision = Math.max(0, ...old.map(revisionOf)) + 1;
  const step: Step = { input, newRS, old, revision };
  let steps: DeploymentAction[];
  if (deployment.spec?.paused) steps = pausedSteps(step);
  else if (deployment.spec?.strategy?.type === 'Recreate') steps = recreateSteps(step);
  else steps = rollingSteps(step);
  if (steps.length > 0) return steps;
  if (newRS && !deployment.spec?.paused) {
    const annotations = newAnnotations(deployment, Math.max(revision, revisionOf(newRS)), newRS.metadata?.annotations);
    if (!sameRecord(annotations, newRS.metadata?.annotations)) return [scale(newRS, specOf(newRS), annotations)];
  }
  return historyToPrune(deployment, old).map((rs) => ({ kind: 'delete', rs }));
}

/** Old ReplicaSets scaled to 0 with no pods, oldest revision first, beyond `revisionHistoryLimit`. */
export function historyToPrune(deployment: V1Deployment, old: readonly V1ReplicaSet[]): V1ReplicaSet[] {
  const limit = Math.max(0, deployment.spec?.revisionHistoryLimit ?? 10);
  const cleanable = old
    .filter((rs) => specOf(rs) === 0 && !rs.metadata?.deletionTimestamp)
    .sort((a, b) => revisionOf(a) - revisionOf(b));
  return cleanable.slice(0, Math.max(0, cleanable.length - limit)).filter((rs) => (rs.status?.replicas ?? 0) === 0);
}

/** What a strategy's next step is planned from: the ReplicaSets split, and the revision a new one gets. */
interface Step {
  readonly input: DeploymentInput;
  readonly newRS: V1ReplicaSet | undefined;
  readonly old: V1ReplicaSet[];
  readonly revision: number;
}

function rollingSteps(step: Step): DeploymentAction[] {
  const { input, newRS, old, revision } = step;
  const { deployment } = input;
  const bounds = rolloutBounds(deployment);
  const counts = podCounts(input);
  const all = newRS ? [...old, newRS] : old;
  const total = all.reduce((sum, rs) => sum + counts.pods(rs), 0);
  const room = Math.max(0, bounds.replicas + bounds.maxSurge - total);
  if (!newRS) return [{ kind: 'create', rs: desiredReplicaSet(deployment, revision, Math.min(room, bounds.replicas)) }];
  const current = specOf(newRS);
  if (current > bounds.replicas) return [scale(newRS, bounds.replicas, replicaAnnotations(deployment))];
  const up = Math.min(room, bounds.replicas - current);
  if (up > 0) return [scale(newRS, current + up, replicaAnnotations(deployment))];
  return oldScaleDowns(deployment, { newRS, old, counts, total });
}

/** reconcileOldReplicaSets: unhealthy old pods first, then old ones while availability stays above the floor. */
function oldScaleDowns(
  deployment: V1Deployment,
  state: { newRS: V1ReplicaSet; old: V1ReplicaSet[]; counts: PodCounts; total: number },
): DeploymentAction[] {
  const { newRS, old, counts } = state;
  if (old.every((rs) => specOf(rs) === 0)) return [];
  const bounds = rolloutBounds(deployment);
  const minAvailable = bounds.replicas - bounds.maxUnavailable;
  const newUnavailable = specOf(newRS) - counts.available(newRS, specOf(newRS));
  let budget = state.total - minAvailable - newUnavailable;
  if (budget <= 0) return [];
  const targets = new Map(old.map((rs) => [rs, specOf(rs)]));
  for (const rs of old) {
    const unhealthy = targets.get(rs)! - counts.available(rs, targets.get(rs)!);
    const n = Math.min(budget, Math.max(0, unhealthy));
    targets.set(rs, targets.get(rs)! - n);
    budget -= n;
  }
  let available = counts.available(newRS, specOf(newRS));
  for (const rs of old) available += counts.available(rs, targets.get(rs)!);
  let excess = Math.max(0, available - minAvailable);
  for (const rs of old) {
    const n = Math.min(targets.get(rs)!, excess);
    targets.set(rs, targets.get(rs)! - n);
    excess -= n;
  }
  return old
    .filter((rs) => targets.get(rs) !== specOf(rs))
    .map((rs) => scale(rs, targets.get(rs)!, replicaAnnotations(deployment)));
}

function recreateSteps(step: Step): DeploymentAction[] {
  const { input, newRS, old, revision } = step;
  const { deployment } = input;
  const active = old.filter((rs) => specOf(rs) > 0);
  if (active.length > 0) return active.map((rs) => scale(rs, 0, replicaAnnotations(deployment)));
  // Recreate's promise: no old pod runs, or is still stopping, when a new one starts.
  const oldRunning = old.some(
    (rs) => (rs.status?.replicas ?? 0) > 0 || input.pods.some((p) => isControlledBy(p, rs) && !isFinished(p)),
  );
  if (oldRunning) return [];
  const { replicas } = rolloutBounds(deployment);
  if (!newRS) return [{ kind: 'create', rs: desiredReplicaSet(deployment, revision, replicas) }];
  return specOf(newRS) === replicas ? [] : [scale(newRS, replicas, replicaAnnotations(deployment))];
}

/** A paused Deployment only follows `spec.replicas`, on the one ReplicaSet that runs pods. */
function pausedSteps({ input, newRS, old }: Step): DeploymentAction[] {
  const active = [...old, ...(newRS ? [newRS] : [])].filter((rs) => specOf(rs) > 0);
  const target = active.length === 1 ? active[0] : active.length === 0 ? newRS : undefined;
  const { replicas } = rolloutBounds(input.deployment);
  if (target === undefined || specOf(target) === replicas) return [];
  return [scale(target, replicas, replicaAnnotations(input.deployment))];
}

/** Pod counts per ReplicaSet, from the pods themselves (fresher than ReplicaSet status). */
interface PodCounts {
  /** Pods the ReplicaSet runs or is about to: the larger of its spec and its active pods. */
  pods(rs: V1ReplicaSet): number;
  /** Available pods, at most `cap` (pods beyond the spec are about to go). */
  available(rs: V1ReplicaSet, cap: number): number;
}

function podCounts(input: DeploymentInput): PodCounts {
  const minReadySeconds = input.deployment.spec?.minReadySeconds ?? 0;
  const active = activePods(input.pods);
  const of = (rs: V1ReplicaSet): V1Pod[] => active.filter((p) => isControlledBy(p, rs));
  return {
    pods: (rs) => Math.max(specOf(rs), of(rs).length),
    available: (rs, cap) =>
      Math.min(cap, of(rs).filter((p) => msUntilAvailable(p, minReadySeconds, input.nowMs) === 0).length),
  };
}

function replicaAnnotations(deployment: V1Deployment): Record<string, string> {
  const { replicas, maxSurge } = rolloutBounds(deployment);
  return { [DESIRED_REPLICAS_ANNOTATION]: String(replicas), [MAX_REPLICAS_ANNOTATION]: String(replicas + maxSurge) };
}

function scale(rs: V1ReplicaSet, replicas: number, annotations: Record<string, string>): DeploymentAction {
  return { kind: 'scale', rs, replicas, annotations: { ...rs.metadata?.annotations, ...annotations } };
}

/** A ReplicaSet's `spec.replicas` (1 when unset, as the server defaults it). */
export function specOf(rs: V1ReplicaSet): number {
  return rs.spec?.replicas ?? 1;
}

function sameRecord(a: Record<string, string>, b: Record<string, string> | undefined): boolean {
  const other = b ?? {};
  return Object.keys(a).length === Object.keys(other).length && Object.entries(a).every(([k, v]) => other[k] === v);
}

function byCreation(a: V1ReplicaSet, b: V1ReplicaSet): number {
  const time = (rs: V1ReplicaSet): number => new Date(rs.metadata?.creationTimestamp ?? 0).getTime();
  return time(a) - time(b) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}
