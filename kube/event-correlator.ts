import type { CoreV1Event } from '@kubernetes/client-node';
import { TokenBucket } from './token-bucket.js';

/**
 * client-go's EventCorrelator (tools/record/events_cache.go), which every recorder of a real
 * cluster's components runs before writing an Event:
 *
 * - aggregation: once `maxSimilarEvents` events differing only in message follow one another
 *   with no gap over `similarWindowMs`, each further one becomes a single Event whose message
 *   is `(combined from similar events): <the latest message>`;
 * - counting: an event seen before (same source, object, type, reason, message) updates the
 *   Event first written for it: count + 1, its lastTimestamp and message;
 * - spam filter: per source, object and type, `spamBurst` writes, then one per `spamRefillMs`;
 *   a filtered occurrence is still counted, so the next write carries the full count.
 *
 * Pure apart from the clock it is given.
 */

/** Options of {@link EventCorrelator}, with client-go's defaults. */
export interface EventCorrelatorOptions {
  /** Distinct messages of similar events before they are combined. Default 10. */
  readonly maxSimilarEvents?: number;
  /** Longest gap between similar events that still counts them together, in ms. Default 600,000. */
  readonly similarWindowMs?: number;
  /** Writes of one type (Normal, Warning) a source may make about one object at once. Default 25. */
  readonly spamBurst?: number;
  /** Time for one more write to become allowed once the burst is spent, in ms. Default 300,000. */
  readonly spamRefillMs?: number;
  /** Events, similar groups and spam buckets each remembered (least recently used go first). Default 4,096. */
  readonly cacheEntries?: number;
  /** The wall clock in nanoseconds since the Unix epoch. */
  readonly now: () => bigint;
}

const DEFAULTS = {
  maxSimilarEvents: 10,
  similarWindowMs: 600_000,
  spamBurst: 25,
  spamRefillMs: 300_000,
  cacheEntries: 4096,
};

/** What to write for an event: a new Event, an update of the Event already written, or nothing. */
export type Correlation =
  | { readonly action: 'create'; readonly event: CoreV1Event }
  | { readonly action: 'update'; readonly event: CoreV1Event }
  | { readonly action: 'skip' };

/** The prefix of a combined event's message. */
export const COMBINED_PREFIX = '(combined from similar events): ';

interface Observation {
  readonly name: string;
  readonly count: number;
  readonly firstTimestamp: Date;
}

interface SimilarGroup {
  readonly messages: Set<string>;
  lastMs: number;
}

/** See the module comment. */
export class EventCorrelator {
  readonly #options: Required<EventCorrelatorOptions>;
  readonly #similar: LruMap<SimilarGroup>;
  readonly #observed: LruMap<Observation>;
  readonly #spam: LruMap<TokenBucket>;

  constructor(options: EventCorrelatorOptions) {
    this.#options = resolveOptions(options);
    const { cacheEntries } = this.#options;
    this.#similar = new LruMap(cacheEntries);
    this.#observed = new LruMap(cacheEntries);
    this.#spam = new LruMap(cacheEntries);
  }

