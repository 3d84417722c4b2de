/** The cluster tests' shared builders: a cluster, a StatefulSet of the test server and a wait for its Ready pods. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod, type V1PodTemplateSpec, type V1StatefulSet } from '@kubernetes/client-node';
import { LocalCluster, type LocalClusterOptions } from '../../local/cluster.js';
import { repoRoot } from '../support/fixtures.js';
import { isGone } from '../support/wait.js';
export const TEST_IMAGE = 'imring-test/server:1';
/** The test server's image, for `LocalCluster`'s `images`. */
export const images = { 'imring-test/server': [process.execPath, join(repoRoot, 'dist/test/fixtures/test-server.js')] };

/** A StatefulSet of the test server with a readiness probe, and its headless service. */
export function webStatefulSet(replicas: number): V1StatefulSet {
  return {
    metadata: { name: 'web' },
    spec: {
      replicas,
      serviceName: 'web',
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'web' } },
      template: webPodTemplate(),
    },
  };
}

/** The pod template of app=web: the test server on its pod address, Ready when its /ready answers. */
export function webPodTemplate(): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'web' } },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'server',
          image: TEST_IMAGE,
          env: [
            { name: 'PORT', value: '8080' },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          ],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/** Names of the Ready pods of app=web, sorted, once exactly `count` are Ready and no other exists. */
export function readyWebPods(cluster: LocalCluster, count: number): () => Promise<V1Pod[] | undefined> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  return async () => {
    const pods = (await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' })).items;
    const ready = pods.filter(
      (p) =>
        !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return ready.length === count && pods.length === count
      ? ready.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))
      : undefined;
  };
}

/**
 * Runs `body` with a started cluster of the test server's image (state in a temp dir), then
 * closes it (three times: close is idempotent) and checks that no pod process outlived it.
 */
export async function withCluster(
  body: (cluster: LocalCluster) => Promise<void>,
  options: Omit<LocalClusterOptions, 'stateDir' | 'images' | 'onError'> = {},
): Promise<void> {
  const stateDir = await mkdtemp(join(tmpdir(), 'imring-cluster-'));
  const errors: string[] = [];
  const cluster = new LocalCluster({
    stateDir,
    images,
    ...options,
    onError: (c, e) => errors.push(`${c}: ${String(e)}`),
  });
  try {
    await cluster.start();
    await body(cluster);
  } finally {
    const pids = cluster.pids();
    await Promise.all([cluster.close(), cluster.close(), cluster.close()]);
    assert.deepEqual(
      pids.filter((pid) => !isGone(pid)),
      [],
      'no pod process outlives the cluster',
    );
    await rm(stateDir, { recursive: true, force: true });
  }
}
