import {
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { buildRingDocument, DEFAULT_POLICY, Ring, type RingMember } from '../../ring/index.js';
import { Registry } from 'prom-client';
import { startPush, type Push, type PushOptions } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { sampleGateway } from '../support/fixtures.js';
import {
  gatewayService,
  type DeliverRequest,
  type DeliverResponse,
  type DeliveryStatus,
  type UserResult,
} from '../../runtime/protos.js';

/** A scripted answer for one user: a status, with a connection count for DELIVERED. */
export interface Answer {
  status: DeliveryStatus;
  connections?: number;
}

/** A frame a fake gateway wrote to one of its connections. */
export interface Written {
  readonly msgId: string;
  readonly userId: string;
  readonly platform: string;
}

/**
 * A grpc-js server implementing `imring.gateway.v1.Gateway` with connections (user, platform)
 * and scripted per-user answers, recording every DeliverRequest. A user with connections here
 * not named in the message's `skip` is DELIVERED on them (their platforms reported, the writes
 * recorded); otherwise the script answers (default NOT_HERE). Every answer reports
 * `misplaced()`. Responses can be held back (`hold()`) to keep batches in flight.
 */
export interface FakeGateway {
  readonly port: number;
  /** Every Deliver / DeliverStream request received, in arrival order. */
  readonly requests: DeliverRequest[];
  /** Every frame written to a connection, in order. */
  readonly written: Written[];
  /** Opens a connection of `userId` on `platform` here (one per platform, as a gateway keeps). */
  connect(userId: string, platform: string): void;
  /** Closes that connection. */
  disconnect(userId: string, platform: string): void;
  /** Reports `count` as `DeliverResponse.misplaced` from now on (default 0). */
  misplaced(count: number): void;
  /** DeliverStream calls opened. */
  streams(): number;
  /** Answers `userId` with `answer` from now on; a function is asked at each delivery (attempt = 1, 2, …). */
  script(userId: string, answer: Answer | ((attempt: number) => Answer)): void;
  /** Queues responses instead of sending them, until `release()`. */
  hold(): void;
  /** Sends the held responses and stops holding. */
  release(): void;
  /** Responses held now. */
  held(): number;
  /** Resolves once `count` requests in total have arrived. */
  waitForRequests(count: number): Promise<void>;
  /** Stops at once (streams break). Idempotent. */
  close(): Promise<void>;
}

/** Starts a fake gateway on 127.0.0.1 (`port` 0: any). */
export async function startFakeGateway(port = 0): Promise<FakeGateway> {
  const requests: DeliverRequest[] = [];
  const written: Written[] = [];
  const connections = new Map<string, Set<string>>();
  let misplaced = 0;
  const scripts = new Map<string, Answer | ((attempt: number) => Answer)>();
  const attempts = new Map<string, number>();
  const heldBack: (() => void)[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let holding = false;
  let streams = 0;

  const answer = (request: DeliverRequest): DeliverResponse => {
    requests.push(request);
    for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const results: UserResult[] = [];
    for (const message of request.messages) {
      for (const userId of message.userIds) {
        const attempt = (attempts.get(userId) ?? 0) + 1;
        attempts.set(userId, attempt);
        const skip = new Set(message.skip?.find((s) => s.userId === userId)?.platforms);
        const platforms = [...(connections.get(userId) ?? [])].filter((platform) => !skip.has(platform));
        if (platforms.length > 0) {
          for (const platform of platforms) written.push({ msgId: message.msgId, userId, platform });
          results.push({ msgId: message.msgId, userId, status: 'DELIVERED', connections: platforms.length, platforms });
          continue;
        }
        const script = scripts.get(userId);
        const { status, connections: count } =
          typeof script === 'function' ? script(attempt) : (script ?? { status: 'NOT_HERE' as const });
        results.push({ msgId: message.msgId, userId, status, connections: status === 'DELIVERED' ? (count ?? 1) : 0 });
      }
    }
    return { batchId: request.batchId, results, ringVersion: request.ringVersion, misplaced };
  };
  const later = (send: () => void): void => {
    if (holding) heldBack.push(send);
    else send();
  };

  const server = new Server();
  server.addService(gatewayService().service, {
    Deliver(call: ServerUnaryCall<DeliverRequest, DeliverResponse>, callback: sendUnaryData<DeliverResponse>) {
      const response = answer(call.request);
      later(() => callback(null, response));
    },
    DeliverStream(call: ServerDuplexStream<DeliverRequest, DeliverResponse>) {
      streams += 1;
      call.on('data', (request: DeliverRequest) => {
        const response = answer(request);
        later(() => {
          if (!call.cancelled && !call.destroyed) call.write(response);
        });
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    Online(_call: unknown, callback: sendUnaryData<unknown>) {
      callback(null, { users: [] });
    },
    Kick(_call: unknown, callback: sendUnaryData<unknown>) {
      callback(null, { closed: 0 });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) =>
      error ? reject(error) : resolve(p),
    ),
  );
  let closed = false;
  return {
    port: bound,
    requests,
    written,
    connect: (userId, platform) => {
      const platforms = connections.get(userId) ?? new Set<string>();
      connections.set(userId, platforms.add(platform));
    },
    disconnect: (userId, platform) => void connections.get(userId)?.delete(platform),
    misplaced: (count) => void (misplaced = count),
    streams: () => streams,
    script: (userId, scripted) => void scripts.set(userId, scripted),
    hold: () => void (holding = true),
    release: () => {
      holding = false;
      for (const send of heldBack.splice(0)) send();
    },
    held: () => heldBack.length,
    waitForRequests: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => {
      if (!closed) {
        closed = true;
        heldBack.length = 0;
        server.forceShutdown();
      }
      return Promise.resolve();
    },
  };
}

/** A ring member dialled at a fake gateway (host 127.0.0.1: the resolver returns IP literals as is). */
export function memberAt(name: string, gateway: { port: number }): RingMember {
  return { name, host: '127.0.0.1', ports: { ws: 1, grpc: gateway.port } };
}

/** A committed ring of `members` (and `previous`, as version - 1) with a handoff window in ms. */
export function ringOf(
  members: RingMember[],
  options: { version?: number; previous?: RingMember[]; handoffWindowMs?: number } = {},
): Ring {
  const version = options.version ?? (options.previous ? 2 : 1);
  return Ring.fromDocument(
    buildRingDocument({
      gateway: sampleGateway,
      version,
      state: 'Committed',
      members,
      previous: options.previous ? { version: version - 1, members: options.previous } : null,
      policy: { ...DEFAULT_POLICY, handoffWindowMs: options.handoffWindowMs ?? 2000 },
      tableSize: 1009,
    }),
  );
}

/** `count` user IDs (`<prefix>-<n>`) that `owns` accepts, in order. */
export function usersWhere(count: number, owns: (userId: string) => boolean, prefix = 'user'): string[] {
  const users: string[] = [];
  for (let n = 0; users.length < count; n++) {
    if (n > 100_000) throw new Error('no such users');
    if (owns(`${prefix}-${n}`)) users.push(`${prefix}-${n}`);
  }
  return users;
}

/** A push server in front of `count` fake gateways `im-0…`, a fake clock and its metrics registry. */
export interface Harness {
  readonly push: Push;
  readonly gateways: FakeGateway[];
  readonly members: RingMember[];
  readonly source: StaticRingSource;
  readonly registry: Registry;
  /** The fake clock: `sleep` advances it and records the wait; `onSleep` is told first. */
  readonly clock: { now: number; sleeps: number[]; onSleep?: () => void };
  /** The value of a counter series, or a histogram's count (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

/** Starts `count` fake gateways and push with a one-version ring over them (and `options`). */
export async function startHarness(
  count: number,
  options: Partial<PushOptions> & { ring?: boolean } = {},
): Promise<Harness> {
  const gateways = await Promise.all(Array.from({ length: count }, () => startFakeGateway()));
  const members = gateways.map((gateway, i) => memberAt(`im-${i}`, gateway));
  const source = new StaticRingSource(options.ring === false ? undefined : ringOf(members));
  const registry = new Registry();
  const clock: Harness['clock'] = { now: 0, sleeps: [] };
  const push = await startPush({
    host: '127.0.0.1',
    ports: { grpc: 0, http: 0 },
    ringSource: source,
    registry,
    now: () => clock.now,
    sleep: (ms) => {
      clock.onSleep?.();
      clock.sleeps.push(ms);
      clock.now += ms;
      return new Promise((resolve) => setImmediate(resolve));
    },
    ...options,
  });
  return {
    push,
    gateways,
    members,
    source,
    registry,
    clock,
    metric: async (name, labels = {}) => {
      const metric = await registry.getSingleMetric(name)?.get();
      // Counters have one series per label set; a histogram answers with its _count.
      const series = (metric?.values ?? []) as {
        labels: Record<string, unknown>;
        value: number;
        metricName?: string;
      }[];
      const value = series.find(
        (v) =>
          Object.entries(labels).every(([k, l]) => v.labels[k] === l) &&
          (v.metricName === undefined || v.metricName === `${name}_count`),
      );
      return value?.value ?? 0;
    },
    close: async () => {
      await push.close();
      await Promise.all(gateways.map((g) => g.close()));
    },
  };
}
