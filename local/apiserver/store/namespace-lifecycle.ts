import { ApiError } from '../errors.js';
import type { ResourceType } from '../types.js';

/**
 * The namespaces a cluster starts with and refuses to delete: `default` (the bootstrap
 * controller's) and the system namespaces kube-apiserver keeps (kube-system, kube-public,
 * kube-node-lease).
 */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Refuses the deletion of a system namespace as kube-apiserver's NamespaceLifecycle admission
 * does, before the namespace is even looked up (so dry runs are refused too): 403
 * `namespaces "default" is forbidden: this namespace may not be deleted`.
 */
export function checkDeletable(type: ResourceType, name: string): void {
  if (type.custom || type.group !== '' || type.kind !== 'Namespace' || !SYSTEM_NAMESPACES.includes(name)) return;
  throw new ApiError(403, 'Forbidden', `${type.plural} "${name}" is forbidden: this namespace may not be deleted`, {
    name,
    kind: type.plural,
  });
}
