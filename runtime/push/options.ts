import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import type { RingSource } from '../ring-source.js';
import type { Resolver } from '../resolver.js';

/** Options of {@link startPush}. Every limit has a default; all are validated at once. */
export interface PushOptions {
  /** Address both servers bind (tests: 127.0.0.1). */
  host: string;
  /**
   * gRPC (`imring.push.v1.Push`) and HTTP (`POST /v1/push`, health, metrics) ports; 0 picks one. `ops`, when set,
   * serves health and metrics on a port of their own, so a NetworkPolicy can open probes and scraping to the
   * cluster while the API ports stay reserved to push's clients.
   */
  ports: { grpc: number; http: number; ops?: number };
  /** Where the ring comes from: its routing ring is asked for at each request and each delivery round. */
  ringSource: RingSource;
  /** Resolves member hosts before dialling. Default `createResolver()` (closed by push). */
  resolver?: Resolver;
  /** Offline results are POSTed here as `{results:[…]}`; default: logged, one line per batch. */
  offlineWebhookUrl?: string;
  /** Messages per request; beyond: 400 / INVALID_ARGUMENT. Default 1000. */
  maxMessagesPerRequest?: number;
  /** Recipients per request, summed over its messages; beyond: 413 / RESOURCE_EXHAUSTED. Default 10 000. */
  maxRecipientsPerRequest?: number;
  /** Payload per message, in UTF-8 bytes; beyond: 413 / RESOURCE_EXHAUSTED. Default 64 KiB. */
  maxPayloadBytes?: number;
  /** HTTP body, and gRPC request message, in bytes; beyond: 413 / RESOURCE_EXHAUSTED. Default 8 MiB. */
  maxBodyBytes?: number;
  /**
   * Push requests (HTTP and gRPC together) read, checked and delivered at once; beyond: 503
   * with Retry-After / UNAVAILABLE at once, never queued. Bounds request memory to this many
   * times `maxBodyBytes`. Default 256.
   */
  maxConcurrentRequests?: number;
  /** Per batch to a gateway, queueing included, in ms; then its users are `gateway_error`. Default 2000. */
  gatewayTimeoutMs?: number;
  /** How long a batch to one gateway waits for more messages, in ms; 0: the next turn of the event loop. Default 0. */
  coalesceMs?: number;
  /**
   * Batches sent and unanswered per gateway. Default 64. Beyond, batches queue (and keep
   * coalescing), at most as many again; beyond that, their users are `gateway_error` at once.
   */
  maxInFlightBatchesPerGateway?: number;
  /** Estimated size at which a batch to a gateway is closed, in bytes. Default 1 MiB (gRPC servers take 4 MiB). */
  maxBatchBytes?: number;
  /**
   * Offline results queued for the webhook; beyond: dropped and counted
   * (`imring_push_offline_results_total{outcome="queue_full"}`). Default 10 000.
   */
  offlineQueueLimit?: number;
  /** Wait between handoff retries at a user's current owner, in ms. Default 50. */
  handoffRetryMs?: number;
  logger?: Logger;
  registry?: Registry;
  /** The clock for handoff windows, in ms. Default `Date.now`. */
  now?: () => number;
  /** Waits `ms` between handoff retries and webhook attempts. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** Defaults of {@link PushOptions}. */
export const DEFAULTS = Object.freeze({
  maxMessagesPerRequest: 1000,
  maxRecipientsPerRequest: 10_000,
  maxPayloadBytes: 64 * 1024,
  maxBodyBytes: 8 * 1024 * 1024,
  maxConcurrentRequests: 256,
  gatewayTimeoutMs: 2000,
  coalesceMs: 0,
  maxInFlightBatchesPerGateway: 64,
  maxBatchBytes: 1024 * 1024,
  offlineQueueLimit: 10_000,
  handoffRetryMs: 50,
  /** Webhook: results per POST, attempts, backoff (first, longest) and per-request timeout, in ms. */
  webhookBatchSize: 500,
  webhookMaxAttempts: 5,
  webhookRetryBaseMs: 200,
  webhookRetryMaxMs: 5000,
  webhookTimeoutMs: 5000,
});

/** Options with every default filled in (`resolver` stays undefined when push is to create its own). */
export type ResolvedPushOptions = Required<Omit<PushOptions, 'offlineWebhookUrl' | 'resolver'>> & {
  offlineWebhookUrl: string | undefined;
  resolver: Resolver | undefined;
};

/**
 * Validates every option at once and fills in the defaults.
 * @throws {TypeError | RangeError} naming the first bad option.
 */
export function resolvePushOptions(options: PushOptions): ResolvedPushOptions {
  checkPlaces(options);
  const numbers = checkNumbers(options);
  return {
    ...numbers,
    host: options.host,
    ports: { ...options.ports },
    ringSource: options.ringSource,
    resolver: options.resolver,
    offlineWebhookUrl: options.offlineWebhookUrl,
    logger: options.logger ?? pino({ level: 'silent' }),
    registry: options.registry ?? new Registry(),
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
}

/** A port (`ops` may be absent). */
function checkPort(port: number | undefined, name: 'grpc' | 'http' | 'ops'): void {
  if (name === 'ops' && port === undefined) return;
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`ports.${name} must be an integer in 0..65535, got ${port}`);
  }
}

function checkPlaces(options: PushOptions): void {
  if (typeof options.host !== 'string' || options.host === '') throw new TypeError('host must be a non-empty string');
  for (const name of ['grpc', 'http', 'ops'] as const) checkPort(options.ports?.[name], name);
  if (typeof options.ringSource?.routingRing !== 'function') throw new TypeError('ringSource must be a RingSource');
  const webhook = options.offlineWebhookUrl;
  if (webhook !== undefined && !URL.canParse(webhook)) {
    throw new TypeError(`offlineWebhookUrl must be a URL, got ${webhook}`);
  }
  for (const name of ['now', 'sleep'] as const) {
    const value = options[name];
    if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function`);
  }
}

const NUMERIC = [
  'maxMessagesPerRequest',
  'maxRecipientsPerRequest',
  'maxPayloadBytes',
  'maxBodyBytes',
  'maxConcurrentRequests',
  'gatewayTimeoutMs',
  'coalesceMs',
  'maxInFlightBatchesPerGateway',
  'maxBatchBytes',
  'offlineQueueLimit',
  'handoffRetryMs',
] as const;

function checkNumbers(options: PushOptions): Record<(typeof NUMERIC)[number], number> {
  const numbers = {} as Record<(typeof NUMERIC)[number], number>;
  for (const name of NUMERIC) {
    const value = options[name] ?? DEFAULTS[name];
    const least = name === 'coalesceMs' || name === 'offlineQueueLimit' ? 0 : 1;
    if (!Number.isInteger(value) || value < least) {
      throw new RangeError(`${name} must be an integer >= ${least}, got ${value}`);
    }
    numbers[name] = value;
  }
  return numbers;
}
