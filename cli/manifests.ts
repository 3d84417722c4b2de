/**
 * The manifests a cluster is installed from, read as `kubectl apply -k` reads them: a
 * kustomization's `resources` (files of YAML documents, or directories with a kustomization of
 * their own), in the order kustomize emits them. Only `resources` is read; a kustomization with
 * other fields (patches, generators, images…) is refused by name rather than half applied.
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

/** `config/`: what `kubectl apply -k config/` installs on a cluster. */
export const CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));

/** A kustomization's fields this reader understands. */
const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources']);

/**
 * The objects of the kustomization in `dir`, sorted as kustomize sorts them (namespaces and CRDs
 * first, then accounts and RBAC, then the rest), so each can be created in turn.
 * @throws Error naming the file for an unreadable kustomization, a field other than `resources`,
 * a remote resource or a document without kind or name.
 */
export async function readKustomization(dir: string): Promise<KubernetesObject[]> {
  const objects = await collect(resolve(dir), new Set());
  return objects
    .map((object, index) => ({ object, index }))
    .sort((a, b) => rank(a.object) - rank(b.object) || a.index - b.index)
    .map(({ object }) => object);
}

async function collect(dir: string, seen: Set<string>): Promise<KubernetesObject[]> {
  if (seen.has(dir)) throw new Error(`${dir}: a kustomization that includes itself`);
  seen.add(dir);
  const file = join(dir, 'kustomization.yaml');
  const kustomization = (parseYaml(await readFile(file, 'utf8')) ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(kustomization).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new Error(`${file}: imring reads only the resources of a kustomization, not ${unknown.join(', ')}`);
  }
  const objects: KubernetesObject[] = [];
  for (const entry of (kustomization['resources'] ?? []) as unknown[]) {
    if (typeof entry !== 'string' || /^[a-z]+:\/\//i.test(entry) || entry.startsWith('github.com/')) {
      throw new Error(`${file}: resource ${JSON.stringify(entry)} is not a local file or directory`);
    }
    const path = resolve(dir, entry);
    if ((await stat(path)).isDirectory()) objects.push(...(await collect(path, seen)));
    else objects.push(...(await documents(path)));
  }
  return objects;
}

async function documents(path: string): Promise<KubernetesObject[]> {
  const objects: KubernetesObject[] = [];
  for (const document of parseAllDocuments(await readFile(path, 'utf8'))) {
    const object = document.toJS() as KubernetesObject | null;
    if (object === null) continue;
    if (!object.kind || !object.metadata?.name) throw new Error(`${path}: a document without kind or metadata.name`);
    objects.push(object);
  }
  return objects;
}

/** The head of kustomize's legacy order (its other kinds keep their place after these): what others refer to first. */
const ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
];

function rank(object: KubernetesObject): number {
  const index = ORDER.indexOf(object.kind ?? '');
  return index === -1 ? ORDER.length : index;
}
