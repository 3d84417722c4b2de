import { Annotations } from './contract.js';
import type { RingState } from './document.js';
import type { RingRefusal } from './errors.js';

/**
 * What a runtime reports in its Lease's annotations (DESIGN.md section 6), as the runtime
 * writes it and the operator and `imring status` read it. A field left out is not reported.
 */
export interface RuntimeReport {
  /** The ring version served; absent before the first good document. */
  readonly version?: number;
  /** The state of the served ring. */
  readonly state?: RingState;
  /** Gateways: open client connections. */
  readonly connections?: number;
  /** Gateways: connections of users the gateway does not own in the served ring. */
  readonly misplaced?: number;
  /** The last refused ring document's error, as {@link describeRefusal} writes it. */
  readonly ringError?: string;
  /**
   * Gateways: true once the gateway got SIGTERM and waits to leave the ring; absent otherwise (a reader
   * tests `draining === true`). Written as `"true"`, any other value reads as not draining.
   */
  readonly draining?: boolean;
}

/** The text of a refusal on a Lease: `<code>: <message>`. */
export function describeRefusal(error: Pick<RingRefusal, 'code' | 'message'>): string {
  return `${error.code}: ${error.message}`;
}

/** The annotations that carry `report`, keyed by {@link Annotations}. Pure. */
export function leaseAnnotations(report: RuntimeReport): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (report.version !== undefined) annotations[Annotations.ringVersion] = String(report.version);
  if (report.state !== undefined) annotations[Annotations.ringState] = report.state;
  if (report.connections !== undefined) annotations[Annotations.connections] = String(report.connections);
  if (report.misplaced !== undefined) annotations[Annotations.misplaced] = String(report.misplaced);
  if (report.ringError !== undefined) annotations[Annotations.ringError] = report.ringError;
  if (report.draining === true) annotations[Annotations.draining] = 'true';
  return annotations;
}

/**
 * The report that `annotations` carry. Pure and total: a missing or garbled value (a count
 * that is not a non-negative decimal integer, an unknown state) is left out, never guessed.
 */
export function parseLeaseAnnotations(annotations: Readonly<Record<string, string>> | undefined): RuntimeReport {
  const read = (key: string): string | undefined => annotations?.[key];
  const version = count(read(Annotations.ringVersion));
  const state = read(Annotations.ringState);
  const connections = count(read(Annotations.connections));
  const misplaced = count(read(Annotations.misplaced));
  const ringError = read(Annotations.ringError);
  return {
    ...(version !== undefined ? { version } : {}),
    ...(state === 'Prepared' || state === 'Committed' ? { state } : {}),
    ...(connections !== undefined ? { connections } : {}),
    ...(misplaced !== undefined ? { misplaced } : {}),
    ...(typeof ringError === 'string' ? { ringError } : {}),
    ...(read(Annotations.draining) === 'true' ? { draining: true } : {}),
  };
}

/** A count as the writer writes it: decimal digits only, at most 15 so it is an exact number. */
function count(value: string | undefined): number | undefined {
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
