import { REVIEW_TYPES } from '../auth/access-reviews.js';
import { RESOURCE_METRICS_TYPES } from '../http/resource-metrics.js';
import type { ResourceType } from '../types.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface BuiltinInit {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  statusSubresource?: boolean;
  scale?: boolean;
}

function builtin(init: BuiltinInit): ResourceType {
  return {
    group: init.group,
    version: init.version,
    kind: init.kind,
    listKind: `${init.kind}List`,
    plural: init.plural,
    singular: init.kind.toLowerCase(),
    shortNames: init.shortNames ?? [],
    categories: init.categories ?? [],
    namespaced: init.namespaced,
    verbs: init.kind === 'Namespace' ? ALL_VERBS.filter((v) => v !== 'deletecollection') : ALL_VERBS,
    statusSubresource: init.statusSubresource ?? false,
    ...(init.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } } : {}),
    printerColumns: [],
    custom: false,
  };
}

/** An apps/v1 kind that runs pods from a template: in category `all`, with status and scale. */
function workload(kind: string, plural: string, shortName: string): ResourceType {
  const init = { group: 'apps', version: 'v1', kind, plural, namespaced: true, shortNames: [shortName] };
  return builtin({ ...init, categories: ['all'], statusSubresource: true, scale: true });
}

/** The built-in resources the local API server serves (DESIGN.md section 9). */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    statusSubresource: true,
  }),
  builtin({
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    statusSubresource: true,
  }),
  builtin({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, shortNames: ['cm'] }),
  builtin({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true }),
  builtin({
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    statusSubresource: true,
  }),
  builtin({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    statusSubresource: true,
  }),
  builtin({ group: '', version: 'v1', kind: 'Event', plural: 'events', namespaced: true, shortNames: ['ev'] }),
  builtin({
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    shortNames: ['sa'],
  }),
  workload('StatefulSet', 'statefulsets', 'sts'),
  workload('Deployment', 'deployments', 'deploy'),
  workload('ReplicaSet', 'replicasets', 'rs'),
  builtin({
    group: 'apps',
    version: 'v1',
    kind: 'ControllerRevision',
    plural: 'controllerrevisions',
    namespaced: true,
  }),
  builtin({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true }),
  builtin({ group: '', version: 'v1', kind: 'Endpoints', plural: 'endpoints', namespaced: true, shortNames: ['ep'] }),
  builtin({
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    namespaced: true,
  }),
  builtin({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true }),
  builtin({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'RoleBinding',
    plural: 'rolebindings',
    namespaced: true,
  }),
  builtin({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRole',
    plural: 'clusterroles',
    namespaced: false,
  }),
  builtin({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    namespaced: false,
  }),
  builtin({
    group: 'policy',
    version: 'v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
    shortNames: ['pdb'],
    statusSubresource: true,
  }),
  // Stored, never enforced: pods of a local cluster share this machine's loopback network.
  builtin({
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
    shortNames: ['netpol'],
  }),
  builtin({
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    statusSubresource: true,
  }),
  // Stored as v2; v1 is the same objects converted (hpa-versions.ts).
  ...['v2', 'v1'].map((version) =>
    builtin({
      group: 'autoscaling',
      version,
      kind: 'HorizontalPodAutoscaler',
      plural: 'horizontalpodautoscalers',
      namespaced: true,
      shortNames: ['hpa'],
      categories: ['all'],
      statusSubresource: true,
    }),
  ),
  ...REVIEW_TYPES,
  ...RESOURCE_METRICS_TYPES,
];

/** Kinds whose `metadata.generation` counts spec changes (the others never set it). */
export const GENERATION_KINDS: ReadonlySet<string> = new Set([
  'StatefulSet',
  'Deployment',
  'ReplicaSet',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'CustomResourceDefinition',
  'Pod',
]);
