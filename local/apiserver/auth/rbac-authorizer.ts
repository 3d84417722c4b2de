import type { ObjectStore } from '../store/store.js';
import type { KubeObject } from '../types.js';
import type { RequestAttributes } from './attributes.js';
import { MASTERS_GROUP, type UserInfo } from './authenticator.js';

/** rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

/** An authorization decision; `reason` says which binding allowed it (empty when denied). */
export interface Decision {
  readonly allowed: boolean;
  readonly reason: string;
}

/** The rules that apply to a user in one namespace (or at the cluster scope), with where each came from. */
interface Grant {
  readonly rules: readonly PolicyRule[];
  readonly source: string;
}

const RBAC = 'rbac.authorization.k8s.io';
const ROLES = `${RBAC}/roles`;
const CLUSTER_ROLES = `${RBAC}/clusterroles`;
const ROLE_BINDINGS = `${RBAC}/rolebindings`;
const CLUSTER_ROLE_BINDINGS = `${RBAC}/clusterrolebindings`;

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}
interface RoleRef {
  kind: string;
  name: string;
}

/**
 * The RBAC authorizer (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac) over the store's
 * Roles, ClusterRoles and their bindings, read at each decision so a change applies to the
 * next request. Members of `system:masters` are allowed everything, as a cluster's are.
 */
export class RbacAuthorizer {
  readonly #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  authorize(request: RequestAttributes): Decision {
    if (request.user.groups.includes(MASTERS_GROUP)) return { allowed: true, reason: '' };
    for (const grant of this.#grants(request.user, request.namespace)) {
      if (grant.rules.some((rule) => ruleAllows(rule, request))) return { allowed: true, reason: grant.source };
    }
    return { allowed: false, reason: '' };
  }

  /** The rules that apply to `user` in `namespace` (cluster-wide ones included), for rules reviews. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    if (user.groups.includes(MASTERS_GROUP)) return [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }];
    return this.#grants(user, namespace).flatMap((g) => g.rules);
  }

  #grants(user: UserInfo, namespace: string): Grant[] {
    const grants: Grant[] = [];
    for (const binding of this.#store.list(CLUSTER_ROLE_BINDINGS)) {
      const subject = matchingSubject(binding, user, '');
      const ref = binding.roleRef as RoleRef | undefined;
      if (!subject || !ref || ref.kind !== 'ClusterRole') continue;
      const rules = this.#rules(CLUSTER_ROLES, '', ref.name);
      grants.push({ rules, source: allowedBy('ClusterRoleBinding', binding, ref, subject) });
    }
    if (namespace === '') return grants;
    for (const binding of this.#store.list(ROLE_BINDINGS, namespace)) {
      const subject = matchingSubject(binding, user, namespace);
      const ref = binding.roleRef as RoleRef | undefined;
      if (!subject || !ref) continue;
      const rules =
        ref.kind === 'Role' ? this.#rules(ROLES, namespace, ref.name) : this.#rules(CLUSTER_ROLES, '', ref.name);
      grants.push({ rules, source: allowedBy('RoleBinding', binding, ref, subject) });
    }
    return grants;
  }

  #rules(resource: string, namespace: string, name: string): PolicyRule[] {
    return (this.#store.get(resource, namespace, name)?.rules as PolicyRule[] | undefined) ?? [];
  }
}

/** Whether `rule` allows `request` (RBAC's RuleAllows). */
export function ruleAllows(rule: PolicyRule, request: RequestAttributes): boolean {
  if (!matches(rule.verbs, request.verb)) return false;
  if (!request.resourceRequest) return nonResourceMatches(rule.nonResourceURLs, request.path);
  if (!matches(rule.apiGroups, request.apiGroup) || !resourceMatches(rule.resources, request)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (request.name !== '' && names.includes(request.name));
}

function matches(list: readonly string[] | undefined, value: string): boolean {
  return (list ?? []).some((v) => v === '*' || v === value);
}

/** Rule `pods` matches only the resource, `pods/log` only that subresource, `*` then `/log` any resource's log. */
function resourceMatches(rules: readonly string[] | undefined, request: RequestAttributes): boolean {
  const combined = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  return (rules ?? []).some(
    (r) => r === '*' || r === combined || (request.subresource !== '' && r === `*/${request.subresource}`),
  );
}

function nonResourceMatches(urls: readonly string[] | undefined, path: string): boolean {
  return (urls ?? []).some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}

/** The first subject of `binding` that is `user`; a RoleBinding's ServiceAccount defaults to its namespace. */
function matchingSubject(binding: KubeObject, user: UserInfo, namespace: string): Subject | undefined {
  const subjects = (binding.subjects as Subject[] | undefined) ?? [];
  return subjects.find((s) => {
    if (s.kind === 'User') return s.name === user.username;
    if (s.kind === 'Group') return user.groups.includes(s.name);
    if (s.kind !== 'ServiceAccount') return false;
    const ns = s.namespace || namespace;
    return user.username === `system:serviceaccount:${ns}:${s.name}`;
  });
}

/** `RBAC: allowed by ClusterRoleBinding "b" of ClusterRole "r" to ServiceAccount "sa/ns"`, as a cluster says. */
function allowedBy(kind: string, binding: KubeObject, ref: RoleRef, subject: Subject): string {
  const meta = binding.metadata ?? {};
  const where = kind === 'RoleBinding' ? `${kind} "${meta.name}/${meta.namespace}"` : `${kind} "${meta.name}"`;
  const who =
    subject.kind === 'ServiceAccount'
      ? `ServiceAccount "${subject.name}/${subject.namespace || meta.namespace}"`
      : `${subject.kind} "${subject.name}"`;
  return `RBAC: allowed by ${where} of ${ref.kind} "${ref.name}" to ${who}`;
}
