import { ApiError } from '../errors.js';
import type { RequestAttributes } from './attributes.js';

/**
 * The 403 of a denied request, worded as a cluster's (k8s.io/apiserver responsewriters
 * ForbiddenStatusError and apimachinery NewForbidden): `pods "p" is forbidden: User "u" cannot
 * get resource "pods" in API group "" in the namespace "ns"`, `… at the cluster scope`, or
 * `forbidden: User "u" cannot get path "/apis"`.
 */
export function forbidden(request: RequestAttributes, reason = ''): ApiError {
  let message = `User ${quote(request.user.username)} cannot ${request.verb}`;
  if (!request.resourceRequest) {
    message += ` path ${quote(request.path)}`;
  } else {
    const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
    message += ` resource ${quote(resource)} in API group ${quote(request.apiGroup)}`;
    message += request.namespace ? ` in the namespace ${quote(request.namespace)}` : ' at the cluster scope';
  }
  if (reason) message += `: ${reason}`;
  const qualified = request.apiGroup ? `${request.resource}.${request.apiGroup}` : request.resource;
  const prefix = !request.resourceRequest
    ? 'forbidden'
    : request.name
      ? `${qualified} ${quote(request.name)} is forbidden`
      : `${qualified} is forbidden`;
  return new ApiError(403, 'Forbidden', `${prefix}: ${message}`, {
    ...(request.name ? { name: request.name } : {}),
    group: request.apiGroup,
    kind: request.resource,
  });
}

/** Go's %q for the strings found here. */
function quote(value: string): string {
  return JSON.stringify(value);
}
