import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import {
  buildRingDocument,
  Ring,
  RING_DATA_KEY,
  ringConfigMapName,
  serializeRingDocument,
  type RingState,
} from '../../ring/index.js';
import { RingFence, type HeldLease } from '../../runtime/ring-fence.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
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

/** A Lease reporter stand-in: `renew(ms)` is a successful write holding the Lease `ms` from now. */
class FakeLease implements HeldLease {
  #heldUntil = -Infinity;
  readonly #listeners = new Set<() => void>();
  heldUntil(): number {
    return this.#heldUntil;
  }
  onRenewed(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  renew(ms: number): void {
    this.#heldUntil = performance.now() + ms;
    for (const listener of [...this.#listeners]) listener();
  }
}

function ring(version: number, state: RingState = 'Committed'): Ring {
  return new Ring({ members: newMembers(3), version, state, tableSize: 251 });
}

/** Writes gateway `name`'s ring ConfigMap: a document at `version`, or raw text. */
async function putRing(name: string, content: { version: number; state?: RingState } | string): Promise<void> {
  const text =
    typeof content === 'string'
      ? content
      : serializeRingDocument(
          buildRingDocument({
            gateway: { ...sampleGateway, name },
            version: content.version,
            state: content.state ?? 'Committed',
            members: newMembers(3, name),
            previous: { version: content.version - 1, members: newMembers(2, name) },
            tableSize: 251,
          }),
        );
  await putConfigMap(core, namespace, {
    metadata: { name: ringConfigMapName(name), namespace },
    data: { [RING_DATA_KEY]: text },
  });
}

/**
 * A started fence for gateway `name` over a static source serving `served`, with a short Lease (600 ms) and margin (200
 * ms).
 */
function startFence(
  name: string,
  served: Ring,
  logger?: Logger,
): {
  fence: RingFence;
  lease: FakeLease;
  source: StaticRingSource;
  registry: Registry;
  next: () => Promise<string | undefined>;
} {
  const lease = new FakeLease();
  const source = new StaticRingSource(served);
  const registry = new Registry();
  const fence = new RingFence({
    kc: api.kc,
    namespace,
    gateway: name,
    source,
    lease,
    marginMs: 200,
    leaseMs: 600,
    registry,
    ...(logger ? { logger } : {}),
  });
  const next = (): Promise<string | undefined> =>
    new Promise((resolve) => {
      const off = fence.onFenceChange((reason) => {
        off();
        resolve(reason);
      });
    });
  fence.start();
  return { fence, lease, source, registry, next };
}

/** Why the fence refuses to route now, or undefined while it routes with the served ring. */
function fencedReason(fence: RingFence): string | undefined {
  const routing = fence.routingRing();
  return 'refused' in routing && routing.refused === 'fenced' ? routing.reason : undefined;
}

async function fencedGauge(registry: Registry): Promise<number | undefined> {
  return (await registry.getSingleMetric('imring_ring_fenced')?.get())?.values[0]?.value;
}

test('without a renewal the fence closes the margin before the Lease would lapse, and the gauge shows it', async () => {
  await putRing('fence-lapse', { version: 2 });
  const { fence, lease, registry, next } = startFence('fence-lapse', ring(2));
  try {
    assert.equal(fencedReason(fence), undefined, 'trusted at start');
    assert.equal(await fencedGauge(registry), 0);
    const closed = next();
    lease.renew(600);
    assert.match((await closed) ?? '', /could not renew its Lease/);
    // Timers round to whole ms: 1 ms of slack.
    assert.ok(performance.now() >= lease.heldUntil() - 200 - 1, 'not before the Lease less the margin (200 ms)');
    assert.equal(await fencedGauge(registry), 1);
    assert.equal(fence.current()?.version, 2, 'the ring itself is still readable');
  } finally {
    await fence.close();
  }
});

test('a renewal opens the fence when the ConfigMap holds no newer ring', async () => {
  await putRing('fence-same', { version: 4 });
  const { fence, lease, next } = startFence('fence-same', ring(4));
  try {
    assert.notEqual(await next(), undefined, 'closed: no renewal since start');
    const opened = next();
    // Room for the ConfigMap read on a busy machine: a renewal that runs out during it keeps the fence closed.
    lease.renew(3000);
    assert.equal(await opened, undefined);
    assert.equal(fencedReason(fence), undefined);
    assert.notEqual(await next(), undefined, 'and closes again when that renewal runs out');
  } finally {
    await fence.close();
  }
});

test('after a renewal, a newer ring in the ConfigMap (or a Committed one over a served Prepared) keeps it closed until the ring is served', async () => {
  for (const [served, written] of [
    [ring(5), { version: 6 }],
    [ring(6, 'Prepared'), { version: 6, state: 'Committed' as const }],
  ] as const) {
    const name = `fence-newer-${served.state.toLowerCase()}`;
    await putRing(name, written);
    const logs = captureLogs();
    const { fence, lease, source, next } = startFence(name, served, logs.logger);
    try {
      await next();
      lease.renew(60_000);
      assert.equal(
        (await logs.next((line) => line.msg === 'the ring served may be stale: still fenced')).configMap,
        `${written.version} ${written.state ?? 'Committed'}`,
      );
      assert.notEqual(fencedReason(fence), undefined, 'still closed after the renewal');
      const opened = next();
      source.set(ring(written.version, written.state ?? 'Committed'));
      assert.equal(
        await opened,
        undefined,
        `${served.version} ${served.state} → ${written.version}: opens once the newer ring is served`,
      );
    } finally {
      await fence.close();
    }
  }
});

test('an invalid document in the ConfigMap keeps the fence closed at a renewal; a renewal after the good document opens it', async () => {
  await putRing('fence-invalid', '{"format": "imring.ring/v1", broken');
  const logs = captureLogs();
  const { fence, lease, next } = startFence('fence-invalid', ring(3), logs.logger);
  try {
    await next();
    lease.renew(60_000);
    assert.match(
      String((await logs.next((line) => line.msg === 'the ring served may be stale: still fenced')).configMap),
      /invalid document/,
    );
    assert.notEqual(fencedReason(fence), undefined);
    await putRing('fence-invalid', { version: 3 });
    const opened = next();
    lease.renew(60_000);
    assert.equal(await opened, undefined);
  } finally {
    await fence.close();
  }
});

test('bad options throw naming the option', () => {
  const base = { kc: api.kc, namespace, gateway: 'x', source: new StaticRingSource(), lease: new FakeLease() };
  assert.throws(() => new RingFence({ ...base, marginMs: -1 }), /marginMs/);
  assert.throws(() => new RingFence({ ...base, marginMs: 500, leaseMs: 500 }), /leaseMs/);
  assert.throws(() => new RingFence({ ...base, lease: {} as HeldLease }), /lease/);
  assert.throws(() => new RingFence({ ...base, source: {} as StaticRingSource }), /source/);
});
