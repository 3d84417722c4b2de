/** Figures, checks and the markdown report of the push benchmark (bench/push.ts). */
import type { WindowFigures } from './push-phases.js';

/** Connects/s through the proxy and straight to the gateway (best round of each). */
export interface Connects {
  readonly connections: number;
  readonly concurrency: number;
  readonly rounds: number;
  readonly proxyPerSecond: number;
  readonly directPerSecond: number;
  readonly failed: number;
}

/** RSS of one server process before and after its idle connections. */
export interface IdleMemory {
  readonly server: 'gateway' | 'ws-baseline';
  readonly connections: number;
  readonly failed: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly bytesPerConnection: number;
}

export interface Results {
  readonly windows: readonly WindowFigures[];
  readonly connects: Connects;
  readonly memory: readonly IdleMemory[];
}

export interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly value: number;
  readonly limit: string;
}

/** The limits; reported as PASS/FAIL, never an exit code. */
export const LIMITS = {
  deliveredPerSecond: 20_000,
  perCpuVsBroadcast: 3,
  gatewayCpuUs: 40,
  p99Ms: 10,
  proxyCpuUsPerFrame: 50,
  gatewayKiBPerConnection: 8,
  proxyConnectsPerSecond: 1500,
} as const;

const SINGLE_PROXY = 'imring, 1 gateway, via proxy';

function windowOf(
  results: Results,
  label: string,
  mode: WindowFigures['mode'],
  recipients?: number,
): WindowFigures | undefined {
  return results.windows.find(
    (w) => w.label.startsWith(label) && w.mode === mode && (recipients === undefined || w.recipients === recipients),
  );
}

/** The throughput round of `label` that delivered the most. */
function bestThroughput(results: Results, label: string): WindowFigures | undefined {
  const rounds = results.windows.filter((w) => w.label.startsWith(label) && w.mode === 'throughput');
  return rounds.sort((a, b) => b.deliveredPerSecond - a.deliveredPerSecond)[0];
}

/**
 * Of the throughput rounds of `design` ('imring, N=' or 'broadcast'), the one with the least push + gateways CPU per
 * message.
 */
function bestRound(results: Results, design: string): WindowFigures | undefined {
  const rounds = results.windows.filter((w) => w.label.startsWith(design) && w.mode === 'throughput');
  return rounds.sort((a, b) => deliveryCpu(a) - deliveryCpu(b))[0];
}

/** push + gateways CPU per delivered message (what the per-CPU comparison counts). */
export function deliveryCpu(window: WindowFigures | undefined): number {
  return window === undefined ? Number.NaN : window.cpuUsPerMessage.push + window.cpuUsPerMessage.gateways;
}

/** A broadcast design's push + gateways CPU per delivered message over imring's, at N gateways (best round of each). */
export function perCpuRatio(results: Results, design = 'openim broadcast'): number {
  return deliveryCpu(bestRound(results, design)) / deliveryCpu(bestRound(results, 'imring, N='));
}

const check = (name: string, value: number | undefined, limit: { op: '>=' | '<=' | '<'; bound: number }): Check => {
  const v = value ?? Number.NaN;
  const pass = limit.op === '>=' ? v >= limit.bound : limit.op === '<=' ? v <= limit.bound : v < limit.bound;
  return {
    name,
    value: Number(v.toPrecision(4)),
    limit: `${limit.op} ${limit.bound}`,
    pass: pass && Number.isFinite(v),
  };
};

export function checksOf(results: Results): Check[] {
  const throughput = bestThroughput(results, SINGLE_PROXY);
  // 2k delivered msg/s at the batch of the throughput figure (200 calls/s of 10 recipients);
  // the 2,000 single-recipient calls/s window is reported beside it.
  const steady = windowOf(results, SINGLE_PROXY, 'steady', 10);
  const single = windowOf(results, SINGLE_PROXY, 'steady', 1);
  const proxyCpu = Math.max(
    throughput?.cpuUsPerMessage.proxy ?? Number.NaN,
    steady?.cpuUsPerMessage.proxy ?? Number.NaN,
    single?.cpuUsPerMessage.proxy ?? Number.NaN,
  );
  const gatewayMemory = results.memory.find((m) => m.server === 'gateway');
  return [
    check(
      'delivered msg/s, 1 push + 1 gateway via proxy, batch 10 (better of 2 rounds)',
      throughput?.deliveredPerSecond,
      { op: '>=', bound: LIMITS.deliveredPerSecond },
    ),
    check(
      'throughput per CPU vs broadcast (OpenIM: a unary call per message per gateway) at N=5 (x)',
      perCpuRatio(results),
      { op: '>=', bound: LIMITS.perCpuVsBroadcast },
    ),
    check('gateway CPU per delivered message (µs)', throughput?.cpuUsPerMessage.gateways, {
      op: '<=',
      bound: LIMITS.gatewayCpuUs,
    }),
    check(
      'p99 end-to-end latency at a steady 2k delivered msg/s (batch 10), 1 gateway via proxy (ms)',
      steady?.p99Ms ?? undefined,
      { op: '<', bound: LIMITS.p99Ms },
    ),
    check('proxy CPU per forwarded frame, worst window (µs)', proxyCpu, { op: '<=', bound: LIMITS.proxyCpuUsPerFrame }),
    check(
      'gateway RSS per idle connection at 10k (KiB)',
      gatewayMemory === undefined ? undefined : gatewayMemory.bytesPerConnection / 1024,
      { op: '<=', bound: LIMITS.gatewayKiBPerConnection },
    ),
    check('connects/s through the proxy', results.connects.proxyPerSecond, {
      op: '>=',
      bound: LIMITS.proxyConnectsPerSecond,
    }),
  ];
}

