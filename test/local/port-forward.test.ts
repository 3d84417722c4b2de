import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { AppsV1Api, CoreV1Api, DiscoveryV1Api, type V1Pod } from '@kubernetes/client-node';
import type { LocalCluster } from '../../local/cluster.js';
import type { ServedRequest } from '../../local/apiserver/api-server.js';
import { KUBECTL, KubectlWatch, runKubectl, type KubectlResult } from '../support/kubectl.js';
import { watchUntil } from '../support/wait.js';
import { webPodTemplate, withCluster } from './cluster-fixtures.js';

/**
 * kubectl's streaming commands on the local control plane: `port-forward` to a pod, a Service
 * and a Deployment (over the websocket tunnel kubectl 1.32 tries first, and over its SPDY
 * fallback), `kubectl proxy` to pods and Services, and the errors of `exec`, `attach` and `cp`.
 */

const SERVICE_PORT = 9000;

/** What one HTTP request through a forwarded port or the proxy answered. */
interface Answer {
  status: number;
  body: string;
}

function fetchText(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function kubectl(cluster: LocalCluster, args: readonly string[]): Promise<KubectlResult> {
  return runKubectl(cluster.kubeconfigPath, dirname(cluster.kubeconfigPath), args);
}

/** A long-running kubectl (port-forward, proxy) against `cluster`; the caller stops it. */
function startKubectl(cluster: LocalCluster, args: readonly string[], env: NodeJS.ProcessEnv = {}): KubectlWatch {
  const dir = dirname(cluster.kubeconfigPath);
  const argv = ['--kubeconfig', cluster.kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args];
  const child = spawn(KUBECTL, argv, {
    env: { PATH: process.env.PATH, HOME: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new KubectlWatch(child);
}

/** Runs `kubectl port-forward <target> :<port>` for `body`, with the local port it chose. */
async function withPortForward(
  cluster: LocalCluster,
  forward: { target: string; port: number; env?: NodeJS.ProcessEnv },
  body: (localPort: number, watch: KubectlWatch) => Promise<void>,
): Promise<void> {
  const args = ['port-forward', '--address', '127.0.0.1', forward.target, `:${forward.port}`];
  const watch = startKubectl(cluster, args, forward.env);
  try {
    // A Service's port is shown as the container port kubectl resolved it to.
    const line = await watch.line(/^Forwarding from 127\.0\.0\.1:\d+ -> \d+$/);
    await body(Number(/:(\d+) ->/.exec(line)![1]), watch);
  } finally {
    await watch.stop();
  }
}

/** The IP address of the pod of the test server that answered GET /env. */
async function podIpBehind(port: number, path = '/env'): Promise<string> {
  const answer = await fetchText(port, path);
  assert.equal(answer.status, 200, answer.body);
  return (JSON.parse(answer.body) as { env: Record<string, string> }).env.POD_IP!;
}

async function startWorkloads(cluster: LocalCluster): Promise<{ web: V1Pod; api: V1Pod }> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  await core.createNamespacedPod({
    namespace: 'default',
    body: { metadata: { name: 'web-a', labels: { app: 'web' } }, spec: webPodTemplate().spec! },
  });
  const ports = [{ name: 'web', port: SERVICE_PORT, targetPort: 'http' }];
  await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports } },
  });
  const template = webPodTemplate();
  template.metadata = { labels: { app: 'api' } };
  await cluster.kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
    namespace: 'default',
    body: { metadata: { name: 'api' }, spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template } },
  });
  const ready = (pod: V1Pod): boolean =>
    pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const pods = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', async () => {
    const items = (await core.listNamespacedPod({ namespace: 'default' })).items.filter(ready);
    const web = items.find((p) => p.metadata?.labels?.app === 'web');
    const api = items.find((p) => p.metadata?.labels?.app === 'api');
    return web && api ? { web, api } : undefined;
  });
  await webEndpointReady(cluster);
  return pods;
}

/** Resolves once Service `web` has a ready endpoint (its pod may have been unready a moment). */
async function webEndpointReady(cluster: LocalCluster): Promise<void> {
  const discovery = cluster.kc.makeApiClient(DiscoveryV1Api);
  await watchUntil(cluster.kc, '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', async () => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: 'default',
      labelSelector: 'kubernetes.io/service-name=web',
    });
    return slices.items.some((s) => s.endpoints?.some((e) => e.conditions?.ready)) ? true : undefined;
  });
}

