import type { KubernetesObject, V1OwnerReference } from '@kubernetes/client-node';
import { apiVersionOf, type WatchedResource } from './garbage-collector-plan.js';

/** The apiVersion, kind, name and namespace that address one object. */
export interface ObjectHeader {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

/**
 * A merge patch that sets `fields` of the metadata of `object`, refused with a 409 if the object
 * changed since it was read: its resourceVersion goes with the patch, so a decision made on a
 * stale cached copy is never written.
 */
export function metadataPatch(
  resource: WatchedResource,
  object: KubernetesObject,
  fields: { readonly ownerReferences: V1OwnerReference[] } | { readonly finalizers: string[] },
): KubernetesObject {
  const header = headerOf(resource, object);
  return {
    ...header,
    metadata: { ...header.metadata, resourceVersion: object.metadata?.resourceVersion, ...fields },
  };
}

/** The apiVersion, kind, name and namespace that address `object` of `resource`. */
export function headerOf(resource: WatchedResource, object: KubernetesObject): ObjectHeader {
  const namespace = resource.namespaced ? object.metadata?.namespace : undefined;
  return {
    apiVersion: apiVersionOf(resource),
    kind: resource.kind,
    metadata: { name: object.metadata!.name!, ...(namespace ? { namespace } : {}) },
  };
}
