import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CoreV1Api, Watch, type V1Container, type V1Pod, type V1PodStatus } from '@kubernetes/client-node';
import type { LocalCluster } from '../../local/cluster.js';
import { runKubectl, type KubectlResult } from '../support/kubectl.js';
import { watchUntil } from '../support/wait.js';
import { webPodTemplate, withCluster } from './cluster-fixtures.js';

/**
 * What `kubectl describe`, `get events`, `get -o wide` and `logs` show of running pods, driven
 * by the real kubectl: Events counted on one Event, probe defaults, pod addresses for every
 * kind of owner, and logs with timestamps, since, since-time and the previous run.
 */

const PODS = '/api/v1/namespaces/default/pods';
const EVENTS = '/api/v1/namespaces/default/events';

/** kubectl against `cluster`, its files in a temp dir. */
async function withKubectl(cluster: LocalCluster, body: (kubectl: Kubectl) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-observe-'));
  try {
    await body(new Kubectl(cluster, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

class Kubectl {
  readonly #cluster: LocalCluster;
  readonly #dir: string;

  constructor(cluster: LocalCluster, dir: string) {
    this.#cluster = cluster;
    this.#dir = dir;
  }

  run(...args: string[]): Promise<KubectlResult> {
    return runKubectl(this.#cluster.kubeconfigPath, this.#dir, args);
  }

  async ok(...args: string[]): Promise<string> {
    const result = await this.run(...args);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  async apply(...objects: unknown[]): Promise<void> {
    const path = join(this.#dir, 'manifest.yaml');
    await writeFile(path, objects.map((o) => stringify(o)).join('---\n'));
    await this.ok('apply', '-f', path);
  }
}

/** The test server as a container, without the probe of app=web: it logs `listening on …` and one line per request. */
function server(extra: Partial<V1Container> = {}): V1Container {
  const { readinessProbe: _probe, ...container } = webPodTemplate().spec!.containers[0]!;
  return { ...container, ...extra };
}

function pod(name: string, container: V1Container): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: { terminationGracePeriodSeconds: 1, containers: [container] },
  };
}

/** A workload of kind `kind`: one pod of the test server, a TCP liveness probe without timing, app=`name`. */
function workload(kind: 'Deployment' | 'StatefulSet', name: string): Record<string, unknown> {
  const container = server({ livenessProbe: { tcpSocket: { port: 'http' } } });
  const template = { metadata: { labels: { app: name } }, spec: pod(name, container).spec };
  const spec = { replicas: 1, selector: { matchLabels: { app: name } }, template };
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name },
    spec: kind === 'StatefulSet' ? { ...spec, serviceName: name } : spec,
  };
}

/** The running pods, once `count` are Running (and Ready, with `ready`). */
function runningPods(cluster: LocalCluster, count: number, options: { ready?: boolean } = {}): Promise<V1Pod[]> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const isReady = (p: V1Pod): boolean =>
    p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return watchUntil(cluster.kc, PODS, async (observe) => {
    const pods = (await core.listNamespacedPod({ namespace: 'default' })).items;
    observe(pods.map((p) => `${p.metadata?.name}: ${p.status?.phase}`));
    const running = pods.filter((p) => p.status?.phase === 'Running' && (!options.ready || isReady(p)));
    return running.length === count ? running : undefined;
  });
}

/**
 * Watches pod `name` (not created yet); resolves once the watch is on, with the first status of
 * the pod that has a pod IP.
 */
async function firstStatusWithAddress(cluster: LocalCluster, name: string): Promise<{ first: Promise<V1PodStatus> }> {
  let found: (status: V1PodStatus) => void = () => undefined;
  const first = new Promise<V1PodStatus>((resolve) => (found = resolve));
  const watch = await new Watch(cluster.kc).watch(
    PODS,
    { fieldSelector: `metadata.name=${name}` },
    (_type: string, pod: V1Pod) => {
      if (pod.status?.podIP) found(pod.status);
    },
    () => undefined,
  );
  return { first: first.finally(() => watch.abort()) };
}

test('a failing probe is one Event counted up; describe shows probe defaults; every running pod has its addresses', async () => {
  await withCluster(async (cluster) => {
    await withKubectl(cluster, async (kubectl) => {
      const firstAddressed = await firstStatusWithAddress(cluster, 'bare');
      const unready = server({ readinessProbe: { httpGet: { path: '/missing', port: 'http' }, periodSeconds: 1 } });
      await kubectl.apply(
        pod('bare', server()),
        pod('unready', unready),
        workload('Deployment', 'dweb'),
        workload('StatefulSet', 'sweb'),
      );
      await runningPods(cluster, 4);

      const core = cluster.kc.makeApiClient(CoreV1Api);
      // The first attempts may find the server not yet listening: a message (and an Event) of their own.
      const notFound = 'Readiness probe failed: HTTP probe failed with statuscode: 404';
      const failures = await watchUntil(cluster.kc, EVENTS, async (observe) => {
        const list = await core.listNamespacedEvent({
          namespace: 'default',
          fieldSelector: 'involvedObject.name=unready,reason=Unhealthy',
        });
        observe(list.items.map((e) => [e.message, e.count]));
        const same = list.items.filter((e) => e.message === notFound);
        return same.some((e) => (e.count ?? 0) >= 3) ? same : undefined;
      });
      assert.equal(failures.length, 1, 'one Event, counted up');
      const described = await kubectl.ok('describe', 'pod', 'unready');
      assert.match(
        described,
        /Readiness:\s+http-get http:\/\/:http\/missing delay=0s timeout=1s period=1s #success=1 #failure=3/,
      );
      assert.match(
        described,
        /Warning\s+Unhealthy\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Readiness probe failed: HTTP probe failed with statuscode: 404/,
      );
      const wide = await kubectl.ok('get', 'events', '-o', 'wide', '--field-selector', 'involvedObject.name=unready');
      const rows = wide.split('\n').filter((row) => row.includes('statuscode: 404'));
      assert.equal(rows.length, 1, `one event row:\n${wide}`);
      assert.match(
        rows[0]!,
        /Unhealthy\s+pod\/unready\s+kubelet.*Readiness probe failed: .*\s([3-9]|\d\d+)\s+unready\.[0-9a-f]+$/,
      );

      const jsonpath =
        '{range .items[*]}{.metadata.name} {.status.podIP} {.status.podIPs[0].ip} {.status.hostIP} {.status.hostIPs[0].ip}{"\\n"}{end}';
      const addresses = (await kubectl.ok('get', 'pods', '-o', `jsonpath=${jsonpath}`)).trim().split('\n');
      assert.equal(addresses.length, 4);
      for (const line of addresses) {
        const [name, podIP, firstPodIP, hostIP, firstHostIP] = line.split(' ');
        assert.match(podIP ?? '', /^127\.\d+\.\d+\.\d+$/, `${name} has a pod IP: ${line}`);
        assert.equal(firstPodIP, podIP, `${name}: podIPs[0] is podIP`);
        assert.equal(firstHostIP, hostIP, `${name}: hostIPs[0] is hostIP`);
        assert.match(hostIP ?? '', /^127\.0\.0\.1$/);
      }
      const first = await firstAddressed.first;
      assert.deepEqual(
        [first.podIP !== undefined, first.hostIP, first.containerStatuses?.[0]?.state?.waiting?.reason],
        [true, '127.0.0.1', 'ContainerCreating'],
        'the addresses show while the container is being created',
      );
      const probe = '{.spec.template.spec.containers[0].livenessProbe}';
      for (const owner of ['deployment/dweb', 'statefulset/sweb']) {
        const defaulted = JSON.parse(await kubectl.ok('get', owner, '-o', `jsonpath=${probe}`)) as unknown;
        assert.deepEqual(
          defaulted,
          {
            tcpSocket: { port: 'http' },
            timeoutSeconds: 1,
            periodSeconds: 10,
            successThreshold: 1,
            failureThreshold: 3,
          },
          `${owner}: the template's probe is defaulted`,
        );
      }
      const table = await kubectl.ok('get', 'pods', '-o', 'wide', '--no-headers');
      for (const row of table.trim().split('\n')) assert.match(row, /\s127\.\d+\.\d+\.\d+\s/, `an IP in: ${row}`);
    });
  });
});

test('logs: timestamps, since, since-time, limit-bytes, and the previous run after a restart', async () => {
  await withCluster(async (cluster) => {
    await withKubectl(cluster, async (kubectl) => {
      // A TCP probe, which the server does not log: Ready once it listens.
      await kubectl.apply(pod('talker', server({ readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 } })));
      const [running] = await runningPods(cluster, 1, { ready: true });
      const base = `http://${running!.status!.podIP}:8080`;
      const none = await kubectl.run('logs', 'talker', '--previous');
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /previous terminated container "server" in pod "talker" not found/);

      for (let i = 0; i < 3; i++) assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const stamped = (await kubectl.ok('logs', 'talker', '--timestamps')).trim().split('\n');
      assert.equal(stamped.length, 4, stamped.join('\n'));
      const times = stamped.map((line) => {
        const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z (listening on .*|GET \/healthz)$/.exec(line);
        assert.ok(match, `an RFC 3339 nanosecond stamp, then the line: ${line}`);
        return { second: match[1]!, line: match[3]!, at: `${match[1]}.${match[2]}` };
      });
      assert.deepEqual(
        [...times].sort((a, b) => a.at.localeCompare(b.at)),
        times,
        'in the order written',
      );
      const plain = await kubectl.ok('logs', 'talker');
      assert.equal(plain, times.map((t) => `${t.line}\n`).join(''));

      assert.equal(await kubectl.ok('logs', 'talker', '--since=1h'), plain);
      assert.equal(await kubectl.ok('logs', 'talker', `--since-time=${times[0]!.second}Z`), plain);
      const lastSecond = times.at(-1)!.second;
      const fromLast = times.filter((t) => t.second >= lastSecond).map((t) => `${t.line}\n`);
      assert.equal(await kubectl.ok('logs', 'talker', `--since-time=${lastSecond}Z`), fromLast.join(''));
      const after = new Date(Date.parse(`${lastSecond}Z`) + 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      assert.equal(await kubectl.ok('logs', 'talker', `--since-time=${after}`), '');
      assert.equal(await kubectl.ok('logs', 'talker', '--timestamps', '--tail=1'), `${stamped.at(-1)}\n`);
      assert.equal(await kubectl.ok('logs', 'talker', '--timestamps', '--limit-bytes=20'), stamped[0]!.slice(0, 20));
      const raw = (query: string): Promise<KubectlResult> =>
        kubectl.run('get', '--raw', `/api/v1/namespaces/default/pods/talker/log?${query}`);
      assert.match((await raw('sinceSeconds=0')).stderr, /sinceSeconds must be an integer greater than or equal to 1/);
      assert.match(
        (await raw(`sinceSeconds=5&sinceTime=${after}`)).stderr,
        /at most one of `sinceTime` or `sinceSeconds` may be specified/,
      );

      assert.equal((await fetch(`${base}/crash`, { method: 'POST' })).status, 200);
      const core = cluster.kc.makeApiClient(CoreV1Api);
      await watchUntil(cluster.kc, PODS, async () => {
        const status = (await core.readNamespacedPod({ name: 'talker', namespace: 'default' })).status;
        const container = status?.containerStatuses?.[0];
        return container?.restartCount === 1 && container.state?.running ? true : undefined;
      });
      const previous = await kubectl.ok('logs', 'talker', '--previous');
      assert.equal(previous, `${plain}POST /crash\ncrashing\n`, 'the run before the restart, to its last line');
      const previousStamped = await kubectl.ok('logs', 'talker', '--previous', '--timestamps', '--tail=1');
      assert.match(previousStamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z crashing\n$/);
      const current = await watchUntil(cluster.kc, PODS, async () => {
        const log = await kubectl.ok('logs', 'talker');
        return log === '' ? undefined : log;
      });
      assert.match(current, /^listening on /);
      assert.doesNotMatch(current, /crashing/);
    });
  });
});
