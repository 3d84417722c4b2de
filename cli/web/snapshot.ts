import type { StatusView } from '../status-view.js';

/**
 * What the web view shows of one IMGateway at one moment: the `data` of each `event: snapshot`
 * on `GET /events` (the contract between cli/web/ and web/status/).
 */
export interface Snapshot {
  readonly name: string;
  readonly namespace: string;
  /** When it was computed (ISO 8601). */
  readonly at: string;
  /** The health of the API server and the watches. */
  readonly connection: { readonly state: 'live' | 'reconnecting'; readonly message: string | null };
  /** Why there is no IMGateway to show (the feed keeps watching for it), else null. */
  readonly notFound: string | null;
  /** As `imring status NAME -o json` prints it; null until the first lists are loaded. */
  readonly status: StatusView | null;
  /** Member (pod) name → pod Ready. */
  readonly ready: Readonly<Record<string, boolean>>;
  readonly transition: Timeline | null;
  /** Recent Events about the IMGateway, its pods and its ring ConfigMap, newest first. */
  readonly events: readonly EventView[];
  readonly delivery: DeliverySnapshot | null;
}

/** The steps of a ring transition, in order (docs/operator.md, the transition protocol). */
export const TIMELINE_STEPS = ['Prepared', 'Acknowledged', 'Committed', 'Moved', 'Converged'] as const;
export type TimelineStepName = (typeof TIMELINE_STEPS)[number];

export interface TimelineStep {
  readonly name: TimelineStepName;
  /** When the step was first observed (ISO 8601), null until then. */
  readonly at: string | null;
  /** Since the previous step, when both were observed apart; else null. */
  readonly durationMs: number | null;
}

/** The transition to ring `version` as the feed observed it. */
export interface Timeline {
  readonly version: number;
  readonly fromVersion: number | null;
  readonly steps: readonly TimelineStep[];
}

export interface EventView {
  readonly type: string;
  readonly reason: string;
  readonly message: string;
  readonly count: number;
  readonly lastTimestamp: string | null;
  /** `Kind/name` of the involved object. */
  readonly object: string;
}

/** Delivery figures of `imring local`'s demo traffic (cli/demo/traffic.ts). */
export interface DeliverySnapshot {
  readonly realtimePerSecond: number;
  readonly offlinePerSecond: number;
  readonly offlineByReason: Readonly<Record<string, number>>;
  readonly misrouted: number;
  readonly lost: number;
  readonly movesPerSecond: number;
}
