import type { V1ControllerRevision, V1Pod, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { controllerRef } from './owner-refs.js';
import { REVISION_LABEL, revisionOfPod, type Revision } from './statefulset-pods.js';

/**
 * A StatefulSet's ControllerRevisions, pure, after kube-controller-manager's
 * `stateful_set_utils.go` (`newRevision`, `getPatch`) and `stateful_set_control.go`
 * (`getStatefulSetRevisions`, `truncateHistory`): one per template, `<set>-<hash>`, whose
 * `data` is the patch that puts the template back, as `kubectl rollout history|undo` read it.
 */

/** What the history of a set needs: a revision to create, one to renumber (a rollback), old ones to delete. */
export interface HistoryPlan {
  readonly create?: V1ControllerRevision;
  readonly renumber?: { readonly revision: V1ControllerRevision; readonly to: number };
  readonly prune: readonly V1ControllerRevision[];
}

/** What {@link planHistory} works from. */
export interface HistoryInput {
  readonly set: V1StatefulSet;
  /** The ControllerRevisions the set controls. */
  readonly revisions: readonly V1ControllerRevision[];
  /** The revision of `spec.template`. */
  readonly update: Revision;
  /** The name in `status.currentRevision` (or the update revision's). */
  readonly currentName: string;
  /** The set's pods: a revision some pod still runs is kept. */
  readonly pods: readonly V1Pod[];
}

/**
 * The update revision gets a ControllerRevision numbered one above the newest, or, when its
 * template has one already that is not the newest (a rollback), that one is renumbered so;
 * revisions neither current, nor update, nor run by a pod are deleted oldest first beyond
 * `revisionHistoryLimit`.
 */
export function planHistory(input: HistoryInput): HistoryPlan {
  const sorted = [...input.revisions].sort((a, b) => a.revision - b.revision);
  const latest = sorted[sorted.length - 1];
  const next = (latest?.revision ?? 0) + 1;
  const existing = sorted.find((r) => r.metadata?.name === input.update.name);
  const live = new Set([input.currentName, input.update.name, ...input.pods.map(revisionOfPod)]);
  const history = sorted.filter((r) => !live.has(r.metadata?.name ?? ''));
  const limit = Math.max(0, input.set.spec?.revisionHistoryLimit ?? 10);
  const prune = history.slice(0, Math.max(0, history.length - limit));
  if (existing === undefined) return { create: desiredRevision(input.set, input.update, next), prune };
  if (existing !== latest) return { renumber: { revision: existing, to: next }, prune };
  return { prune };
}

/** The ControllerRevision of `revision` for `set`: the template's labels, the hash label and the set as controller. */
export function desiredRevision(set: V1StatefulSet, revision: Revision, number: number): V1ControllerRevision {
  const setName = set.metadata?.name ?? '';
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revision.name,
      namespace: set.metadata?.namespace,
      labels: { ...revision.template.metadata?.labels, [REVISION_LABEL]: revision.name.slice(setName.length + 1) },
      ownerReferences: [controllerRef('StatefulSet', set.metadata)],
    },
    data: revisionData(revision.template),
    revision: number,
  };
}

/** getPatch: `{"spec":{"template":{…,"$patch":"replace"}}}`, what a strategic merge onto the set restores. */
export function revisionData(template: V1PodTemplateSpec): Record<string, unknown> {
  const json = JSON.parse(JSON.stringify(template)) as Record<string, unknown>;
  return { spec: { template: { ...json, $patch: 'replace' } } };
}

/** The pod template a ControllerRevision stands for, undefined when its data holds none. */
export function templateOfRevision(revision: V1ControllerRevision): V1PodTemplateSpec | undefined {
  const data = revision.data as { spec?: { template?: Record<string, unknown> } } | undefined;
  const template = data?.spec?.template;
  if (template === undefined || typeof template !== 'object') return undefined;
  const { $patch: _directive, ...rest } = template;
  return rest;
}
