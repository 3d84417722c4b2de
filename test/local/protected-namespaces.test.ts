import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withKubectl } from '../support/kubectl.js';
import { createRaw, rawRequest } from '../support/local-api.js';

/**
 * The namespaces a cluster starts with exist and cannot be deleted, as kube-apiserver's
 * NamespaceLifecycle admission refuses it: 403 Forbidden, dry run or not.
 */

const PROTECTED = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

test('a new server has default, kube-system, kube-public and kube-node-lease, all Active', async () => {
  await withKubectl(async (k) => {
    const out = await k.ok(['get', 'ns', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}']);
    assert.deepEqual(out.trim().split(' ').sort(), PROTECTED.map((n) => `${n}=Active`).sort());
  });
});

test('kubectl delete ns fails with a cluster Forbidden for each protected namespace, dry run too, and keeps it', async () => {
  await withKubectl(async (k) => {
    const before = k.api.store.resourceVersion;
    for (const name of PROTECTED) {
      for (const flags of [[], ['--dry-run=server']]) {
        const result = await k.run(['delete', 'ns', name, ...flags]);
        assert.equal(result.code, 1, `${name} ${flags.join(' ')}`);
        assert.equal(
          result.stderr,
          `Error from server (Forbidden): namespaces "${name}" is forbidden: this namespace may not be deleted\n`,
        );
      }
    }
    assert.equal(k.api.store.resourceVersion, before);
    assert.equal((await k.ok(['get', 'ns', '-o', 'name'])).trim().split('\n').length, PROTECTED.length);
  });
});

test('the Forbidden Status names the namespace and the resource, as a cluster does', async () => {
  await withKubectl(async (k) => {
    const response = await rawRequest(k.api, '/api/v1/namespaces/default', { method: 'DELETE' });
    assert.equal(response.status, 403);
    assert.deepEqual(response.json(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'namespaces "default" is forbidden: this namespace may not be deleted',
      reason: 'Forbidden',
      details: { name: 'default', kind: 'namespaces' },
      code: 403,
    });
  });
});

test('a namespace of another name is still deleted with what it holds', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await createRaw(k.api, '/api/v1/namespaces/team/configmaps', { metadata: { name: 'c1' }, data: { a: '1' } });
    assert.equal(await k.ok(['delete', 'ns', 'team']), 'namespace "team" deleted\n');
    assert.equal((await rawRequest(k.api, '/api/v1/namespaces/team')).status, 404);
    assert.equal((await rawRequest(k.api, '/api/v1/namespaces/team/configmaps/c1')).status, 404);
  });
});
