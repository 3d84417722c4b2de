import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from '../errors.js';
import type { RequestAttributes } from './attributes.js';
import { parseServiceAccountName, serviceAccountUser, type UserInfo } from './authenticator.js';
import { forbidden } from './forbidden.js';
import type { Decision } from './rbac-authorizer.js';

/**
 * The user a request acts as (k8s.io/apiserver filters.WithImpersonation): `user` itself, or
 * the one named by `Impersonate-User` with the `Impersonate-Group`s, when `user` may
 * `impersonate` users (serviceaccounts for `system:serviceaccount:…`) and those groups.
 * Throws the cluster's 403 otherwise.
 */
export function impersonatedUser(
  user: UserInfo,
  headers: IncomingHttpHeaders,
  authorize: (request: RequestAttributes) => Decision,
): UserInfo {
  const username = single(headers['impersonate-user']);
  const groups = list(headers['impersonate-group']);
  if (username === undefined) {
    if (groups.length > 0) throw badRequest('requested Impersonate-Group without Impersonate-User');
    return user;
  }
  const base = { user, path: '', subresource: '', resourceRequest: true, verb: 'impersonate' };
  const account = parseServiceAccountName(username);
  const checks: RequestAttributes[] = [
    account
      ? { ...base, apiGroup: '', resource: 'serviceaccounts', namespace: account.namespace, name: account.name }
      : { ...base, apiGroup: '', resource: 'users', namespace: '', name: username },
    ...groups.map((group) => ({ ...base, apiGroup: '', resource: 'groups', namespace: '', name: group })),
  ];
  for (const check of checks) if (!authorize(check).allowed) throw forbidden(check);
  // As a cluster: a ServiceAccount named without groups gets its own; everyone is authenticated.
  const implied =
    account && groups.length === 0
      ? serviceAccountUser(account.namespace, account.name).groups
      : ['system:authenticated'];
  return { username, groups: [...new Set([...groups, ...implied])] };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}
