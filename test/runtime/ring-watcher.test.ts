import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  buildRingDocument,
  ringConfigMapName,
  serializeRingDocument,
  type GatewayRef,
  type Ring,
  type RingDocument,
  type RingState,
} from '../../ring/index.js';
import type { RingRefusal } from '../../ring/index.js';
import { RingWatcher } from '../../runtime/ring-watcher.js';
import { newMembers, sampleGateway } from '../support/fixtures.js';
import { putConfigMap, startLocalApi, type LocalApi } from '../support/local-api.js';
import { captureLogs } from '../support/logs.js';

const namespace = sampleGateway.namespace;
let api: LocalApi;
let core: CoreV1Api;

before(async () => {
  api = await startLocalApi();
  core = api.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});
after(() => api.close());

/** A test's own gateway: its ref, documents for it, and writes of its ConfigMap. */
function gatewayFixture(name: string): {
  ref: GatewayRef;
  doc(version: number, state: RingState, count?: number): RingDocument;
  put(data: Record<string, string>, annotations?: Record<string, string>): Promise<void>;
  putDoc(document: RingDocument | string): Promise<void>;
  remove(): Promise<void>;
  watcher(options?: { logger?: Logger; registry?: Registry }): RingWatcher;
} {
  const ref = { ...sampleGateway, name };
  const cmName = ringConfigMapName(name);
  return {
    ref,
    doc: (version, state, count = 3) =>
      buildRingDocument({
        gateway: ref,
        version,
        state,
        members: newMembers(count + version, name),
        previous: version === 1 ? null : { version: version - 1, members: newMembers(count + version - 1, name) },
        tableSize: 251,
      }),
    put: (data, annotations = {}) =>
      putConfigMap(core, namespace, { metadata: { name: cmName, namespace, annotations }, data }),
    putDoc(document) {
      return this.put({ 'ring.json': typeof document === 'string' ? document : serializeRingDocument(document) });
    },
    async remove() {
      await core.deleteNamespacedConfigMap({ name: cmName, namespace });
    },
    watcher: (options = {}) =>
      new RingWatcher({ kc: api.kc, namespace, gateway: name, retryBaseMs: 5, retryMaxMs: 50, ...options }),
  };
}

function nextRing(watcher: RingWatcher): Promise<Ring> {
  return new Promise((resolve) => {
    const off = watcher.onChange((ring) => {
      off();
      resolve(ring);
    });
  });
}

function nextError(watcher: RingWatcher): Promise<RingRefusal | undefined> {
  return new Promise((resolve) => {
    const off = watcher.onErrorChange((error) => {
      off();
      resolve(error);
    });
  });
}

async function rejectedCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('imring_ring_documents_rejected_total');
  const counts: Record<string, number> = {};
  for (const value of (await metric!.get()).values) counts[String(value.labels.code)] = value.value;
  return counts;
}

test('start resolves without a ring, and a written ring is served in well under a second', async () => {
  const gw = gatewayFixture('fast');
  const registry = new Registry();
  const watcher = gw.watcher({ registry });
  try {
    await watcher.start();
    assert.equal(watcher.current(), undefined);
    for (const version of [1, 2, 3]) {
      const changed = nextRing(watcher);
      const started = performance.now();
      await gw.putDoc(gw.doc(version, 'Prepared'));
      const ring = await changed;
      const elapsed = performance.now() - started;
      // The watch delivers it: no polling interval stands between the write and the change.
      assert.ok(elapsed < 500, `served after ${elapsed} ms`);
      assert.equal(ring.version, version);
      assert.equal(watcher.current(), ring);
      assert.equal(ring.members.length, 3 + version);
    }
    assert.equal((await registry.getSingleMetric('imring_ring_version')!.get()).values[0]!.value, 3);
    assert.equal((await registry.getSingleMetric('imring_ring_changes_total')!.get()).values[0]!.value, 3);
  } finally {
    await watcher.close();
    await watcher.close();
    await watcher.close();
  }
});

test('a ring written before start is served when start resolves', async () => {
  const gw = gatewayFixture('early');
  await gw.putDoc(gw.doc(4, 'Committed'));
  const watcher = gw.watcher();
  try {
    await watcher.start();
    assert.equal(watcher.current()?.version, 4);
    assert.equal(watcher.current()?.state, 'Committed');
  } finally {
    await watcher.close();
  }
});