  /**
   * Correlates a new event (with its own `metadata.name`, count 1 and both timestamps now) with
   * those before it. The event is not changed; the result carries what to write.
   */
  correlate(event: CoreV1Event): Correlation {
    const nowNs = this.#options.now();
    const { event: aggregated, key } = this.#aggregate(event, nowNs);
    const observed = this.#observe(aggregated, key);
    if (!this.#allowed(observed.event)) return { action: 'skip' };
    return observed;
  }

  #aggregate(event: CoreV1Event, nowNs: bigint): { event: CoreV1Event; key: string } {
    const nowMs = Number(nowNs / 1_000_000n);
    const groupKey = similarKey(event);
    let group = this.#similar.get(groupKey);
    if (!group || nowMs - group.lastMs > this.#options.similarWindowMs) group = { messages: new Set(), lastMs: nowMs };
    group.messages.add(event.message ?? '');
    group.lastMs = nowMs;
    this.#similar.set(groupKey, group);
    if (group.messages.size < this.#options.maxSimilarEvents) return { event, key: eventKey(event) };
    // Kept one short of the limit, so every further similar event is combined too.
    group.messages.delete(group.messages.values().next().value!);
    const now = new Date(Number(nowNs / 1_000_000n));
    const combined: CoreV1Event = {
      metadata: {
        name: `${event.involvedObject.name ?? ''}.${nowNs.toString(16)}`,
        namespace: event.metadata.namespace,
      },
      involvedObject: event.involvedObject,
      reason: event.reason,
      message: COMBINED_PREFIX + (event.message ?? ''),
      type: event.type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: event.source,
      reportingComponent: event.reportingComponent,
      reportingInstance: event.reportingInstance,
    };
    return { event: combined, key: groupKey };
  }

  #observe(event: CoreV1Event, key: string): Correlation & { event: CoreV1Event } {
    const last = this.#observed.get(key);
    if (!last) {
      this.#observed.set(key, {
        name: event.metadata.name ?? '',
        count: event.count ?? 1,
        firstTimestamp: event.firstTimestamp ?? new Date(),
      });
      return { action: 'create', event };
    }
    const updated: CoreV1Event = {
      ...event,
      metadata: { ...event.metadata, name: last.name },
      count: last.count + 1,
      firstTimestamp: last.firstTimestamp,
    };
    this.#observed.set(key, { ...last, count: last.count + 1 });
    return { action: 'update', event: updated };
  }

  #allowed(event: CoreV1Event): boolean {
    const key = spamKey(event);
    let bucket = this.#spam.get(key);
    if (!bucket) {
      const clockMs = (): number => Number(this.#options.now() / 1_000_000n);
      bucket = new TokenBucket(1000 / this.#options.spamRefillMs, { burst: this.#options.spamBurst, now: clockMs });
    }
    this.#spam.set(key, bucket);
    return bucket.tryTake();
  }
}

function resolveOptions(options: EventCorrelatorOptions): Required<EventCorrelatorOptions> {
  const resolved = { ...DEFAULTS, ...options };
  for (const key of ['maxSimilarEvents', 'spamBurst', 'cacheEntries'] as const) {
    if (!Number.isSafeInteger(resolved[key]) || resolved[key] < 1)
      throw new RangeError(`${key} must be a positive integer, got ${resolved[key]}`);
  }
  for (const key of ['similarWindowMs', 'spamRefillMs'] as const) {
    if (!Number.isFinite(resolved[key]) || resolved[key] <= 0)
      throw new RangeError(`${key} must be a positive number of ms, got ${resolved[key]}`);
  }
  if (typeof resolved.now !== 'function') throw new TypeError('now must be a function returning nanoseconds');
  return resolved;
}

/** The source, the object and the type (client-go 1.32's getSpamKey): a flood of Normal events leaves Warnings room. */
function spamKey(event: CoreV1Event): string {
  return JSON.stringify([...sourceAndObject(event), event.type]);
}

/** Everything but the message (client-go's EventAggregatorByReasonFunc). */
function similarKey(event: CoreV1Event): string {
  const { type, reason, reportingComponent, reportingInstance } = event;
  return JSON.stringify([...sourceAndObject(event), type, reason, reportingComponent, reportingInstance]);
}

/** Everything that makes two events the same one (client-go's getEventKey). */
function eventKey(event: CoreV1Event): string {
  const o = event.involvedObject;
  return JSON.stringify([...sourceAndObject(event), o.fieldPath, event.type, event.reason, event.message]);
}

function sourceAndObject(event: CoreV1Event): unknown[] {
  const o = event.involvedObject;
  return [event.source?.component, event.source?.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion];
}

/** A Map that forgets its least recently used entry beyond `limit` entries. */
class LruMap<V> {
  readonly #limit: number;
  readonly #entries = new Map<string, V>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#limit) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
