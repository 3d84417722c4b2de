import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { DnsController, type FlushResult } from '../../local/controllers/dns.js';
import { hostRecords, hostsFileText } from '../../local/controllers/dns-records.js';
import { startLocalApi, until } from '../support/local-api.js';

function newService(
  name: string,
  init: {
    headless?: boolean;
    clusterIP?: string;
    publishNotReady?: boolean;
    namespace?: string;
    selector?: Record<string, string>;
  } = {},
): V1Service {
  return {
    metadata: { name, namespace: init.namespace ?? 'default' },
    spec: {
      selector: init.selector ?? { app: name },
      ports: [{ port: 80 }],
      ...(init.headless === false ? (init.clusterIP ? { clusterIP: init.clusterIP } : {}) : { clusterIP: 'None' }),
      ...(init.publishNotReady ? { publishNotReadyAddresses: true } : {}),
    },
  };
}

function newPod(
  name: string,
  init: {
    app: string;
    ip?: string;
    ready?: boolean;
    hostname?: string;
    subdomain?: string;
    namespace?: string;
    terminating?: boolean;
  },
): V1Pod {
  return {
    metadata: {
      name,
      namespace: init.namespace ?? 'default',
      labels: { app: init.app },
      ...(init.terminating ? { deletionTimestamp: new Date() } : {}),
    },
    spec: {
      containers: [{ name: 'c', image: 'x' }],
      ...(init.hostname ? { hostname: init.hostname } : {}),
      ...(init.subdomain ? { subdomain: init.subdomain } : {}),
    },
    status: {
      ...(init.ip ? { podIP: init.ip } : {}),
      conditions: [{ type: 'Ready', status: init.ready === false ? 'False' : 'True' }],
    },
  };
}

const lines = (services: V1Service[], pods: V1Pod[]): string[] =>
  hostRecords(services, pods).map((r) => `${r.ip} ${r.name}`);

test('a headless service names its ready pods, and each pod with a hostname in its subdomain', () => {
  const pods = [
    newPod('web-1', { app: 'web', ip: '127.1.0.2', hostname: 'web-1', subdomain: 'web' }),
    newPod('web-0', { app: 'web', ip: '127.1.0.1', hostname: 'web-0', subdomain: 'web' }),
    newPod('web-2', { app: 'web', ip: '127.1.0.3', hostname: 'web-2', subdomain: 'web', ready: false }),
    newPod('web-3', { app: 'web', hostname: 'web-3', subdomain: 'web' }),
    newPod('web-4', { app: 'web', ip: '127.1.0.5', hostname: 'web-4', subdomain: 'other' }),
    newPod('web-5', { app: 'web', ip: '127.1.0.6', terminating: true }),
    newPod('api-0', { app: 'api', ip: '127.1.0.9' }),
    newPod('web-0', { app: 'web', ip: '127.2.0.1', hostname: 'web-0', subdomain: 'web', namespace: 'prod' }),
  ];
  assert.deepEqual(lines([newService('web')], pods), [
    '127.1.0.1 web-0.web.default.svc.cluster.local',
    '127.1.0.2 web-1.web.default.svc.cluster.local',
    '127.1.0.1 web.default.svc.cluster.local',
    '127.1.0.2 web.default.svc.cluster.local',
    '127.1.0.5 web.default.svc.cluster.local',
  ]);
});

test('publishNotReadyAddresses lists pods whatever their readiness, but never without an IP', () => {
  const pods = [
    newPod('db-0', { app: 'db', ip: '127.1.0.1', hostname: 'db-0', subdomain: 'db', ready: false }),
    newPod('db-1', { app: 'db', hostname: 'db-1', subdomain: 'db' }),
  ];
  assert.deepEqual(lines([newService('db', { publishNotReady: true })], pods), [
    '127.1.0.1 db-0.db.default.svc.cluster.local',
    '127.1.0.1 db.default.svc.cluster.local',
  ]);
  assert.deepEqual(lines([newService('db')], pods), []);
});

test('a ClusterIP service names its virtual address alone, with or without a selector; a headless one without selector, nothing', () => {
  const pods = [
    newPod('api-0', { app: 'api', ip: '127.1.0.1', hostname: 'api-0', subdomain: 'api' }),
    newPod('api-1', { app: 'api', ip: '127.1.0.2', ready: false }),
  ];
  const clusterIP = '127.250.0.7';
  assert.deepEqual(lines([newService('api', { headless: false, clusterIP })], pods), [
    '127.250.0.7 api.default.svc.cluster.local',
  ]);
  assert.deepEqual(lines([newService('api', { headless: false, clusterIP, selector: {} })], []), [
    '127.250.0.7 api.default.svc.cluster.local',
  ]);
  assert.deepEqual(lines([newService('api', { headless: false })], pods), [], 'no address yet, no record');
  assert.deepEqual(lines([newService('api', { selector: {} })], pods), []);
});

