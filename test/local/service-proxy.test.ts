import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { Agent, get } from 'node:http';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { CoreV1Api, DiscoveryV1Api, type V1Pod } from '@kubernetes/client-node';
import type { LocalCluster } from '../../local/cluster.js';
import { randomFirstServiceAddress } from '../../local/apiserver/store/service-addresses.js';
import { SERVICE_LISTEN_BACKLOG } from '../../local/controllers/service-proxy.js';
import { runKubectl } from '../support/kubectl.js';
import { watchUntil } from '../support/wait.js';
import { webStatefulSet, withCluster } from './cluster-fixtures.js';

const PORT = 9000;
const run = promisify(execFile);
const SLICES = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';

/** A bare pod of the test server (app=web), so that a deleted one is not replaced. */
function webPod(name: string): V1Pod {
  return { metadata: { name, labels: { app: 'web' } }, spec: webStatefulSet(1).spec!.template.spec! };
}

/** The pod IP that answered a GET /env through `host:port`, over `agent`'s connections. */
function servedBy(host: string, agent: Agent | false = false): Promise<{ ip: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const request = get({ host, port: PORT, path: '/env', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const { env } = JSON.parse(body) as { env: Record<string, string> };
        resolve({ ip: env.POD_IP!, reused: request.reusedSocket });
      });
    });
    request.on('error', reject);
  });
}

function kubectl(
  cluster: LocalCluster,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runKubectl(cluster.kubeconfigPath, dirname(cluster.kubeconfigPath), args);
}

/** The ready addresses of the Service's slices once they are exactly `ips`. */
function sliceListing(cluster: LocalCluster, ips: readonly string[]): () => Promise<string[] | undefined> {
  const discovery = cluster.kc.makeApiClient(DiscoveryV1Api);
  return async () => {
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: 'default',
      labelSelector: 'kubernetes.io/service-name=web',
    });
    const ready = slices.items
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready && e.conditions.serving && !e.conditions.terminating)
      .flatMap((e) => e.addresses)
      .sort();
    return JSON.stringify(ready) === JSON.stringify([...ips].sort()) ? ready : undefined;
  };
}

/** The accept queue of the listening socket on `ip:port`, as `ss` shows it (its Send-Q column). */
async function listenBacklog(ip: string, port: number): Promise<number> {
  const { stdout } = await run('ss', ['-Hltn', `src ${ip}:${port}`]);
  const columns = stdout.trim().split(/\s+/);
  assert.equal(columns[0], 'LISTEN', stdout);
  return Number(columns[2]);
}

/** The service proxy's backlog as the kernel caps it. */
async function expectedBacklog(): Promise<number> {
  const somaxconn = Number(await readFile('/proc/sys/net/core/somaxconn', 'utf8'));
  return Math.min(SERVICE_LISTEN_BACKLOG, somaxconn);
}

/** Addresses of the range starting at `first` that no Service holds but `taken`'s. */
function spareAddresses(first: string, taken: string): string[] {
  const base = first.replace(/\.1$/, '');
  return [2, 3, 4, 5].map((n) => `${base}.${n}`).filter((a) => a !== taken);
}

