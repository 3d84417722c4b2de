/**
 * The RBAC review's accounting: maps served requests (the local API server's request log) to
 * the attributes the server's RBAC authorizer decides on, and lists the permissions of Roles
 * and ClusterRoles that no request used, matched by the server's own rule matcher.
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { resourceVerb, type RequestAttributes } from '../../local/apiserver/auth/attributes.js';
import { ruleAllows, type PolicyRule } from '../../local/apiserver/auth/rbac-authorizer.js';
import type { ServedRequest } from '../../local/index.js';

export type { PolicyRule, RequestAttributes };
export { ruleAllows };

/** A role's rules where they apply: everywhere (ClusterRole via ClusterRoleBinding) or in one namespace (Role). */
export interface Grant {
  readonly role: string;
  readonly namespace: string | undefined;
  readonly rules: readonly PolicyRule[];
}

/** The attributes of one served request; undefined for non-resource paths (`/version`, discovery). */
export function requestAttributes(
  entry: Pick<ServedRequest, 'method' | 'path' | 'query'> & { readonly user?: string | undefined },
): RequestAttributes | undefined {
  const at = located(entry.path);
  if (!at) return undefined;
  const { apiGroup } = at;
  let rest = at.rest;
  // Legacy `/watch/` prefix: a watch whatever the query says.
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest = rest.slice(1);
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1]!;
    rest = rest.slice(2);
  }
  const [resource, pathName, subresource = ''] = rest as [string, string | undefined, string | undefined];
  const query = new URLSearchParams(entry.query);
  const isWatch = legacyWatch || ['true', '1'].includes(query.get('watch') ?? '');
  const verb = resourceVerb(entry.method, pathName !== undefined, isWatch);
  const name = pathName ?? /^metadata\.name==?([^,]+)$/.exec(query.get('fieldSelector') ?? '')?.[1] ?? '';
  return {
    user: { username: entry.user ?? '', groups: [] },
    verb,
    resourceRequest: true,
    path: entry.path,
    apiGroup,
    resource,
    subresource,
    namespace,
    name,
  };
}

/** The API group of a resource path and the segments after its version. */
function located(path: string): { apiGroup: string; rest: string[] } | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'api' && parts.length >= 3) return { apiGroup: '', rest: parts.slice(2) };
  if (parts[0] === 'apis' && parts.length >= 4) return { apiGroup: parts[1]!, rest: parts.slice(3) };
  return undefined;
}

/**
 * What the grants allow that no request used, one line per (role, apiGroup, resource, verb,
 * resourceName): each must be exercised by some allowed request.
 */
export function unusedPermissions(grants: readonly Grant[], requests: readonly RequestAttributes[]): string[] {
  const unused: string[] = [];
  for (const grant of grants) {
    for (const rule of grant.rules) {
      for (const permission of expand(rule)) {
        const used = requests.some(
          (r) => (grant.namespace === undefined || grant.namespace === r.namespace) && ruleAllows(permission, r),
        );
        if (!used) unused.push(`${grant.role}: ${describe(permission)}`);
      }
    }
  }
  return unused;
}

function expand(rule: PolicyRule): PolicyRule[] {
  const names = rule.resourceNames && rule.resourceNames.length > 0 ? rule.resourceNames.map((n) => [n]) : [undefined];
  return (rule.apiGroups ?? []).flatMap((apiGroup) =>
    (rule.resources ?? []).flatMap((resource) =>
      rule.verbs.flatMap((verb) =>
        names.map((resourceNames) => ({
          apiGroups: [apiGroup],
          resources: [resource],
          verbs: [verb],
          ...(resourceNames ? { resourceNames } : {}),
        })),
      ),
    ),
  );
}

/** `get configmaps/demo-ring` style, with the API group when it is not core. */
export function describe(value: PolicyRule | RequestAttributes): string {
  if ('verb' in value) {
    const group = value.apiGroup === '' ? '' : `.${value.apiGroup}`;
    const resource = value.subresource ? `${value.resource}/${value.subresource}` : value.resource;
    return `${value.verb} ${resource}${group}${value.name ? ` ${value.name}` : ''}${value.namespace ? ` -n ${value.namespace}` : ''}`;
  }
  const group = value.apiGroups?.[0] ? `.${value.apiGroups[0]}` : '';
  return `${value.verbs.join(',')} ${value.resources?.join(',')}${group}${value.resourceNames ? ` ${value.resourceNames.join(',')}` : ''}`;
}

interface RoleDocument {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: PolicyRule[];
}

/**
 * The Roles and ClusterRoles of a manifest file, by name. A Role's namespace is replaced by
 * `namespace` when given (the test runs the components in its own namespace).
 */
export async function readGrants(file: string, namespace?: string): Promise<Map<string, Grant>> {
  const grants = new Map<string, Grant>();
  for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
    const object = document.toJS() as RoleDocument | null;
    if (object?.kind !== 'Role' && object?.kind !== 'ClusterRole') continue;
    const role = `${object.kind}/${object.metadata?.name}`;
    grants.set(object.metadata?.name ?? '', {
      role,
      namespace: object.kind === 'Role' ? (namespace ?? object.metadata?.namespace) : undefined,
      rules: object.rules ?? [],
    });
  }
  return grants;
}
