import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1ControllerRevision,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { ResilientInformer } from '../../kube/controller-kit.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import { objectKey, type ResolvedWorkloadOptions } from './controller-loop.js';
import { controllerKeyOf, isControlledBy } from './owner-refs.js';
import type { Revision } from './statefulset-pods.js';
import { planHistory, templateOfRevision, type HistoryInput } from './statefulset-revisions.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The ControllerRevisions of the StatefulSets: watched, kept one per template (see
 * `planHistory`), and read back for the template of a set's current revision.
 */
export class StatefulSetHistory {
  readonly #apps: AppsV1Api;
  readonly #revisions: ResilientInformer<V1ControllerRevision>;

  /** `onChange` is told the `namespace/name` of the set whose revisions changed. */
  constructor(options: ResolvedWorkloadOptions, onChange: (setKey: string | undefined) => void) {
    const { kc, namespace, onError } = options;
    const apps = (this.#apps = kc.makeApiClient(AppsV1Api));
    this.#revisions = new ResilientInformer<V1ControllerRevision>({
      kc,
      onError,
      path: namespace
        ? `/apis/apps/v1/namespaces/${namespace}/controllerrevisions`
        : '/apis/apps/v1/controllerrevisions',
      list: () =>
        namespace
          ? apps.listNamespacedControllerRevision({ namespace })
          : apps.listControllerRevisionForAllNamespaces(),
    });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#revisions.on(event, (revision) => onChange(controllerKeyOf(revision, 'StatefulSet')));
    }
  }

  start(): Promise<void> {
    return this.#revisions.start();
  }

  close(): Promise<void> {
    return this.#revisions.close();
  }

  /** The ControllerRevisions `set` controls, as cached. */
  of(set: V1StatefulSet): V1ControllerRevision[] {
    return this.#revisions.list(set.metadata?.namespace).filter((r) => isControlledBy(r, set));
  }

  /** The revision `name` of `set` with its template, when its ControllerRevision is known. */
  revision(set: V1StatefulSet, name: string): Revision | undefined {
    const found = this.of(set).find((r) => r.metadata?.name === name);
    const template = found ? templateOfRevision(found) : undefined;
    return template ? { name, template } : undefined;
  }

  /** Creates, renumbers and prunes the set's ControllerRevisions; false on a 409 (a stale cache). */
  async sync(input: Omit<HistoryInput, 'revisions'>): Promise<boolean> {
    const plan = planHistory({ ...input, revisions: this.of(input.set) });
    const namespace = input.set.metadata?.namespace ?? '';
    try {
      if (plan.create) await this.#apps.createNamespacedControllerRevision({ namespace, body: plan.create });
      if (plan.renumber) {
        const { revision, to } = plan.renumber;
        const body = { metadata: { resourceVersion: revision.metadata?.resourceVersion }, revision: to };
        await this.#apps.patchNamespacedControllerRevision(
          { namespace, name: revision.metadata?.name ?? '', body },
          mergePatch,
        );
      }
      for (const old of plan.prune) await this.#delete(old);
    } catch (error) {
      if (apiStatusCode(error) === 409) return false;
      throw new Error(`while keeping the revisions of statefulset ${objectKey(input.set)}`, { cause: error });
    }
    return true;
  }

  async #delete(revision: V1ControllerRevision): Promise<void> {
    const namespace = revision.metadata?.namespace ?? '';
    const name = revision.metadata?.name ?? '';
    try {
      const body = { preconditions: { uid: revision.metadata?.uid } };
      await this.#apps.deleteNamespacedControllerRevision({ namespace, name, body });
    } catch (error) {
      if (apiStatusCode(error) !== 404) throw error;
    }
  }
}
