/**
 * A small RBAC evaluator for the RBAC review test: maps served requests (the local API
 * server's request log) to Kubernetes authorization attributes, and decides them against
 * Roles and ClusterRoles the way the RBAC authorizer does (apiGroups, resources with their
 * subresources, verbs, resourceNames; `*` matches anything).
 */
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { resourceVerb } from '../../local/apiserver/auth/attributes.js';
import type { ServedRequest } from '../../local/index.js';

/** The attributes the RBAC authorizer decides on (k8s.io/apiserver authorizer.Attributes). */
export interface RequestAttributes {
  readonly verb: string;
  readonly apiGroup: string;
  /** `imgateways`, or `imgateways/status` for a subresource. */
  readonly resource: string;
  /** Undefined for cluster-scoped requests and for lists/watches across all namespaces. */
  readonly namespace: string | undefined;
  /** The object's name; for a list/watch, the `metadata.name` field selector (as the authorizer does since 1.x). */
  readonly name: string | undefined;
}

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

/** A role's rules where they apply: everywhere (ClusterRole via ClusterRoleBinding) or in one namespace (Role). */
export interface Grant {
  readonly role: string;
  readonly namespace: string | undefined;
  readonly rules: readonly PolicyRule[];
}

/** The attributes of one served request; undefined for non-resource paths (`/version`, discovery). */
export function requestAttributes(
  entry: Pick<ServedRequest, 'method' | 'path' | 'query'>,
): RequestAttributes | undefined {
  const parts = entry.path.split('/').filter((p) => p !== '');
  let rest: string[];
  let apiGroup: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    apiGroup = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    apiGroup = parts[1]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  // Legacy `/watch/` prefix: a watch whatever the query says.
  const legacyWatch = rest[0] === 'watch';
  if (legacyWatch) rest = rest.slice(1);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, pathName, subresource] = rest as [string, string | undefined, string | undefined];
  const query = new URLSearchParams(entry.query);
  const isWatch = legacyWatch || ['true', '1'].includes(query.get('watch') ?? '');
  const verb = resourceVerb(entry.method, pathName !== undefined, isWatch);
  const name = pathName ?? /^metadata\.name==?([^,]+)$/.exec(query.get('fieldSelector') ?? '')?.[1];
  return {
    verb,
    apiGroup,
    resource: subresource === undefined ? resource : `${resource}/${subresource}`,
    namespace,
    name,
  };
}

const has = (list: readonly string[] | undefined, value: string): boolean =>
  (list ?? []).some((v) => v === '*' || v === value);

/** Whether `rule` allows `request` (RBAC's RuleAllows; an empty resourceNames allows every name). */
export function ruleAllows(rule: PolicyRule, request: RequestAttributes): boolean {
  if (
    !has(rule.verbs, request.verb) ||
    !has(rule.apiGroups, request.apiGroup) ||
    !has(rule.resources, request.resource)
  )
    return false;
  if (!rule.resourceNames || rule.resourceNames.length === 0) return true;
  return request.name !== undefined && rule.resourceNames.includes(request.name);
}

/** Whether some grant allows `request`: a namespaced grant only inside its namespace. */
export function isAllowed(grants: readonly Grant[], request: RequestAttributes): boolean {
  return grants.some(
    (g) =>
      (g.namespace === undefined || g.namespace === request.namespace) &&
      g.rules.some((rule) => ruleAllows(rule, request)),
  );
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
    return `${value.verb} ${value.resource}${group}${value.name === undefined ? '' : ` ${value.name}`}${value.namespace === undefined ? '' : ` -n ${value.namespace}`}`;
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
