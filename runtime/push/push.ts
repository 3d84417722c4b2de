import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';
import { pushService, type PushMessage, type PushResult } from '../protos.js';
import { createResolver, type Resolver } from '../resolver.js';
import { deliverMessages } from './deliver.js';
import { GatewayPool } from './gateway-pool.js';
import { pushImplementation } from './grpc-service.js';
import { pushRoutes } from './http-api.js';
import { startOpsServer, type OpsServer } from '../../kube/ops-server.js';
import { createOfflineSink, type OfflineSink } from './offline-sink.js';
import { DEFAULTS, resolvePushOptions, type PushOptions, type ResolvedPushOptions } from './options.js';
import { uniqueUnits } from './plan.js';
import { RequestGate } from './request-gate.js';
import { servePush, type PushAnswer, type ReadMessages } from './serve-push.js';

export { DEFAULTS, type PushOptions } from './options.js';

/** A running push server. */
export interface Push {
  /** The bound ports (`ops` when asked for). */
  readonly ports: { grpc: number; http: number; ops?: number };
  /** True while a ring is loaded and not fenced. */
  ready(): boolean;
  /**
   * Pushes from this process, by the path both APIs take (admission, checks, delivery): one
   * result per (message, recipient), in request order. Rejects as the APIs refuse: a
   * RangeError for invalid or oversized messages, an Error while fenced or overloaded.
   */
  push(messages: PushMessage[]): Promise<PushResult[]>;
  /**
   * Stops both servers, answering calls in flight for up to a second and failing what is left,
   * and drops the offline queue (counted). Idempotent.
   */
  close(): Promise<void>;
}

/** Starts the push servers (DESIGN.md section 6) and resolves once both listen. */
export async function startPush(options: PushOptions): Promise<Push> {
  const o = resolvePushOptions(options);
  const metrics = pushMetrics(o.registry);
  const resolver = o.resolver ?? createResolver();
  const log = o.logger;
  const pool = gatewayPool(o, resolver, metrics);
  const sink = offlineSink(o, metrics);
  const unsubscribe = o.ringSource.onChange((ring) => {
    pool.retain([...ring.members, ...(ring.previous?.members ?? [])]);
  });
  let closing = false;
  const deliver = (messages: PushMessage[]): Promise<PushResult[]> =>
    deliverMessages(messages, uniqueUnits(messages), {
      ringSource: o.ringSource,
      deliver: (member, sent, version) => pool.deliver(member, sent, version),
      holdsNoMovingUser: (member, version) => pool.reportedNoMisplaced(member, version),
      isUnreachable: (member) => pool.isUnreachable(member),
      onPlatformAsk: (result) =>
        result === 'avoided' ? metrics.platformAsksAvoided.inc() : metrics.platformAsks.inc({ result }),
      onOutcomes: (outcomes) => {
        for (const { label } of outcomes) metrics.deliveries.inc({ result: label });
        sink.submit(outcomes.filter(({ result }) => result.status === 'offline').map(({ result }) => result));
      },
      handoffRetryMs: o.handoffRetryMs,
      now: o.now,
      sleep: o.sleep,
      isClosing: () => closing,
    });
  const gate = new RequestGate({ limit: o.maxConcurrentRequests, ringSource: o.ringSource });
  const context = { gate, limits: o, deliver };
  const serve = (read: () => ReadMessages | Promise<ReadMessages>): Promise<PushAnswer> => servePush(context, read);
  const ready = (): boolean => 'ring' in o.ringSource.routingRing();
  const routes = pushRoutes({ maxBodyBytes: o.maxBodyBytes, serve, requests: metrics.requests, logger: log });
  let http: OpsServer | undefined;
  let ops: OpsServer | undefined;
  const grpc = new GrpcServer({ 'grpc.max_receive_message_length': o.maxBodyBytes });
  grpc.addService(pushService().service, pushImplementation({ serve, requests: metrics.requests, logger: log }));
  let ports: Push['ports'];
  try {
    const served = { host: o.host, ready, registry: o.registry, logger: log };
    http = await startOpsServer({ ...served, port: o.ports.http, routes });
    if (o.ports.ops !== undefined) ops = await startOpsServer({ ...served, port: o.ports.ops });
    ports = { http: http.port, grpc: await bindGrpc(grpc, o.host, o.ports.grpc), ...(ops ? { ops: ops.port } : {}) };
  } catch (error) {
    await Promise.all([http?.close(), ops?.close()]);
    grpc.forceShutdown();
    pool.close();
    unsubscribe();
    if (o.resolver === undefined) resolver.close();
    throw new Error(`while starting push on ${o.host}`, { cause: error });
  }
  log.info({ ports }, 'push listening');
  const servers = [http, ...(ops ? [ops] : [])];
  let closed: Promise<void> | undefined;
  return {
    ports,
    ready,
    async push(messages: PushMessage[]): Promise<PushResult[]> {
      const answer = await serve(() => ({ ok: true, messages, api: 'grpc' }));
      if (answer.ok) return answer.results;
      const { kind, message } = answer.error;
      if (kind === 'invalid' || kind === 'too_large') throw new RangeError(message);
      throw new Error(`push refused: ${message}`);
    },
    close(): Promise<void> {
      closed ??= (async () => {
        // Calls in flight are answered first (each HTTP answer then closes its connection), within the same bound.
        const drainMs = SHUTDOWN_DRAIN_MS;
        await Promise.all([...servers.map((server) => server.close({ drainMs })), shutdownGrpc(grpc)]);
        closing = true;
        unsubscribe();
        pool.close();
        await sink.close();
        if (o.resolver === undefined) resolver.close();
      })();
      return closed;
    },
  };
}

