import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_DIR, readKustomization } from '../cli/manifests.js';

test('readKustomization reads config/ as kubectl apply -k does: every resource, what others refer to first', async () => {
  const objects = await readKustomization(CONFIG_DIR);
  const names = objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`);
  for (const name of [
    'CustomResourceDefinition//imgateways.imring.dev',
    'Namespace//imring-system',
    'Namespace//imring-demo',
    'Deployment/imring-system/imring-operator',
    'Deployment/imring-demo/demo-proxy',
    'Deployment/imring-demo/demo-push',
    'Service/imring-demo/demo-proxy',
    'Service/imring-demo/demo-push',
    'NetworkPolicy/imring-demo/demo-push',
    'NetworkPolicy/imring-demo/demo-gateways',
  ]) {
    assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
  }
  const first = (kind: string): number => objects.findIndex((o) => o.kind === kind);
  const last = (kind: string): number => objects.findLastIndex((o) => o.kind === kind);
  assert.ok(last('Namespace') < first('CustomResourceDefinition'), 'namespaces first');
  assert.ok(last('CustomResourceDefinition') < first('ServiceAccount'), 'then CRDs');
  assert.ok(last('ServiceAccount') < first('RoleBinding'), 'accounts before their bindings');
  assert.ok(last('Service') < first('Deployment'), 'Services before Deployments');
  assert.equal(new Set(names).size, names.length, 'no object twice');
});

test('readKustomization refuses what it would only half apply, naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imring-kustomize-'));
  try {
    const write = (file: string, text: string): Promise<void> => writeFile(join(dir, file), text);
    await write('kustomization.yaml', 'resources: [a.yaml]\nimages: [{name: x, newTag: "2"}]\n');
    await write('a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    await assert.rejects(readKustomization(dir), /kustomization.yaml: imring reads only the resources .*not images/);
    await write('kustomization.yaml', 'resources: [https://example.com/x.yaml]\n');
    await assert.rejects(readKustomization(dir), /resource "https:\/\/example.com\/x.yaml" is not a local file/);
    await write('kustomization.yaml', 'resources: [b.yaml]\n');
    await write('b.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n');
    await assert.rejects(readKustomization(dir), /b.yaml: a document without kind or metadata.name/);
    await mkdir(join(dir, 'sub'));
    await write('sub/kustomization.yaml', 'resources: [..]\n');
    await write('kustomization.yaml', 'resources: [sub]\n');
    await assert.rejects(readKustomization(dir), /includes itself/);
    await write('kustomization.yaml', 'resources: [a.yaml, missing.yaml]\n');
    await assert.rejects(readKustomization(dir), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
