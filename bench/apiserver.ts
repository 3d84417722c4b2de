/**
 * Local API server benchmark: watch event latency (write → informer callback) with 100
 * informers, and listing 10,000 objects, each against a baseline measured in the same run.
 *
 * Usage: `node dist/bench/apiserver.js [--json]` (`npm run bench:apiserver`). The server and
 * the clients share this process (and its one thread), as they do in the tests; in a cluster
 * they would not, so the figures are an upper bound of what the server itself costs.
 */
import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import type { ObjectStore } from '../local/index.js';
import { rawRequest, startLocalApi, type LocalApi } from '../test/support/local-api.js';
import { median, progress } from './lib/measure.js';

const CONFIG = {
  watchers: 100,
  /** Sequential writes whose delivery to every watcher is timed. */
  writes: 200,
  listObjects: 10_000,
  listRounds: 7,
  baselineRounds: 200,
} as const;

const NAMESPACE = 'bench';

interface Figures {
  watchers: number;
  writes: number;
  watchLatencyMedianMs: number;
  watchLatencyP99Ms: number;
  roundTripMedianMs: number;
  watchMedianOverRoundTrip: number;
  listObjects: number;
  listMedianMs: number;
  serialiseMedianMs: number;
  listOverSerialise: number;
  listBytes: number;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const api = await startLocalApi({ historyLimit: 50_000 });
  try {
    await api.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const roundTrip = await roundTripMs(api);
    const watch = await watchLatency(api);
    const list = await listCost(api);
    const figures: Figures = {
      watchers: CONFIG.watchers,
      writes: CONFIG.writes,
      watchLatencyMedianMs: watch.median,
      watchLatencyP99Ms: watch.p99,
      roundTripMedianMs: roundTrip,
      watchMedianOverRoundTrip: watch.median / roundTrip,
      listObjects: CONFIG.listObjects,
      listMedianMs: list.median,
      serialiseMedianMs: list.baseline,
      listOverSerialise: list.median / list.baseline,
      listBytes: list.bytes,
    };
    process.stdout.write(`${report(figures)}\n`);
    if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await api.close();
  }
}

/** Median of GET /version over a kept-alive TLS connection: the floor of any request here. */
async function roundTripMs(api: LocalApi): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < CONFIG.baselineRounds; i++) {
    const start = performance.now();
    await rawRequest(api, '/version');
    times.push(performance.now() - start);
  }
  return median(times);
}

async function watchLatency(api: LocalApi): Promise<{ median: number; p99: number }> {
  progress(`starting ${CONFIG.watchers} informers`);
  const core = api.kc.makeApiClient(CoreV1Api);
  const arrivals = new Map<string, number[]>();
  let pending = 0;
  let wake = (): void => undefined;
  const informers = Array.from({ length: CONFIG.watchers }, () => {
    const informer = makeInformer(api.kc, `/api/v1/namespaces/${NAMESPACE}/configmaps`, () =>
      core.listNamespacedConfigMap({ namespace: NAMESPACE }),
    );
    informer.on('add', (o: V1ConfigMap) => {
      arrivals.get(o.metadata!.name!)?.push(performance.now());
      if (--pending === 0) wake();
    });
    return informer;
  });
  await Promise.all(informers.map((i) => i.start()));
  const latencies: number[] = [];
  for (let w = 0; w < CONFIG.writes; w++) {
    const name = `w-${w}`;
    arrivals.set(name, []);
    pending = CONFIG.watchers;
    const delivered = new Promise<void>((resolve) => (wake = resolve));
    const start = performance.now();
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name } } });
    await delivered;
    latencies.push(...arrivals.get(name)!.map((t) => t - start));
  }
  await Promise.all(informers.map((i) => i.stop()));
  const sorted = latencies.sort((a, b) => a - b);
  return { median: median(sorted), p99: sorted[Math.floor(sorted.length * 0.99)]! };
}

async function listCost(api: LocalApi): Promise<{ median: number; baseline: number; bytes: number }> {
  progress(`storing ${CONFIG.listObjects} configmaps`);
  fill(api.store, CONFIG.listObjects);
  const core = api.kc.makeApiClient(CoreV1Api);
  const times: number[] = [];
  const baselines: number[] = [];
  let bytes = 0;
  const items = api.store.list('/configmaps', NAMESPACE);
  for (let r = 0; r < CONFIG.listRounds; r++) {
    const start = performance.now();
    const list = await core.listNamespacedConfigMap({ namespace: NAMESPACE });
    times.push(performance.now() - start);
    if (list.items.length < CONFIG.listObjects) throw new Error(`listed ${list.items.length} objects`);
    const before = performance.now();
    const text = JSON.stringify({ items });
    JSON.parse(text);
    baselines.push(performance.now() - before);
    bytes = Buffer.byteLength(text);
  }
  return { median: median(times), baseline: median(baselines), bytes };
}

/** Puts `count` configmaps straight into the store (setup, not measured). */
function fill(store: ObjectStore, count: number): void {
  for (let i = 0; i < count; i++) {
    store.put('/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `cm-${i}`,
        namespace: NAMESPACE,
        uid: crypto.randomUUID(),
        creationTimestamp: new Date().toISOString(),
        labels: { app: 'bench', index: String(i) },
      },
      data: { 'ring.json': '{"version":1}', note: 'x'.repeat(200) },
    });
  }
}

function report(f: Figures): string {
  const rows = [
    [
      'watch event latency, median (write → informer callback)',
      `${f.watchLatencyMedianMs.toFixed(2)} ms`,
      `${f.watchMedianOverRoundTrip.toFixed(1)}× a GET /version round trip (${f.roundTripMedianMs.toFixed(2)} ms)`,
    ],
    [
      'watch event latency, p99',
      `${f.watchLatencyP99Ms.toFixed(2)} ms`,
      `${f.watchers} informers × ${f.writes} writes`,
    ],
    [
      `list of ${f.listObjects} configmaps (client-node, typed)`,
      `${f.listMedianMs.toFixed(1)} ms`,
      `${f.listOverSerialise.toFixed(1)}× JSON.stringify+parse of the same items (${f.serialiseMedianMs.toFixed(1)} ms, ${(f.listBytes / 1e6).toFixed(1)} MB)`,
    ],
  ];
  return [
    '| measure | value | against the baseline |',
    '|---|---:|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

await main();