test('the hosts file has a header and one sorted line per record, under the given domain', () => {
  const records = hostRecords(
    [newService('web')],
    [newPod('web-0', { app: 'web', ip: '127.1.0.1' })],
    'example.internal',
  );
  const text = hostsFileText(records, 'example.internal');
  assert.match(text, /^# /);
  assert.match(text, /A ClusterIP Service name resolves to its virtual address/);
  assert.ok(text.endsWith('\n127.1.0.1\tweb.default.svc.example.internal\n'));
});

test('the controller keeps the hosts file in step with pods and services, replacing it atomically', async () => {
  const api = await startLocalApi();
  const dir = await mkdtemp(join(tmpdir(), 'imring-dns-'));
  const hostsFile = join(dir, 'hosts');
  const core = api.kc.makeApiClient(CoreV1Api);
  const flushes: FlushResult[] = [];
  const errors: unknown[] = [];
  let notify = (): void => undefined;
  const dns = new DnsController({
    kc: api.kc,
    hostsFile,
    onError: (e) => errors.push(e),
    onFlush: (f) => (flushes.push(f), notify()),
  });
  const flushed = <T>(predicate: () => T | undefined | false): Promise<T> =>
    until<T>(
      (n) => ((notify = n), () => (notify = () => undefined)),
      () => predicate() || undefined,
    );
  const latest = (): string => flushes.at(-1)?.content ?? '';
  // A reader racing the writer: every version it reads must be one the controller wrote whole.
  const seen = new Set<string>();
  let reading = true;
  const reader = (async () => {
    while (reading) seen.add(await readFile(hostsFile, 'utf8').catch(() => ''));
  })();
  try {
    await writeFile(hostsFile, 'stale\n');
    await dns.start();
    assert.match(await readFile(hostsFile, 'utf8'), /^# Cluster DNS/, 'start() resolves after the first write');
    const setStatus = (name: string, ready: boolean): Promise<V1Pod> =>
      core.patchNamespacedPodStatus({
        name,
        namespace: 'default',
        body: [
          { op: 'add', path: '/status/podIP', value: `127.1.0.${Number(name.slice(-1)) + 1}` },
          { op: 'add', path: '/status/conditions', value: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
        ],
      });
    await core.createNamespacedService({ namespace: 'default', body: newService('web') });
    for (const name of ['web-0', 'web-1']) {
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name, labels: { app: 'web' } },
          spec: { hostname: name, subdomain: 'web', containers: [{ name: 'c', image: 'x' }] },
        },
      });
    }
    await setStatus('web-0', true);
    await setStatus('web-1', false);
    await flushed(() => latest().includes('web-0.web.default.svc.cluster.local'));
    assert.deepEqual(
      latest()
        .split('\n')
        .filter((l) => !l.startsWith('#') && l !== ''),
      ['127.1.0.1\tweb-0.web.default.svc.cluster.local', '127.1.0.1\tweb.default.svc.cluster.local'],
    );
    const before = await stat(hostsFile);

    // A change that alters no record: a pass, but no write.
    const passes = flushes.length;
    await core.patchNamespacedPod({
      name: 'web-0',
      namespace: 'default',
      body: [{ op: 'add', path: '/metadata/labels/unrelated', value: 'x' }],
    });
    await flushed(() => flushes.length > passes);
    assert.equal(flushes.at(-1)!.changed, false);
    const after = await stat(hostsFile);
    assert.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], 'the file was not rewritten');

    await setStatus('web-1', true);
    await flushed(() => latest().includes('web-1.web.default.svc.cluster.local'));
    assert.notEqual((await stat(hostsFile)).ino, before.ino, 'the file is replaced, not written in place');

    await setStatus('web-0', false);
    await setStatus('web-1', false);
    await flushed(() => !latest().includes('web.default.svc'));
    await core.patchNamespacedService({
      name: 'web',
      namespace: 'default',
      body: [{ op: 'add', path: '/spec/publishNotReadyAddresses', value: true }],
    });
    await flushed(() => latest().includes('web-0.web.default') && latest().includes('web-1.web.default'));

    await core.deleteNamespacedPod({ name: 'web-0', namespace: 'default' });
    await flushed(() => !latest().includes('web-0.web.default') && latest().includes('web-1.web.default'));
    assert.equal(await readFile(hostsFile, 'utf8'), latest());
    assert.deepEqual(errors, []);
  } finally {
    reading = false;
    await reader;
    await dns.close();
    await dns.close();
    await dns.close();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
  const written = new Set(flushes.map((f) => f.content));
  const torn = [...seen].filter((text) => text !== '' && text !== 'stale\n' && !written.has(text));
  assert.deepEqual(torn, [], 'a reader only ever saw complete versions');
  assert.ok(seen.size > 2, 'the reader saw several versions');
});

test('bad options throw at construction, naming the option', async () => {
  const api = await startLocalApi();
  try {
    assert.throws(() => new DnsController({ kc: api.kc, hostsFile: '' }), /hostsFile/);
    assert.throws(
      () => new DnsController({ kc: api.kc, hostsFile: '/tmp/x', clusterDomain: 'Bad_Domain' }),
      /clusterDomain/,
    );
    assert.throws(() => new DnsController({ kc: api.kc, hostsFile: '/tmp/x', coalesceMs: -1 }), RangeError);
  } finally {
    await api.close();
  }
});

test('start() rejects when the hosts file cannot be written', async () => {
  const api = await startLocalApi();
  const dns = new DnsController({ kc: api.kc, hostsFile: join(tmpdir(), 'imring-no-such-dir', 'sub', 'hosts') });
  try {
    await assert.rejects(dns.start(), /while writing the hosts file/);
  } finally {
    await dns.close();
    await api.close();
  }
});
