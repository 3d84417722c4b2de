/**
 * The RBAC of `config/` placed for a test: the operator's and the runtimes' ServiceAccounts,
 * Roles, ClusterRole and bindings in the test's namespace, naming its gateways' rings, so the
 * local API server enforces what a cluster installed from `config/` would on processes a test
 * starts itself (`imring local` applies `config/` unchanged).
 */
import { readFile } from 'node:fs/promises';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_GATEWAY_SERVICE_ACCOUNT } from '../../operator/desired.js';
import { ringConfigMapName } from '../../ring/contract.js';
import { repoRoot } from './fixtures.js';

const OPERATOR_RBAC = `${repoRoot}config/rbac/operator.yaml`;
const RUNTIME_RBAC = `${repoRoot}config/demo/runtime-rbac.yaml`;

/** The operator's ServiceAccount (config/rbac/operator.yaml, config/operator.yaml). */
export const OPERATOR_SERVICE_ACCOUNT = 'imring-operator';

/** The runtimes' ServiceAccount (config/demo/runtime-rbac.yaml), the operator's default for gateway pods. */
export const RUNTIME_SERVICE_ACCOUNT = DEFAULT_GATEWAY_SERVICE_ACCOUNT;

/** Where {@link applyImringRbac} puts the RBAC of `config/`. */
export interface RbacPlacement {
  /** The namespace of the operator, the runtimes and the gateways. */
  readonly namespace: string;
  /** The gateways whose ring ConfigMap the runtimes' Role names (config/ names the sample's, `demo-ring`). */
  readonly gateways: readonly string[];
}

interface RbacObject extends KubernetesObject {
  subjects?: { kind: string; name: string; namespace?: string }[];
  rules?: { resources?: string[]; resourceNames?: string[] }[];
}

/** Creates (or replaces) the RBAC objects of `config/` in `placement.namespace`. */
export async function applyImringRbac(kc: KubeConfig, placement: RbacPlacement): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const object of await imringRbac(placement)) {
    try {
      await api.create(object);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 409) throw error;
      await api.replace({ ...object, metadata: { ...object.metadata, resourceVersion: undefined } });
    }
  }
}

/** The RBAC objects of `config/`, placed: namespaced objects and ServiceAccount subjects in the namespace. */
export async function imringRbac(placement: RbacPlacement): Promise<RbacObject[]> {
  const objects: RbacObject[] = [];
  for (const file of [OPERATOR_RBAC, RUNTIME_RBAC]) {
    for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
      const object = document.toJS() as RbacObject | null;
      if (object) objects.push(placed(object, placement));
    }
  }
  return objects;
}

function placed(object: RbacObject, placement: RbacPlacement): RbacObject {
  const { namespace } = placement;
  const namespaced = object.kind !== 'ClusterRole' && object.kind !== 'ClusterRoleBinding';
  return {
    ...object,
    metadata: { ...object.metadata, ...(namespaced ? { namespace } : {}) },
    ...(object.subjects
      ? { subjects: object.subjects.map((s) => (s.kind === 'ServiceAccount' ? { ...s, namespace } : s)) }
      : {}),
    ...(object.rules && object.kind === 'Role' && object.metadata?.name === RUNTIME_SERVICE_ACCOUNT
      ? { rules: object.rules.map((rule) => withRings(rule, placement.gateways)) }
      : {}),
  };
}

/** The runtimes' ConfigMap rule names the placed gateways' rings instead of the sample's. */
function withRings<T extends { resources?: string[]; resourceNames?: string[] }>(
  rule: T,
  gateways: readonly string[],
): T {
  if (!rule.resources?.includes('configmaps') || !rule.resourceNames) return rule;
  return { ...rule, resourceNames: gateways.map(ringConfigMapName) };
}
