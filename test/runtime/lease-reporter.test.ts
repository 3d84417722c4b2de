import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { Annotations, Labels, Ring, type RingRefusal, type RuntimeComponent } from '../../ring/index.js';
import { LeaseReporter } from '../../runtime/lease-reporter.js';
import { newMembers } from '../support/fixtures.js';
import { startLocalApi, type LocalApi } from '../support/local-api.js';
import { watchUntil } from '../support/wait.js';

const namespace = 'default';
const leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
let api: LocalApi;
let leases: CoordinationV1Api;

before(async () => {
  api = await startLocalApi();
  leases = api.kc.makeApiClient(CoordinationV1Api);
});
after(() => api.close());

/** A ring source set by hand, that also reports refusals (as the ring watcher does). */
class FakeRingSource {
  readonly #events = new EventEmitter();
  #ring: Ring | undefined;
  #error: RingRefusal | undefined;
  current(): Ring | undefined {
    return this.#ring;
  }
  lastError(): RingRefusal | undefined {
    return this.#error;
  }
  onChange(listener: (ring: Ring) => void): () => void {
    this.#events.on('ring', listener);
    return () => this.#events.off('ring', listener);
  }
  onErrorChange(listener: () => void): () => void {
    this.#events.on('error-change', listener);
    return () => this.#events.off('error-change', listener);
  }
  set(version: number, state: 'Prepared' | 'Committed' = 'Committed'): void {
    this.#ring = new Ring({ members: newMembers(3), version, state, tableSize: 251 });
    this.#events.emit('ring', this.#ring);
  }
  setError(error: RingRefusal | undefined): void {
    this.#error = error;
    this.#events.emit('error-change');
  }
}

