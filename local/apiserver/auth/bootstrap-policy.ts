import type { ObjectStore } from '../store/store.js';
import type { KubeObject } from '../types.js';
import type { PolicyRule } from './rbac-authorizer.js';

const API_VERSION = 'rbac.authorization.k8s.io/v1';
const DEFAULTS_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

/** The default ClusterRoles a cluster bootstraps that this server's users rely on, and who is bound to them. */
const POLICY: readonly { name: string; rules: PolicyRule[]; groups: string[] }[] = [
  {
    name: 'cluster-admin',
    rules: [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ],
    groups: ['system:masters'],
  },
  {
    name: 'system:discovery',
    rules: [
      {
        nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*'],
        verbs: ['get'],
      },
      { nonResourceURLs: ['/readyz', '/version', '/version/'], verbs: ['get'] },
    ],
    groups: ['system:authenticated'],
  },
  {
    name: 'system:public-info-viewer',
    rules: [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }],
    groups: ['system:authenticated', 'system:unauthenticated'],
  },
  {
    name: 'system:basic-user',
    rules: [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
    ],
    groups: ['system:authenticated'],
  },
];

/** Puts the default ClusterRoles and ClusterRoleBindings into `store` (objects already there are kept). */
export function bootstrapPolicy(store: ObjectStore, creationTimestamp: string): void {
  const metadata = (name: string) => ({
    name,
    uid: crypto.randomUUID(),
    creationTimestamp,
    labels: { ...DEFAULTS_LABELS },
    annotations: { ...AUTOUPDATE },
  });
  for (const { name, rules, groups } of POLICY) {
    const role: KubeObject = { apiVersion: API_VERSION, kind: 'ClusterRole', metadata: metadata(name), rules };
    const binding: KubeObject = {
      apiVersion: API_VERSION,
      kind: 'ClusterRoleBinding',
      metadata: metadata(name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: groups.map((group) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group })),
    };
    if (!store.get('rbac.authorization.k8s.io/clusterroles', '', name)) {
      store.put('rbac.authorization.k8s.io/clusterroles', role);
    }
    if (!store.get('rbac.authorization.k8s.io/clusterrolebindings', '', name)) {
      store.put('rbac.authorization.k8s.io/clusterrolebindings', binding);
    }
  }
}