test('kubectl port-forward, proxy, exec, attach and cp on the local control plane', async (t) => {
  const requests: ServedRequest[] = [];
  await withCluster(
    async (cluster) => {
      const { web, api } = await startWorkloads(cluster);
      const webIp = web.status!.podIP!;
      const forwards = (): string[] =>
        requests.filter((r) => r.path.endsWith('/portforward')).map((r) => `${r.method} ${r.status}`);

      await t.test('port-forward to a pod goes over the websocket tunnel, each connection to the pod', async () => {
        requests.length = 0;
        await withPortForward(cluster, { target: 'pod/web-a', port: 8080 }, async (port) => {
          assert.equal(await podIpBehind(port), webIp);
          assert.deepEqual(await fetchText(port, '/unready', 'POST'), { status: 200, body: 'false' });
          assert.deepEqual(await fetchText(port, '/ready'), { status: 503, body: 'not ready' });
          assert.deepEqual(await fetchText(port, '/ready', 'POST'), { status: 200, body: 'true' });
          const answers = await Promise.all([1, 2, 3, 4].map(() => fetchText(port, '/healthz')));
          assert.deepEqual(new Set(answers.map((a) => `${a.status} ${a.body}`)), new Set(['200 ok']));
        });
        assert.deepEqual(forwards(), ['GET 101'], 'one websocket session, no fallback');
      });

      await t.test('port-forward falls back to SPDY when websockets are turned off', async () => {
        requests.length = 0;
        const env = { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' };
        await withPortForward(cluster, { target: 'pod/web-a', port: 8080, env }, async (port) => {
          assert.equal(await podIpBehind(port), webIp);
          assert.equal(await podIpBehind(port), webIp);
        });
        assert.deepEqual(forwards(), ['POST 101']);
      });

      await t.test('port-forward to a Service and a Deployment reaches one of their pods', async () => {
        await withPortForward(cluster, { target: 'svc/web', port: SERVICE_PORT }, async (port) => {
          assert.equal(await podIpBehind(port), webIp);
        });
        await withPortForward(cluster, { target: 'deploy/api', port: 8080 }, async (port) => {
          assert.equal(await podIpBehind(port), api.status!.podIP);
        });
      });

      await t.test('port-forward to a port nothing listens on reports the refused connection', async () => {
        await withPortForward(cluster, { target: 'pod/web-a', port: 9999 }, async (port, watch) => {
          await assert.rejects(fetchText(port, '/healthz'));
          await assert.rejects(
            watch.line(/a line kubectl never prints/),
            /exited before a line matched[\s\S]*error forwarding port 9999 to pod default\/web-a, uid [-0-9a-f]+: failed to connect to [.0-9]+:9999: connect ECONNREFUSED[\s\S]*lost connection to pod/,
          );
        });
      });

      await t.test('kubectl proxy relays to pods and Services, and says why it cannot', async () => {
        await checkProxy(cluster, webIp);
      });

      await t.test(
        'exec, attach and cp fail with a message saying the local control plane has no containers',
        async () => {
          const why = 'is not supported by the local control plane: pods are processes on this machine';
          for (const [args, verb] of [
            [['exec', 'web-a', '--', 'ls'], 'exec'],
            [['attach', 'web-a'], 'attach'],
            [['cp', `web-a:/etc/hosts`, join(dirname(cluster.kubeconfigPath), 'hosts')], 'exec'],
          ] as const) {
            const result = await kubectl(cluster, args);
            assert.equal(result.code, 1, args.join(' '));
            assert.match(result.stderr, new RegExp(`Error from server \\(MethodNotAllowed\\): ${verb} ${why}`));
          }
          const missing = await kubectl(cluster, ['exec', 'nope', '--', 'ls']);
          assert.match(missing.stderr, /pods "nope" not found/);
        },
      );

      await t.test('auth can-i answers for the streaming subresources', async () => {
        for (const resource of ['pods/portforward', 'pods/proxy', 'services/proxy']) {
          const result = await kubectl(cluster, ['auth', 'can-i', 'create', resource]);
          assert.deepEqual([result.code, result.stdout], [0, 'yes\n'], resource);
        }
      });
    },
    { apiServer: { onRequest: (r) => requests.push(r) } },
  );
});

async function checkProxy(cluster: LocalCluster, webIp: string): Promise<void> {
  const watch = startKubectl(cluster, ['proxy', '--port=0']);
  try {
    const line = await watch.line(/^Starting to serve on 127\.0\.0\.1:\d+$/);
    const port = Number(/:(\d+)$/.exec(line)![1]);
    await webEndpointReady(cluster);
    const at = (path: string): string => `/api/v1/namespaces/default/${path}`;
    assert.equal(await podIpBehind(port, at('pods/web-a:8080/proxy/env')), webIp);
    assert.equal(await podIpBehind(port, at('pods/http:web-a:http/proxy/env')), webIp, 'a named port');
    assert.equal(await podIpBehind(port, at('pods/web-a/proxy/env')), webIp, 'the first container port');
    assert.equal(await podIpBehind(port, at(`services/web:${SERVICE_PORT}/proxy/env`)), webIp);
    assert.equal(await podIpBehind(port, at('services/web:web/proxy/env')), webIp, 'a Service port by name');
    assert.deepEqual(await fetchText(port, at('pods/web-a:8080/proxy/unready'), 'POST'), {
      status: 200,
      body: 'false',
    });
    assert.deepEqual(await fetchText(port, at('pods/web-a:8080/proxy/ready')), { status: 503, body: 'not ready' });
    assert.deepEqual(await fetchText(port, at('pods/web-a:8080/proxy/ready'), 'POST'), { status: 200, body: 'true' });
    await fetchText(port, at('pods/web-a:8080/proxy/a/b?x=1&y=%20'));
    const logs = await kubectl(cluster, ['logs', 'web-a']);
    assert.match(logs.stdout, /^GET \/a\/b\?x=1&y=%20$/m, 'the path and query reach the pod as sent');

    const failures: [string, number, RegExp][] = [
      ['pods/nope:8080/proxy/', 404, /pods "nope" not found/],
      ['services/web:9/proxy/', 503, /no service port 9 found for service "web"/],
      ['services/web/proxy/', 503, /no endpoints available for service "web"/],
      ['pods/web-a:9999/proxy/', 503, /error trying to reach service: connect ECONNREFUSED/],
      ['pods/ftp:web-a:8080/proxy/', 400, /invalid pod request "ftp:web-a:8080"/],
    ];
    for (const [path, status, message] of failures) {
      const answer = await fetchText(port, at(path));
      assert.equal(answer.status, status, path);
      assert.match((JSON.parse(answer.body) as { message: string }).message, message, path);
    }
  } finally {
    await watch.stop();
  }
}