type Metrics = ReturnType<typeof pushMetrics>;

function gatewayPool(o: ResolvedPushOptions, resolver: Resolver, metrics: Metrics): GatewayPool {
  return new GatewayPool({
    resolver,
    timeoutMs: o.gatewayTimeoutMs,
    coalesceMs: o.coalesceMs,
    maxInFlight: o.maxInFlightBatchesPerGateway,
    maxQueued: o.maxInFlightBatchesPerGateway,
    maxBatchBytes: o.maxBatchBytes,
    onError: ({ gateway, error, firstOfIncident }) => {
      metrics.gatewayErrors.inc({ gateway });
      if (!firstOfIncident) return;
      const message = 'gateway delivery failed; its users are offline (gateway_error) until it answers again';
      o.logger.warn({ gateway, err: error }, message);
    },
    onRecovered: (gateway) => o.logger.info({ gateway }, 'gateway answers again'),
    onBatch: (pairs) => metrics.batchSize.observe(pairs),
  });
}

function offlineSink(o: ResolvedPushOptions, metrics: Metrics): OfflineSink {
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
  platformAsks: Counter<'result'>;
  platformAsksAvoided: Counter;
  batchSize: Histogram;
  requests: Counter<'api' | 'code'>;
  offline: Counter<'outcome'>;
} {
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: 'imring_push_deliveries_total',
      help: 'Distinct (message, user) deliveries by result: realtime_current, realtime_previous, realtime_handoff, offline, error (gateway_error).',
      labelNames: ['result'],
      registers,
    }),
    gatewayErrors: new Counter({
      name: 'imring_push_gateway_errors_total',
      help: 'Batches to a gateway that failed (unreachable, timeout, broken stream, overloaded).',
      labelNames: ['gateway'],
      registers,
    }),
    platformAsks: new Counter({
      name: 'imring_push_previous_platform_asks_total',
      help: 'Users delivered at their current owner then asked at their previous owner for the platforms not reached (a user split while moving), by result: delivered, none, migrated (asked at the current owner once more), error (the result stays realtime).',
      labelNames: ['result'],
      registers,
    }),
    platformAsksAvoided: new Counter({
      name: 'imring_push_previous_platform_asks_avoided_total',
      help: 'Such asks not made: the previous owner last reported 0 misplaced connections at the ring version pushed with or later, or push cannot reach it now (not resolvable, refusing connections, its stream failed).',
      registers,
    }),
    batchSize: new Histogram({
      name: 'imring_push_batch_size',
      help: '(message, user) pairs per DeliverRequest.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000],
      registers,
    }),
    requests: new Counter({
      name: 'imring_push_requests_total',
      help: 'Push API requests by api (http, grpc) and code (HTTP status or gRPC code).',
      labelNames: ['api', 'code'],
      registers,
    }),
    offline: new Counter({
      name: 'imring_push_offline_results_total',
      help: 'Offline results by outcome: delivered to the sink, or dropped (queue_full, webhook_failed, shutdown).',
      labelNames: ['outcome'],
      registers,
    }),
  };
}

function bindGrpc(server: GrpcServer, host: string, port: number): Promise<number> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(target, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
}

/** Graceful shutdown, forced after 1 s (calls in flight were already failed by the pool). */
/** How long calls in flight get to be answered when push stops, ms. */
const SHUTDOWN_DRAIN_MS = 1000;

function shutdownGrpc(server: GrpcServer): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.forceShutdown(), SHUTDOWN_DRAIN_MS);
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