/** Bad documents, each built from a good JSON value, with the code a reader must give. */
function badDocuments(good: RingDocument, other: RingDocument): { code: string; data: Record<string, string> }[] {
  const edit = (change: (value: any) => void): Record<string, string> => {
    const value = JSON.parse(JSON.stringify(good));
    change(value);
    return { 'ring.json': JSON.stringify(value) };
  };
  return [
    { code: 'IMRING_RING_INVALID_JSON', data: { 'ring.json': serializeRingDocument(good).slice(0, 100) } },
    { code: 'IMRING_RING_UNKNOWN_FORMAT', data: edit((v) => (v.format = 'imring.dev/ring/v2')) },
    { code: 'IMRING_RING_UNKNOWN_ALGORITHM', data: edit((v) => (v.algorithm.name = 'ketama')) },
    { code: 'IMRING_RING_INVALID_TABLE_SIZE', data: edit((v) => (v.algorithm.tableSize = 250)) },
    { code: 'IMRING_RING_DUPLICATE_MEMBER', data: edit((v) => void v.members.push(v.members[0])) },
    { code: 'IMRING_RING_CHECKSUM_MISMATCH', data: edit((v) => (v.checksum = `sha256:${'0'.repeat(64)}`)) },
    { code: 'IMRING_RING_INVALID_VERSION', data: edit((v) => (v.version = -3)) },
    { code: 'IMRING_RING_INVALID_STATE', data: edit((v) => (v.state = 'Draining')) },
    { code: 'IMRING_RING_INVALID_MEMBER_NAME', data: edit((v) => (v.members[0].name = 'Not_A_Label')) },
    { code: 'IMRING_RING_INVALID_HOST', data: edit((v) => (v.members[0].host = 'bad host')) },
    { code: 'IMRING_RING_INVALID_PORT', data: edit((v) => (v.members[0].ports.ws = 70000)) },
    { code: 'IMRING_RING_INVALID_PREVIOUS', data: edit((v) => (v.previous.version = 1)) },
    { code: 'IMRING_RING_INVALID_FIELD', data: edit((v) => (v.policy.handoffWindowMs = -1)) },
    { code: 'IMRING_RING_MISSING_DOCUMENT', data: { 'ring.txt': serializeRingDocument(good) } },
    { code: 'IMRING_RING_WRONG_GATEWAY', data: { 'ring.json': serializeRingDocument(other) } },
  ];
}

test('bad documents are refused, counted by code and reported, while the last good ring keeps serving', async () => {
  const gw = gatewayFixture('bad');
  const registry = new Registry();
  const logs = captureLogs();
  const watcher = gw.watcher({ registry, logger: logs.logger });
  try {
    await watcher.start();
    const served = nextRing(watcher);
    await gw.putDoc(gw.doc(2, 'Committed'));
    const good = await served;
    const bad = badDocuments(gw.doc(3, 'Prepared'), gatewayFixture('someone-else').doc(3, 'Prepared'));
    for (const { code, data } of bad) {
      const reported = nextError(watcher);
      await gw.put(data);
      assert.equal((await reported)?.code, code);
      assert.equal(watcher.lastError()?.code, code);
      assert.ok(watcher.lastError()!.message.length > 0);
      assert.equal(watcher.current(), good, `still serving version 2 after ${code}`);
    }
    const counts = await rejectedCounts(registry);
    assert.deepEqual(counts, Object.fromEntries(bad.map(({ code }) => [code, 1])));
    const refusals = logs.lines.filter(
      (line) => line.level === 40 && String(line.msg).startsWith('ring document refused'),
    );
    assert.deepEqual(
      refusals.map((line) => line.code),
      bad.map(({ code }) => code),
    );

    // A relist hands the same refused document over again: neither counted nor logged twice.
    api.faults.expireHistory();
    api.faults.dropWatches();
    const cleared = nextError(watcher);
    const next = nextRing(watcher);
    await gw.putDoc(gw.doc(3, 'Prepared'));
    assert.equal(await cleared, undefined);
    assert.equal((await next).version, 3);
    assert.equal(watcher.lastError(), undefined);
    assert.deepEqual(await rejectedCounts(registry), counts);
  } finally {
    await watcher.close();
  }
});

