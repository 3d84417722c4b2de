import type { V1ObjectMeta, V1OwnerReference } from '@kubernetes/client-node';

/** Controller owner references of the apps/v1 workload kinds: making, matching and following them. */

/** An object with metadata: typed client-node objects and raw watch JSON alike. */
interface Owned {
  readonly metadata?: V1ObjectMeta;
}

/**
 * The controller reference to an apps/v1 `kind` named by `owner`: it blocks the owner's
 * foreground deletion until the dependent is gone, as the real controllers' references do.
 */
export function controllerRef(kind: string, owner: V1ObjectMeta | undefined): V1OwnerReference {
  return {
    apiVersion: 'apps/v1',
    kind,
    name: owner?.name ?? '',
    uid: owner?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Whether `object`'s controller is `owner` (matched by uid, as the real controllers do). */
export function isControlledBy(object: Owned, owner: Owned): boolean {
  const uid = owner.metadata?.uid;
  return (
    uid !== undefined && (object.metadata?.ownerReferences ?? []).some((r) => r.controller === true && r.uid === uid)
  );
}

/** The `namespace/name` of the apps/v1 `kind` controlling `object`, if any. */
export function controllerKeyOf(object: Owned, kind: string): string | undefined {
  const ref = (object.metadata?.ownerReferences ?? []).find(
    (r) => r.controller === true && r.kind === kind && r.apiVersion.startsWith('apps/'),
  );
  return ref ? `${object.metadata?.namespace ?? ''}/${ref.name}` : undefined;
}
