/** Helpers of {@link ReconcileWorld}: objects as the in-memory world stores and compares them. */
import type { KubernetesObject, V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import {
  Annotations,
  parseRingDocument,
  RING_DATA_KEY,
  type RingDocument,
  type RuntimeComponent,
} from '../../ring/index.js';
import { describeGateway } from './gateway-state.js';

/** What a runtime serving `document` reports in its Lease (a gateway: no connections, so none misplaced). */
export function ringAnnotations(document: RingDocument, component: RuntimeComponent): Record<string, string> {
  const annotations: Record<string, string> = {
    [Annotations.ringVersion]: String(document.version),
    [Annotations.ringState]: document.state,
  };
  if (component === 'gateway') {
    annotations[Annotations.connections] = '0';
    annotations[Annotations.misplaced] = '0';
  }
  return annotations;
}

export function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function specOf(object: KubernetesObject | undefined): unknown {
  const { spec, data } = (object ?? {}) as { spec?: unknown; data?: unknown };
  return spec ?? data;
}

export function isSame(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Why {@link ReconcileWorld.until} stopped: the gateway cannot reach the condition. */
export function stuck(name: string, why: string, gateway: IMGateway | undefined): Error {
  return new Error(`${name} cannot get there: ${why}; ${describeGateway(gateway)}`);
}

/** A 409 as client-node reports it: the caller's view was stale. */
export function conflict(message: string): Error {
  return Object.assign(new Error(`Conflict: ${message}`), { code: 409 });
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Appends the (version, state) of `configMap`'s ring to `history` (as `v2 Prepared`) unless it is the last one. */
export function recordRing(history: string[], configMap: V1ConfigMap): void {
  const parsed = parseRingDocument(configMap.data?.[RING_DATA_KEY] ?? '');
  const entry = parsed.ok ? `v${parsed.document.version} ${parsed.document.state}` : 'invalid';
  if (history.at(-1) !== entry) history.push(entry);
}