const fixed = (value: number | null, digits = 1): string =>
  value === null || !Number.isFinite(value) ? '–' : value.toFixed(digits);

function windowRow(w: WindowFigures): string {
  const cpu = w.cpuUsPerMessage;
  const calls = w.recipients === 1 ? '' : ` (${Math.round(2000 / w.recipients)} calls/s x ${w.recipients})`;
  const mode = w.mode === 'throughput' ? `closed loop, batch ${w.recipients}` : `steady 2k msg/s${calls}`;
  const lost = w.totals.offline + w.totals.errors;
  return `| ${w.label} | ${mode} | ${Math.round(w.deliveredPerSecond)} | ${fixed(cpu.push)} | ${fixed(cpu.gateways)} | ${fixed(cpu.proxy)} | ${fixed(cpu.bench)} | ${fixed(w.coresBusy, 2)} | ${fixed(w.machineCoresBusy, 2)} | ${fixed(w.p50Ms, 2)} | ${fixed(w.p99Ms, 2)} | ${lost} |`;
}

/** The markdown report, then the PASS/FAIL lines. */
export function reportOf(
  results: Results,
  checks: readonly Check[],
  config: { users: number; gateways: number; concurrency: number },
): string {
  const imring = bestRound(results, 'imring, N=');
  const broadcast = bestRound(results, 'openim broadcast');
  const batched = bestRound(results, 'batched broadcast');
  const { connects } = results;
  return [
    `## Push end to end (node ${process.version}, ${config.users} users one connection each, gRPC push API, ${config.concurrency} calls in flight)`,
    '',
    '| design / config | load | delivered msg/s | push µs/msg | gateways µs/msg | proxy µs/frame | bench µs/msg | cores busy | machine busy | p50 ms | p99 ms | offline+errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.windows.map(windowRow),
    '',
    '| figure | value |',
    '|---|---:|',
    `| push + gateways CPU per delivered message, imring N=${config.gateways} (best round) | ${fixed(deliveryCpu(imring))} µs |`,
    `| push + gateways CPU per delivered message, OpenIM broadcast N=${config.gateways} (best round) | ${fixed(deliveryCpu(broadcast))} µs |`,
    `| imring throughput per CPU over OpenIM broadcast's | ${fixed(perCpuRatio(results), 2)}× |`,
    `| push + gateways CPU per delivered message, batched broadcast N=${config.gateways} (best round) | ${fixed(deliveryCpu(batched))} µs |`,
    `| imring throughput per CPU over batched broadcast's | ${fixed(perCpuRatio(results, 'batched broadcast'), 2)}× |`,
    ...results.memory.map(
      (m) =>
        `| ${m.server} RSS per idle connection (${m.connections} direct, ${m.failed} failed) | ${fixed(m.bytesPerConnection / 1024, 2)} KiB |`,
    ),
    `| connects/s through the proxy (${connects.connections} connections, ${connects.concurrency} in flight, best of ${connects.rounds}) | ${Math.round(connects.proxyPerSecond)} |`,
    `| connects/s straight to the gateway (baseline) | ${Math.round(connects.directPerSecond)} |`,
    `| proxy connects/s over direct | ${fixed(connects.proxyPerSecond / connects.directPerSecond, 2)}× |`,
    '',
    'Batch 10 = one message to 10 recipients per push call. One delivered message = one (message, user) frame a client received.',
    'CPU = user + system of each process over the window, divided by frames received in it. "bench" = the bench process (all',
    'ws clients) + the gRPC driver process. "cores busy" = all those processes\' CPU over wall time (the machine has 2);',
    '"machine busy" = the whole machine\'s, from /proc/stat (the difference is other work on the machine).',
    'Steady rows: one message per push call, its payload the send time; p50/p99 = push call issued → frame received.',
    'The p99 check uses the batch-10 row (200 calls/s x 10 = 2k delivered msg/s, the batch of the throughput figure); the 1-recipient row (2k calls/s) is beside it.',
    "OpenIM broadcast = one unary Deliver per message per gateway, concurrently (OpenIM main, DefaultAllNode); batched broadcast = every batch to every gateway over one DeliverStream each, with push's coalescing.",
    '',
    ...checks.map((c) => `${c.pass ? 'PASS' : 'FAIL'} ${c.name} (${c.value}, limit ${c.limit})`),
  ].join('\n');
}