test('a ClusterIP Service forwards to its ready pods, follows a deletion, and shows in kubectl and the hosts file', async () => {
  const first = randomFirstServiceAddress();
  let virtual = '';
  await withCluster(
    async (cluster) => {
      const core = cluster.kc.makeApiClient(CoreV1Api);
      const spec = { selector: { app: 'web' }, ports: [{ name: 'web', port: PORT, targetPort: 'http' }] };
      const service = await core.createNamespacedService({
        namespace: 'default',
        body: { metadata: { name: 'web' }, spec },
      });
      const clusterIP = service.spec!.clusterIP!;
      for (const name of ['web-a', 'web-b'])
        await core.createNamespacedPod({ namespace: 'default', body: webPod(name) });
      const pods = await watchUntil(cluster.kc, '/api/v1/namespaces/default/pods', async () => {
        const items = (await core.listNamespacedPod({ namespace: 'default' })).items;
        const ready = items.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        return ready.length === 2 ? ready : undefined;
      });
      const ips = pods.map((p) => p.status!.podIP!);
      await watchUntil(cluster.kc, SLICES, sliceListing(cluster, ips));

      const seen = new Set<string>();
      for (let i = 0; i < 200 && seen.size < 2; i++) seen.add((await servedBy(clusterIP)).ip);
      assert.deepEqual([...seen].sort(), [...ips].sort(), 'connections reach both pods');

      const svc = await kubectl(cluster, ['get', 'svc', 'web']);
      assert.match(svc.stdout, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\n/);
      assert.match(
        svc.stdout,
        new RegExp(`\\nweb\\s+ClusterIP\\s+${clusterIP.replaceAll('.', '\\.')}\\s+<none>\\s+9000/TCP\\s+`),
      );
      const describe = await kubectl(cluster, ['describe', 'svc', 'web']);
      const listed = [...ips].sort().map((ip) => `${ip}:8080`);
      assert.match(
        describe.stdout,
        new RegExp(`Endpoints:\\s+(${listed.join(',')}|${[...listed].reverse().join(',')})`),
      );
      const slices = await kubectl(cluster, ['get', 'endpointslices']);
      assert.match(slices.stdout, /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\n/);
      assert.match(slices.stdout, /\nweb-[bcdfghjklmnpqrstvwxz2456789]{5}\s+IPv4\s+8080\s+127\./);
      const hosts = await readFile(cluster.hostsFile, 'utf8');
      assert.ok(hosts.includes(`${clusterIP}\tweb.default.svc.cluster.local\n`), hosts);
      assert.equal(await listenBacklog(clusterIP, PORT), await expectedBacklog(), 'a burst of connects queues');

      // An open connection to one pod; the other pod goes.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const survivor = (await servedBy(clusterIP, agent)).ip;
        const doomed = pods.find((p) => p.status?.podIP !== survivor)!.metadata!.name!;
        await core.deleteNamespacedPod({ name: doomed, namespace: 'default' });
        await watchUntil(cluster.kc, SLICES, sliceListing(cluster, [survivor]));
        for (let i = 0; i < 20; i++) assert.equal((await servedBy(clusterIP)).ip, survivor);
        assert.deepEqual(await servedBy(clusterIP, agent), { ip: survivor, reused: true }, 'the open connection stays');
      } finally {
        agent.destroy();
      }
      await refusals(cluster, clusterIP, first);
      await bindWarnings(cluster, spareAddresses(first, clusterIP)[1]!);
      virtual = clusterIP;
    },
    { firstServiceAddress: first },
  );
  const refused = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host: virtual, port: PORT });
    socket.once('connect', () => resolve(undefined)).once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
  });
  assert.equal(refused, 'ECONNREFUSED', 'the closed cluster listens no more');
});

/** kubectl's refusals: a taken address, a NodePort; and a server dry run that reserves nothing. */
async function refusals(cluster: LocalCluster, taken: string, first: string): Promise<void> {
  const create = async (name: string, spec: Record<string, unknown>, ...flags: string[]) => {
    const path = join(cluster.stateDir, `${name}.yaml`);
    const ports = [{ port: 9001 }];
    await writeFile(
      path,
      stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports, ...spec } }),
    );
    return kubectl(cluster, ['create', '-f', path, ...flags]);
  };
  const twice = await create('twice', { clusterIP: taken });
  assert.equal(twice.code, 1);
  assert.match(
    twice.stderr,
    /The Service "twice" is invalid: spec\.clusterIPs: Invalid value: .*provided IP is already allocated/,
  );
  const nodePort = await create('np', { type: 'NodePort' });
  assert.equal(nodePort.code, 1);
  assert.match(
    nodePort.stderr,
    /spec\.type: Unsupported value: "NodePort".*the local control plane serves ClusterIP and headless Services only/,
  );
  const [free] = spareAddresses(first, taken);
  const dry = await create('dry', { clusterIP: free }, '--dry-run=server');
  assert.equal(dry.code, 0, dry.stderr);
  const core = cluster.kc.makeApiClient(CoreV1Api);
  assert.equal((await core.listNamespacedService({ namespace: 'default' })).items.length, 1);
  const real = await create('real', { clusterIP: free });
  assert.equal(real.code, 0, `the dry run reserved ${free}: ${real.stderr}`);
}

/** A port bound by another process and a UDP port: Warning Events on the Service saying why. */
async function bindWarnings(cluster: LocalCluster, address: string): Promise<void> {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(9200, address, resolve));
  try {
    const core = cluster.kc.makeApiClient(CoreV1Api);
    const ports = [
      { name: 'a', port: 9200 },
      { name: 'u', port: 9201, protocol: 'UDP' },
    ];
    const body = { metadata: { name: 'busy' }, spec: { clusterIP: address, selector: { app: 'web' }, ports } };
    await core.createNamespacedService({ namespace: 'default', body });
    const events = await watchUntil(cluster.kc, '/api/v1/namespaces/default/events', async () => {
      const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=busy' });
      const found = list.items.filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`);
      return found.length === 2 ? found.sort() : undefined;
    });
    assert.match(events[0]!, new RegExp(`^FailedToListen: cannot listen on ${address}:9200: address already in use`));
    assert.match(
      events[1]!,
      /^UnsupportedProtocol: port 9201\/UDP is not forwarded: the local control plane forwards TCP only/,
    );
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}
