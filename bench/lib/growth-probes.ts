/**
 * What the growth bench reads at each moment: the operator's /metrics (barrier seconds, informer
 * events, memory), CPU of the three processes (operator, the virtual node's kubelet with every
 * simulated gateway, the bench hosting the local control plane), writes by writer, and a real
 * runtime's memory (the push pod, which holds the ring).
 */
import { readFileSync } from 'node:fs';
import { processCpuMs } from './process-cpu.js';
import type { Writer, WriteCounter } from './api-writes.js';

/** A reading of everything a window measures, taken at its start and at its end. */
export interface Reading {
  readonly atMs: number;
  readonly operatorCpuMs: number;
  readonly virtualNodeCpuMs: number;
  readonly benchCpuMs: number;
  readonly barrierSeconds: number;
  readonly barrierCount: number;
  readonly informerEvents: Readonly<Record<string, number>>;
  readonly writes: Readonly<Partial<Record<Writer, number>>>;
}

/** The processes and counters a {@link Reading} is taken from. */
export interface ReadingSources {
  readonly operatorPid: number;
  readonly operatorMetricsPort: number;
  readonly virtualNodePid: number;
  readonly writes: WriteCounter;
}

/** Reads every figure now. */
export async function takeReading(sources: ReadingSources): Promise<Reading> {
  const text = await operatorMetrics(sources.operatorMetricsPort);
  const usage = process.cpuUsage();
  return {
    atMs: performance.now(),
    operatorCpuMs: processCpuMs(sources.operatorPid) ?? NaN,
    virtualNodeCpuMs: processCpuMs(sources.virtualNodePid) ?? NaN,
    benchCpuMs: (usage.user + usage.system) / 1000,
    barrierSeconds: sample(text, 'imring_operator_transition_step_seconds_sum', 'step="Barrier"'),
    barrierCount: sample(text, 'imring_operator_transition_step_seconds_count', 'step="Barrier"'),
    informerEvents: informerEvents(text),
    writes: sources.writes.snapshot(),
  };
}

/** The operator's /metrics text. */
export async function operatorMetrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The value of the first sample of `name` whose labels contain `labels` (0 when none). */
export function sample(text: string, name: string, labels = ''): number {
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** `imring_operator_informer_events_total` summed by resource. */
function informerEvents(text: string): Record<string, number> {
  const events: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('imring_operator_informer_events_total{')) continue;
    const resource = /resource="([^"]+)"/.exec(line)?.[1] ?? '?';
    events[resource] = (events[resource] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return events;
}

/** RSS and heap used of a process serving prom-client's default metrics on `url`. */
export async function processMemory(url: string): Promise<{ rssBytes: number; heapUsedBytes: number }> {
  const text = await (await fetch(url)).text();
  return {
    rssBytes: sample(text, 'process_resident_memory_bytes'),
    heapUsedBytes: sample(text, 'nodejs_heap_size_used_bytes'),
  };
}

/** Resident set size of `pid` from /proc, bytes (NaN when gone). */
export function rssOf(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** What a window between two readings cost. */
export interface WindowCost {
  readonly seconds: number;
  readonly operatorCpuMs: number;
  readonly virtualNodeCpuMs: number;
  readonly benchCpuMs: number;
  readonly barrierMs: number;
  readonly barriers: number;
  readonly informerEvents: number;
  readonly informerEventsByResource: Readonly<Record<string, number>>;
  readonly writes: Readonly<Partial<Record<Writer, number>>>;
}

/** The cost of the window from `a` to `b`. */
export function costBetween(a: Reading, b: Reading): WindowCost {
  const byResource = increases(a.informerEvents, b.informerEvents);
  const writes = increases(a.writes, b.writes);
  return {
    seconds: (b.atMs - a.atMs) / 1000,
    operatorCpuMs: b.operatorCpuMs - a.operatorCpuMs,
    virtualNodeCpuMs: b.virtualNodeCpuMs - a.virtualNodeCpuMs,
    benchCpuMs: b.benchCpuMs - a.benchCpuMs,
    barrierMs: (b.barrierSeconds - a.barrierSeconds) * 1000,
    barriers: b.barrierCount - a.barrierCount,
    informerEvents: Object.values(byResource).reduce((s, n) => s + n, 0),
    informerEventsByResource: byResource,
    writes,
  };
}

/** The counters of `after` that rose since `before`, by how much (those that did not are left out). */
function increases(
  before: Readonly<Partial<Record<string, number>>>,
  after: Readonly<Partial<Record<string, number>>>,
): Record<string, number> {
  const rose: Record<string, number> = {};
  for (const [key, count] of Object.entries(after)) {
    const delta = (count ?? 0) - (before[key] ?? 0);
    if (delta > 0) rose[key] = delta;
  }
  return rose;
}