/** A reporter for pod `pod` with fast timers, its source and a clock that ticks a second per read. */
function newReporter(
  pod: string,
  options: {
    component?: RuntimeComponent;
    renewSeconds?: number;
    maxWritesPerSecond?: number;
    logger?: Logger;
    stats?: () => { connections: number; misplaced: number; draining?: boolean };
  } = {},
): { reporter: LeaseReporter; source: FakeRingSource } {
  const source = new FakeRingSource();
  let clock = Date.parse('2030-01-01T00:00:00.000Z');
  const component = options.component ?? 'gateway';
  const reporter = new LeaseReporter({
    kc: api.kc,
    namespace,
    gateway: 'im',
    component,
    pod,
    ringSource: source,
    stats: options.stats ?? (component === 'gateway' ? () => ({ connections: 7, misplaced: 2 }) : undefined),
    renewSeconds: options.renewSeconds ?? 10,
    durationSeconds: 15,
    maxWritesPerSecond: options.maxWritesPerSecond ?? 1000,
    now: () => (clock += 1000),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { reporter, source };
}

async function readLease(name: string): Promise<V1Lease | undefined> {
  try {
    return await leases.readNamespacedLease({ name, namespace });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Resolves with the Lease once `check` holds for it, waiting on the API's watch events. */
function leaseWhen(name: string, check: (lease: V1Lease | undefined) => boolean): Promise<V1Lease | undefined> {
  return watchUntil(
    api.kc,
    leasesPath,
    async () => {
      const lease = await readLease(name);
      return check(lease) ? { lease } : undefined;
    },
    10_000,
  ).then((found) => found.lease);
}

function writesOf(name: string): number {
  return api.requestLog.filter(
    (e) =>
      (e.method === 'PUT' || e.method === 'POST') &&
      e.path.startsWith(leasesPath) &&
      (e.path.endsWith(`/${name}`) || e.method === 'POST'),
  ).length;
}

test('start creates the Lease with labels, annotations and a microsecond renewTime; close deletes it', async () => {
  const { reporter, source } = newReporter('gw-0');
  source.set(3, 'Prepared');
  await reporter.start();
  const lease = await readLease('im-gateway-gw-0');
  assert.ok(lease);
  assert.deepEqual(lease.metadata?.labels, { [Labels.gateway]: 'im', [Labels.component]: 'gateway' });
  assert.deepEqual(lease.metadata?.annotations, {
    [Annotations.ringVersion]: '3',
    [Annotations.ringState]: 'Prepared',
    [Annotations.connections]: '7',
    [Annotations.misplaced]: '2',
  });
  assert.equal(lease.spec?.holderIdentity, 'gw-0');
  assert.equal(lease.spec?.leaseDurationSeconds, 15);
  assert.match(String(lease.spec?.renewTime), MICRO_TIME);
  assert.match(String(lease.spec?.acquireTime), MICRO_TIME);
  await reporter.close();
  await reporter.close();
  await reporter.close();
  assert.equal(await readLease('im-gateway-gw-0'), undefined);
});

test('a proxy reports no connection counts, and a Lease without a ring has no ring annotations', async () => {
  const { reporter } = newReporter('proxy-0', { component: 'proxy' });
  try {
    await reporter.start();
    const lease = await readLease('im-proxy-proxy-0');
    assert.deepEqual(lease?.metadata?.annotations ?? {}, {});
    assert.equal(lease?.metadata?.labels?.[Labels.component], 'proxy');
  } finally {
    await reporter.close();
  }
});

test('the Lease is renewed every renewSeconds, keeping its acquireTime', async () => {
  const { reporter, source } = newReporter('gw-renew', { renewSeconds: 0.05 });
  source.set(1);
  try {
    await reporter.start();
    const first = await readLease('im-gateway-gw-renew');
    const renewed = await leaseWhen(
      'im-gateway-gw-renew',
      (lease) => Date.parse(String(lease?.spec?.renewTime)) >= Date.parse(String(first?.spec?.renewTime)) + 2000,
    );
    assert.equal(String(renewed?.spec?.acquireTime), String(first?.spec?.acquireTime));
  } finally {
    await reporter.close();
  }
});

test('a ring change and a ring error are written at once, and the error annotation clears', async () => {
  const { reporter, source } = newReporter('gw-change');
  source.set(1);
  try {
    await reporter.start();
    source.set(2, 'Prepared');
    await leaseWhen('im-gateway-gw-change', (lease) => lease?.metadata?.annotations?.[Annotations.ringVersion] === '2');

    source.setError({ code: 'IMRING_RING_CHECKSUM_MISMATCH', path: 'checksum', message: 'checksum: is "x"' });
    let lease = await leaseWhen(
      'im-gateway-gw-change',
      (l) => l?.metadata?.annotations?.[Annotations.ringError] !== undefined,
    );
    assert.equal(
      lease?.metadata?.annotations?.[Annotations.ringError],
      'IMRING_RING_CHECKSUM_MISMATCH: checksum: is "x"',
    );
    assert.equal(lease?.metadata?.annotations?.[Annotations.ringVersion], '2');

    source.setError(undefined);
    lease = await leaseWhen(
      'im-gateway-gw-change',
      (l) => l?.metadata?.annotations?.[Annotations.ringError] === undefined,
    );
    assert.equal(lease?.metadata?.annotations?.[Annotations.ringState], 'Prepared');
  } finally {
    await reporter.close();
  }
});

test('a refusal replaced by a good document before the throttled write is still written, then cleared', async () => {
  const name = 'im-gateway-gw-flash';
  const { reporter, source } = newReporter('gw-flash', { maxWritesPerSecond: 5 });
  source.set(4);
  try {
    await reporter.start();
    // Within the throttle gap of the first write: the operator restored the document already.
    source.setError({ code: 'IMRING_RING_INVALID_JSON', path: '', message: 'not valid JSON' });
    source.setError(undefined);
    const flagged = await leaseWhen(
      name,
      (lease) => lease?.metadata?.annotations?.[Annotations.ringError] !== undefined,
    );
    assert.equal(flagged?.metadata?.annotations?.[Annotations.ringError], 'IMRING_RING_INVALID_JSON: not valid JSON');
    assert.equal(
      flagged?.metadata?.annotations?.[Annotations.ringVersion],
      '4',
      'the last good ring is still the one reported',
    );
    await leaseWhen(
      name,
      (lease) => lease !== undefined && lease.metadata?.annotations?.[Annotations.ringError] === undefined,
    );
  } finally {
    await reporter.close();
  }
});

test('a burst of changes is coalesced into one throttled write of the last state', async () => {
  const name = 'im-gateway-gw-burst';
  const { reporter, source } = newReporter('gw-burst', { maxWritesPerSecond: 5 });
  source.set(1);
  try {
    await reporter.start();
    for (const burst of [
      [2, 11],
      [12, 21],
    ] as const) {
      const before = writesOf(name);
      for (let version = burst[0]; version <= burst[1]; version++) source.set(version);
      await leaseWhen(name, (lease) => lease?.metadata?.annotations?.[Annotations.ringVersion] === String(burst[1]));
      assert.equal(writesOf(name) - before, 1, 'one write for the whole burst');
    }
  } finally {
    await reporter.close();
  }
});

test('flush writes a draining gateway at once, past the throttle, and resolves once written', async () => {
  const name = 'im-gateway-gw-flush';
  let draining = false;
  // One write a minute: a throttled update would not be written within the test.
  const stats = (): { connections: number; misplaced: number; draining: boolean } => ({
    connections: 3,
    misplaced: 0,
    draining,
  });
  const { reporter } = newReporter('gw-flush', { maxWritesPerSecond: 1 / 60, renewSeconds: 10, stats });
  try {
    await reporter.start();
    assert.equal((await readLease(name))?.metadata?.annotations?.[Annotations.draining], undefined);
    draining = true;
    reporter.update();
    const before = writesOf(name);
    await reporter.flush();
    assert.equal(writesOf(name) - before, 1);
    assert.equal((await readLease(name))?.metadata?.annotations?.[Annotations.draining], 'true');
  } finally {
    await reporter.close();
  }
  await reporter.flush();
  assert.equal(await readLease(name), undefined, 'a flush after close writes nothing');
});

test('a deleted Lease is recreated, and a Lease written by someone else is re-read and kept', async () => {
  const name = 'im-gateway-gw-lost';
  const { reporter, source } = newReporter('gw-lost', { renewSeconds: 0.05 });
  source.set(5);
  try {
    await reporter.start();
    await leases.deleteNamespacedLease({ name, namespace });
    await leaseWhen(name, (lease) => lease?.metadata?.annotations?.[Annotations.ringVersion] === '5');

    // Another writer changes it: our cached resourceVersion is stale, the replace gets 409.
    const current = await readLease(name);
    await leases.replaceNamespacedLease({
      name,
      namespace,
      body: {
        ...current!,
        metadata: {
          ...current!.metadata,
          annotations: { ...current!.metadata?.annotations, 'example.com/note': 'kept' },
        },
      },
    });
    const conflicts = (): number =>
      api.requestLog.filter((e) => e.method === 'PUT' && e.path.endsWith(`/${name}`) && e.status === 409).length;
    const before = conflicts();
    source.set(6);
    const lease = await leaseWhen(name, (l) => l?.metadata?.annotations?.[Annotations.ringVersion] === '6');
    assert.equal(lease?.metadata?.annotations?.['example.com/note'], 'kept');
    assert.equal(conflicts() - before, 1);
  } finally {
    await reporter.close();
  }
});

test('API errors are logged and the next renewal writes again', async () => {
  const name = 'im-gateway-gw-errors';
  const events = new EventEmitter();
  const logger = pino({ level: 'warn' }, { write: (line: string) => void events.emit('line', JSON.parse(line)) });
  const { reporter, source } = newReporter('gw-errors', { renewSeconds: 0.05, logger });
  source.set(1);
  try {
    await reporter.start();
    const failed = new Promise<void>((resolve) =>
      events.on('line', (line: { msg: string }) => line.msg.startsWith('could not write the Lease') && resolve()),
    );
    api.faults.set({ failureRate: 1 });
    await failed;
    api.faults.clear();
    source.set(2);
    await leaseWhen(name, (lease) => lease?.metadata?.annotations?.[Annotations.ringVersion] === '2');
  } finally {
    api.faults.clear();
    await reporter.close();
  }
});

test('a failed write is made again within a second (not at the next renewal), and heldUntil follows each successful write', async () => {
  const name = 'im-gateway-gw-retry';
  const events = new EventEmitter();
  const logger = pino({ level: 'warn' }, { write: (line: string) => void events.emit('line', JSON.parse(line)) });
  const { reporter, source } = newReporter('gw-retry', { renewSeconds: 10, logger });
  source.set(1);
  const renewals: number[] = [];
  const unsubscribe = reporter.onRenewed(() => renewals.push(reporter.heldUntil()));
  try {
    assert.equal(reporter.heldUntil(), -Infinity, 'nothing written yet');
    const before = performance.now();
    await reporter.start();
    assert.equal(renewals.length, 1);
    assert.ok(
      reporter.heldUntil() >= before + 15_000 && reporter.heldUntil() <= performance.now() + 15_000,
      'the write start plus the 15 s duration',
    );
    const held = reporter.heldUntil();
    // Lease writes fail: the ring change's write fails, and its retries come well before the 10 s renewal.
    api.faults.set({ failureRate: 1, matching: (r) => r.method === 'PUT' && r.path === `${leasesPath}/${name}` });
    const failedAt = writesOf(name);
    const threeFailures = new Promise<void>((resolve) =>
      events.on('line', (line: { failures?: number }) => (line.failures ?? 0) >= 3 && resolve()),
    );
    const started = performance.now();
    source.set(2);
    await threeFailures;
    assert.ok(performance.now() - started < 10_000, 'three attempts before the renewal period');
    assert.equal(reporter.heldUntil(), held, 'failed writes do not extend it');
    assert.ok(writesOf(name) > failedAt);
    api.faults.clear();
    await leaseWhen(name, (lease) => lease?.metadata?.annotations?.[Annotations.ringVersion] === '2');
    assert.ok(reporter.heldUntil() > held, 'the next successful write extends it');
  } finally {
    unsubscribe();
    api.faults.clear();
    await reporter.close();
  }
});

test('bad options throw naming the option', () => {
  const source = new FakeRingSource();
  const base = { kc: api.kc, namespace, gateway: 'im', component: 'push' as const, pod: 'p', ringSource: source };
  assert.throws(() => new LeaseReporter({ ...base, component: 'gateway' }), /stats/);
  assert.throws(() => new LeaseReporter({ ...base, renewSeconds: 20 }), /renewSeconds/);
  assert.throws(() => new LeaseReporter({ ...base, durationSeconds: 1.5 }), /durationSeconds/);
  assert.throws(() => new LeaseReporter({ ...base, maxWritesPerSecond: 0 }), /maxWritesPerSecond/);
  assert.throws(() => new LeaseReporter({ ...base, pod: '' }), /pod/);
});
