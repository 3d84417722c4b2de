/** The cluster tests' shared builders: a StatefulSet of the test server and a wait for its Ready pods. */
import { join } from 'node:path';
import { CoreV1Api, type V1Pod, type V1PodTemplateSpec, type V1StatefulSet } from '@kubernetes/client-node';
import type { LocalCluster } from '../../local/cluster.js';
import { repoRoot } from '../support/fixtures.js';
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
