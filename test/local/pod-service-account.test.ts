import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { LocalCluster } from '../../local/cluster.js';
import { repoRoot } from '../support/fixtures.js';
import { runKubectl } from '../support/kubectl.js';
import { watchUntil } from '../support/wait.js';

const images = { 'imring-test/server': [process.execPath, join(repoRoot, 'dist/test/fixtures/test-server.js')] };

function pod(name: string, serviceAccountName?: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      ...(serviceAccountName ? { serviceAccountName } : {}),
      containers: [{ name: 'server', image: 'imring-test/server:1', env: [{ name: 'PORT', value: '8080' }] }],
    },
  };
}

test('with podCredentials serviceAccount, a pod runs as its ServiceAccount and waits for a missing one', async () => {
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-sa-'));
  const cluster = new LocalCluster({ stateDir, images, podCredentials: 'serviceAccount' });
  try {
    await cluster.start();
    const core = cluster.kc.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace: 'default', body: pod('plain') });
    await core.createNamespacedPod({ namespace: 'default', body: pod('robot', 'robot') });
    const running = (name: string) => async () => {
      const live = await core.readNamespacedPod({ name, namespace: 'default' });
      return live.status?.phase === 'Running' ? live : undefined;
    };
    const plain = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', running('plain'));
    const warned = async () => {
      const events = await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: 'involvedObject.name=robot',
      });
      return events.items.find((e) => e.reason === 'FailedMount')?.message;
    };
    const message = await watchUntil(cluster.kc, '/api/v1/namespaces/default/events', warned);
    assert.equal(message, 'MountVolume.SetUp failed for volume "kube-api-access": serviceaccount "robot" not found');
    assert.notEqual((await core.readNamespacedPod({ name: 'robot', namespace: 'default' })).status?.phase, 'Running');

    const dir = join(stateDir, 'pods', 'default');
    const plainDir = (await readdir(dir)).find((d) => d.startsWith('plain-'))!;
    const kubeconfig = join(dir, plainDir, 'kubeconfig');
    const denied = await runKubectl(kubeconfig, stateDir, ['get', 'configmaps']);
    assert.equal(
      denied.stderr.trim(),
      'Error from server (Forbidden): configmaps is forbidden: User "system:serviceaccount:default:default" cannot list resource "configmaps" in API group "" in the namespace "default"',
    );
    assert.equal(plain.spec?.serviceAccountName ?? 'default', 'default');

    await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'robot' } } });
    await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', running('robot'));
  } finally {
    await cluster.close();
    await rm(stateDir, { recursive: true, force: true });
  }
});
