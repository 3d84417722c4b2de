/** What the HPA controller reads from pods and PodMetrics, and the status parts it writes: pure. */
import type { V1Pod } from '@kubernetes/client-node';
import type { CpuPod, CpuSample } from './hpa-replicas.js';

/** One `status.conditions` entry of an HPA. */
export interface HpaCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/** The condition types, in the order the controller first sets them. */
export const AbleToScale = 'AbleToScale';
export const ScalingActive = 'ScalingActive';
export const ScalingLimited = 'ScalingLimited';

/** A PodMetrics item, the parts read. */
export interface PodMetricsItem {
  metadata?: { name?: string };
  timestamp?: string;
  window?: string;
  containers?: { name?: string; usage?: { cpu?: string } }[];
}

const SUFFIX_MILLI: Record<string, number> = { n: 1e-6, u: 1e-3, m: 1, '': 1e3, k: 1e6, M: 1e9, G: 1e12 };

/** A CPU quantity (`250m`, `0.5`, `1234567n`) in millicores, rounded up as Go's MilliValue; undefined if unreadable. */
export function cpuMilli(quantity: unknown): number | undefined {
  const text = typeof quantity === 'number' ? String(quantity) : quantity;
  if (typeof text !== 'string') return undefined;
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(n|u|m|k|M|G)?$/.exec(text.trim());
  if (!match) return undefined;
  return Math.ceil(Number(match[1]) * SUFFIX_MILLI[match[2] ?? '']! - 1e-9);
}

/** A millicore figure as the controller's milli-quantities print (`250m`, `2`). */
export function milliQuantity(milli: number): string {
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** A pod as the replica calculator reads it: phase, readiness, start, and its containers' cpu requests. */
export function cpuPod(pod: V1Pod): CpuPod {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  const startTime = pod.status?.startTime;
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Pending',
    deleting: pod.metadata?.deletionTimestamp !== undefined,
    ...(ready ? { ready: { status: ready.status, since: epoch(ready.lastTransitionTime) } } : {}),
    ...(startTime ? { startedAt: epoch(startTime) } : {}),
    ...cpuRequests(pod),
  };
}

/** The sum of a pod's containers' cpu requests, and the first container without one. */
function cpuRequests(pod: V1Pod): Pick<CpuPod, 'requestMilli' | 'missingRequest'> {
  let requestMilli = 0;
  for (const container of pod.spec?.containers ?? []) {
    const milli = cpuMilli(container.resources?.requests?.cpu);
    if (milli === undefined) return { requestMilli, missingRequest: container.name };
    requestMilli += milli;
  }
  return { requestMilli };
}

/** Pod name → its CPU sample: the sum of its containers' usage. Pods with an unreadable figure are left out. */
export function cpuSamples(items: readonly PodMetricsItem[]): Map<string, CpuSample> {
  const samples = new Map<string, CpuSample>();
  for (const item of items) {
    const milli = (item.containers ?? []).map((c) => cpuMilli(c.usage?.cpu));
    if (milli.some((m) => m === undefined) || !item.metadata?.name) continue;
    samples.set(item.metadata.name, {
      milli: milli.reduce<number>((s, m) => s + m!, 0),
      at: epoch(item.timestamp),
      windowMs: durationMs(item.window),
    });
  }
  return samples;
}

/**
 * `conditions` with `type` set to status/reason/message; its transition time moves only when
 * the status flips. Returns a new list; a new type goes last.
 */
export function withCondition(
  conditions: readonly HpaCondition[],
  type: string,
  setting: { status: string; reason: string; message: string },
  now: Date,
): HpaCondition[] {
  const existing = conditions.find((c) => c.type === type);
  const lastTransitionTime =
    existing && existing.status === setting.status ? existing.lastTransitionTime : rfc3339(now);
  const next = { type, ...setting, lastTransitionTime };
  return existing ? conditions.map((c) => (c === existing ? next : c)) : [...conditions, next];
}

/** RFC 3339 to the second, as metav1.Time marshals. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function epoch(value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return Number.isNaN(ms) ? 0 : ms;
}

/** A Go duration (`15s`, `1m0.5s`, `200ms`) in ms; 0 if unreadable. */
function durationMs(text: string | undefined): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 1e-6 };
  let total = 0;
  for (const [, value, unit] of (text ?? '').matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    total += Number(value) * (units[unit!] ?? 0);
  }
  return total;
}
