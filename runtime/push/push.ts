import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { pino, type Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { pushService, type PushMessage, type PushResult } from '../protos.js';
import type { RingSource } from '../ring-source.js';
import { createResolver, type Resolver } from '../resolver.js';
import { deliverMessages } from './deliver.js';
import { GatewayPool } from './gateway-pool.js';
import { pushImplementation } from './grpc-service.js';
import { pushRoutes } from './http-api.js';
import { startOpsServer, type OpsServer } from '../../kube/ops-server.js';
import { createOfflineSink, type OfflineSink } from './offline-sink.js';
import { uniqueUnits } from './plan.js';
import { RequestGate } from './request-gate.js';
import { checkMessages, type RequestLimits } from './validate.js';

/** Options of {@link startPush}. Every limit has a default; all are validated at once. */
export interface PushOptions {
  /** Address both servers bind (tests: 127.0.0.1). */
  host: string;
  /** gRPC (`imring.push.v1.Push`) and HTTP (`POST /v1/push`, health, metrics) ports; 0 picks one. */
  ports: { grpc: number; http: number };
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
  /** Offline results queued for the webhook; beyond: dropped and counted (`imring_push_offline_results_total{outcome="queue_full"}`). Default 10 000. */
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

/** A running push server. */
export interface Push {
  /** The bound ports. */
  readonly ports: { grpc: number; http: number };
  /** True while a ring is loaded and not fenced. */
  ready(): boolean;
  /** The core of both APIs: one result per (message, recipient), in request order. Validates like the APIs (throws RangeError). */
  push(messages: PushMessage[]): Promise<PushResult[]>;
  /** Stops both servers, fails what is in flight, drops the offline queue (counted). Idempotent. */
  close(): Promise<void>;
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

type Resolved = Required<Omit<PushOptions, 'offlineWebhookUrl' | 'resolver'>> & { offlineWebhookUrl: string | undefined; resolver: Resolver | undefined };

/** Validates every option at once; throws a TypeError/RangeError naming the first bad one. */
export function resolvePushOptions(options: PushOptions): Resolved {
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

function checkPlaces(options: PushOptions): void {
  if (typeof options.host !== 'string' || options.host === '') throw new TypeError('host must be a non-empty string');
  for (const name of ['grpc', 'http'] as const) {
    const port = options.ports?.[name];
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`ports.${name} must be an integer in 0..65535, got ${port}`);
  }
  if (typeof options.ringSource?.current !== 'function') throw new TypeError('ringSource must be a RingSource');
  if (options.offlineWebhookUrl !== undefined && !URL.canParse(options.offlineWebhookUrl)) throw new TypeError(`offlineWebhookUrl must be a URL, got ${options.offlineWebhookUrl}`);
  for (const name of ['now', 'sleep'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new TypeError(`${name} must be a function`);
  }
}

const NUMERIC = ['maxMessagesPerRequest', 'maxRecipientsPerRequest', 'maxPayloadBytes', 'maxBodyBytes', 'maxConcurrentRequests', 'gatewayTimeoutMs', 'coalesceMs', 'maxInFlightBatchesPerGateway', 'maxBatchBytes', 'offlineQueueLimit', 'handoffRetryMs'] as const;

function checkNumbers(options: PushOptions): Record<(typeof NUMERIC)[number], number> {
  const numbers = {} as Record<(typeof NUMERIC)[number], number>;
  for (const name of NUMERIC) {
    const value = options[name] ?? DEFAULTS[name];
    const least = name === 'coalesceMs' || name === 'offlineQueueLimit' ? 0 : 1;
    if (!Number.isInteger(value) || value < least) throw new RangeError(`${name} must be an integer >= ${least}, got ${value}`);
    numbers[name] = value;
  }
  return numbers;
}

/** Starts the push servers (DESIGN.md section 6) and resolves once both listen. */
export async function startPush(options: PushOptions): Promise<Push> {
  const o = resolvePushOptions(options);
  const metrics = pushMetrics(o.registry);
  const resolver = o.resolver ?? createResolver();
  const log = o.logger;
  const pool = gatewayPool(o, resolver, metrics);
  const sink = offlineSink(o, metrics);
  const unsubscribe = o.ringSource.onChange((ring) => pool.retain(new Set([...ring.members, ...(ring.previous?.members ?? [])].map((m) => `${m.name}@${m.host}:${m.ports.grpc}`))));
  let closing = false;
  const limits: RequestLimits = o;
  const core = (messages: PushMessage[]): Promise<PushResult[]> =>
    deliverMessages(messages, uniqueUnits(messages), {
      ringSource: o.ringSource,
      deliver: (member, sent, version) => pool.deliver(member, sent, version),
      onOutcomes: (outcomes) => {
        for (const { label } of outcomes) metrics.deliveries.inc({ result: label });
        sink.submit(outcomes.filter(({ result }) => result.status === 'offline').map(({ result }) => result));
      },
      handoffRetryMs: o.handoffRetryMs,
      now: o.now,
      sleep: o.sleep,
      isClosing: () => closing,
    });
  const fenced = (): string | undefined => o.ringSource.fenced?.();
  const ready = (): boolean => o.ringSource.current() !== undefined && fenced() === undefined;
  const gate = new RequestGate(o.maxConcurrentRequests, fenced);
  const routes = pushRoutes({ limits, maxBodyBytes: o.maxBodyBytes, gate, push: core, requests: metrics.requests, logger: log });
  let http: OpsServer | undefined;
  const grpc = new GrpcServer({ 'grpc.max_receive_message_length': o.maxBodyBytes });
  grpc.addService(pushService().service, pushImplementation({ limits, gate, push: core, requests: metrics.requests, logger: log }));
  let ports: { grpc: number; http: number };
  try {
    http = await startOpsServer({ host: o.host, port: o.ports.http, ready, registry: o.registry, logger: log, routes });
    ports = { http: http.port, grpc: await bindGrpc(grpc, o.host, o.ports.grpc) };
  } catch (error) {
    await http?.close();
    grpc.forceShutdown();
    pool.close();
    unsubscribe();
    if (o.resolver === undefined) resolver.close();
    throw new Error(`while starting push on ${o.host}`, { cause: error });
  }
  log.info({ ports }, 'push listening');
  const opsServer = http;
  let closed: Promise<void> | undefined;
  return {
    ports,
    ready,
    push(messages: PushMessage[]): Promise<PushResult[]> {
      const checked = checkMessages(messages, limits, 'grpc');
      if (!checked.ok) return Promise.reject(new RangeError(checked.error.message));
      const fence = fenced();
      if (fence !== undefined) return Promise.reject(new Error(`push refused: ${fence}`));
      return core(checked.messages);
    },
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        unsubscribe();
        pool.close();
        await Promise.all([opsServer.close(), shutdownGrpc(grpc), sink.close()]);
        if (o.resolver === undefined) resolver.close();
      })();
      return closed;
    },
  };
}

type Metrics = ReturnType<typeof pushMetrics>;

function gatewayPool(o: Resolved, resolver: Resolver, metrics: Metrics): GatewayPool {
  return new GatewayPool({
    resolver,
    timeoutMs: o.gatewayTimeoutMs,
    coalesceMs: o.coalesceMs,
    maxInFlight: o.maxInFlightBatchesPerGateway,
    maxQueued: o.maxInFlightBatchesPerGateway,
    maxBatchBytes: o.maxBatchBytes,
    onError: (gateway, error, first) => {
      metrics.gatewayErrors.inc({ gateway });
      if (first) o.logger.warn({ gateway, err: error }, 'gateway delivery failed; its users are offline (gateway_error) until it answers again');
    },
    onRecovered: (gateway) => o.logger.info({ gateway }, 'gateway answers again'),
    onBatch: (pairs) => metrics.batchSize.observe(pairs),
  });
}

function offlineSink(o: Resolved, metrics: Metrics): OfflineSink {
  return createOfflineSink({
    webhookUrl: o.offlineWebhookUrl,
    queueLimit: o.offlineQueueLimit,
    batchSize: DEFAULTS.webhookBatchSize,
    maxAttempts: DEFAULTS.webhookMaxAttempts,
    retryBaseMs: DEFAULTS.webhookRetryBaseMs,
    retryMaxMs: DEFAULTS.webhookRetryMaxMs,
    requestTimeoutMs: DEFAULTS.webhookTimeoutMs,
    logger: o.logger,
    counter: metrics.offline,
    sleep: (ms, signal) => Promise.race([o.sleep(ms), aborted(signal)]),
  });
}

/** The push metrics, registered once per registry. */
function pushMetrics(registry: Registry): {
  deliveries: Counter<'result'>;
  gatewayErrors: Counter<'gateway'>;
  batchSize: Histogram;
  requests: Counter<'api' | 'code'>;
  offline: Counter<'outcome'>;
} {
  const registers = [registry];
  return {
    deliveries: new Counter({ name: 'imring_push_deliveries_total', help: 'Distinct (message, user) deliveries by result: realtime_current, realtime_previous, realtime_handoff, offline, error (gateway_error).', labelNames: ['result'], registers }),
    gatewayErrors: new Counter({ name: 'imring_push_gateway_errors_total', help: 'Batches to a gateway that failed (unreachable, timeout, broken stream, overloaded).', labelNames: ['gateway'], registers }),
    batchSize: new Histogram({ name: 'imring_push_batch_size', help: '(message, user) pairs per DeliverRequest.', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000], registers }),
    requests: new Counter({ name: 'imring_push_requests_total', help: 'Push API requests by api (http, grpc) and code (HTTP status or gRPC code).', labelNames: ['api', 'code'], registers }),
    offline: new Counter({ name: 'imring_push_offline_results_total', help: 'Offline results by outcome: delivered to the sink, or dropped (queue_full, webhook_failed, shutdown).', labelNames: ['outcome'], registers }),
  };
}

function bindGrpc(server: GrpcServer, host: string, port: number): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => server.bindAsync(target, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
}

/** Graceful shutdown, forced after 1 s (calls in flight were already failed by the pool). */
function shutdownGrpc(server: GrpcServer): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.forceShutdown(), 1000);
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });
}