test('a lower version, a reused version and a Committed to Prepared regression are refused; Prepared to Committed is served', async () => {
  const gw = gatewayFixture('order');
  const registry = new Registry();
  const watcher = gw.watcher({ registry });
  try {
    await watcher.start();
    let served = nextRing(watcher);
    await gw.putDoc(gw.doc(3, 'Prepared'));
    const prepared = await served;

    for (const [document, code] of [
      [gw.doc(2, 'Committed'), 'IMRING_RING_STALE_VERSION'],
      [
        buildRingDocument({
          gateway: gw.ref,
          version: 3,
          state: 'Prepared',
          members: newMembers(9, 'order'),
          previous: { version: 2, members: newMembers(5, 'order') },
          tableSize: 251,
        }),
        'IMRING_RING_VERSION_REUSED',
      ],
    ] as const) {
      const reported = nextError(watcher);
      await gw.putDoc(document);
      assert.equal((await reported)?.code, code);
      assert.equal(watcher.current(), prepared);
    }

    served = nextRing(watcher);
    await gw.putDoc(gw.doc(3, 'Committed'));
    const committed = await served;
    assert.equal(committed.version, 3);
    assert.equal(committed.state, 'Committed');
    assert.equal(watcher.lastError(), undefined);

    const reported = nextError(watcher);
    await gw.putDoc(gw.doc(3, 'Prepared'));
    assert.equal((await reported)?.code, 'IMRING_RING_STATE_REGRESSION');
    assert.equal(watcher.current(), committed);

    // An identical document (a new resourceVersion, same text) changes nothing: the next change is version 4.
    const cleared = nextError(watcher);
    served = nextRing(watcher);
    await gw.put({ 'ring.json': serializeRingDocument(gw.doc(3, 'Committed')) }, { touched: '1' });
    assert.equal(await cleared, undefined);
    await gw.putDoc(gw.doc(4, 'Prepared'));
    assert.equal((await served).version, 4);
    assert.deepEqual(await rejectedCounts(registry), {
      IMRING_RING_STALE_VERSION: 1,
      IMRING_RING_VERSION_REUSED: 1,
      IMRING_RING_STATE_REGRESSION: 1,
    });
  } finally {
    await watcher.close();
  }
});

test('watch drops, expired history and API errors are survived without missing a change', async () => {
  const gw = gatewayFixture('faults');
  const logs = captureLogs();
  const watcher = gw.watcher({ logger: logs.logger });
  try {
    await watcher.start();
    let served = nextRing(watcher);
    await gw.putDoc(gw.doc(1, 'Prepared'));
    await served;

    // Dropped: written while the watch is down, seen when it resumes.
    served = nextRing(watcher);
    api.faults.dropWatches();
    await gw.putDoc(gw.doc(2, 'Prepared'));
    assert.equal((await served).version, 2);

    // Expired: the resumed watch gets 410 and relists, finding the change made meanwhile.
    served = nextRing(watcher);
    await gw.putDoc(gw.doc(3, 'Prepared'));
    api.faults.expireHistory();
    api.faults.dropWatches();
    assert.equal((await served).version, 3);

    // API errors: every request fails for a while; the watcher keeps retrying and serving.
    const failed = logs.next((line) => line.msg === 'ring watch failed; restarting it');
    api.faults.set({ failureRate: 1 });
    api.faults.dropWatches();
    await failed;
    assert.equal(watcher.current()?.version, 3);
    api.faults.clear();
    served = nextRing(watcher);
    await gw.putDoc(gw.doc(4, 'Committed'));
    assert.equal((await served).version, 4);
    // Only this one ConfigMap is listed and watched, never the namespace's others.
    const reads = api.requestLog.filter(
      (e) => e.method === 'GET' && e.path === `/api/v1/namespaces/${namespace}/configmaps`,
    );
    assert.ok(reads.some((e) => e.verb === 'watch') && reads.some((e) => e.verb === 'list'));
    for (const read of reads)
      assert.equal(
        new URLSearchParams(read.query).get('fieldSelector')?.startsWith('metadata.name='),
        true,
        read.query,
      );
  } finally {
    api.faults.clear();
    await watcher.close();
  }
});

test('a deleted ConfigMap keeps the last good ring, and a recreated one is served', async () => {
  const gw = gatewayFixture('deleted');
  const logs = captureLogs();
  const watcher = gw.watcher({ logger: logs.logger });
  try {
    await watcher.start();
    let served = nextRing(watcher);
    await gw.putDoc(gw.doc(1, 'Committed'));
    const ring = await served;
    const deleted = logs.next((line) => String(line.msg).startsWith('ring ConfigMap deleted'));
    await gw.remove();
    await deleted;
    assert.equal(watcher.current(), ring);
    served = nextRing(watcher);
    await gw.putDoc(gw.doc(2, 'Prepared'));
    assert.equal((await served).version, 2);
  } finally {
    await watcher.close();
  }
});

test('a throwing listener does not stop other listeners or the watch', async () => {
  const gw = gatewayFixture('throwing');
  const watcher = gw.watcher();
  try {
    await watcher.start();
    watcher.onChange(() => {
      throw new Error('listener bug');
    });
    let served = nextRing(watcher);
    await gw.putDoc(gw.doc(1, 'Prepared'));
    assert.equal((await served).version, 1);
    served = nextRing(watcher);
    await gw.putDoc(gw.doc(2, 'Prepared'));
    assert.equal((await served).version, 2);
  } finally {
    await watcher.close();
  }
});

test('bad options throw naming the option', () => {
  assert.throws(() => new RingWatcher({ kc: api.kc, namespace: '', gateway: 'im' }), /namespace/);
  assert.throws(() => new RingWatcher({ kc: api.kc, namespace: 'chat', gateway: 'im', retryBaseMs: 0 }), /retryBaseMs/);
});
