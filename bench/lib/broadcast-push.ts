/**
 * The broadcast baselines: every message goes to every gateway, and each gateway delivers to
 * whoever it holds. Bench-only; both serve the same `imring.push.v1.Push` gRPC API as push.
 * - `unary`: what OpenIM main does (internal/push/onlinepusher.go, DefaultAllNode): for each
 *   message, one unary call per gateway (`SuperGroupOnlineBatchPushOneMsg`), concurrently.
 * - `batched`: a stronger broadcast than OpenIM's, with push's own coalescing (one
 *   DeliverStream per gateway; calls arriving in one event-loop turn share one DeliverRequest),
 *   so it differs from imring only in where each message is sent.
 */
import {
  credentials,
  Server,
  ServerCredentials,
  status,
  type Client,
  type ClientDuplexStream,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import type { RingMember } from '../../ring/index.js';
import {
  gatewayService,
  pushService,
  type DeliverRequest,
  type DeliverResponse,
  type GatewayMessage,
  type PushRequest,
  type PushResponse,
  type PushResult,
  type UserResult,
} from '../../runtime/protos.js';

/** A running broadcast pusher. */
export interface BroadcastPush {
  readonly port: number;
  close(): Promise<void>;
}

type DeliverStream = ClientDuplexStream<DeliverRequest, DeliverResponse>;
type GatewayClient = Client & { DeliverStream(): DeliverStream };

interface Waiter {
  readonly pairs: number;
  resolve(results: UserResult[]): void;
  reject(error: Error): void;
}

/** One gateway: a stream, the batch being filled this turn, and the batches in flight. */
class BroadcastLink {
  readonly #client: GatewayClient;
  readonly #stream: DeliverStream;
  readonly #inFlight = new Map<number, Waiter[]>();
  #messages: GatewayMessage[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #nextId = 1;

  constructor(member: RingMember) {
    const Constructor = gatewayService();
    this.#client = new Constructor(
      `${member.host}:${member.ports.grpc}`,
      credentials.createInsecure(),
    ) as unknown as GatewayClient;
    this.#stream = this.#client.DeliverStream();
    this.#stream.on('data', (response: DeliverResponse) => this.#answer(response));
    this.#stream.on('error', (error: Error) => this.#failAll(error));
  }

  deliver(messages: GatewayMessage[], pairs: number): Promise<UserResult[]> {
    return new Promise((resolve, reject) => {
      this.#messages.push(...messages);
      this.#waiters.push({ pairs, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    });
  }

  close(): void {
    this.#failAll(new Error('closed'));
    this.#stream.cancel();
    this.#client.close();
  }

  #flush(): void {
    this.#scheduled = false;
    const batchId = this.#nextId++;
    this.#inFlight.set(batchId, this.#waiters);
    this.#stream.write({ ringVersion: 0, messages: this.#messages, batchId });
    this.#messages = [];
    this.#waiters = [];
  }

  #answer(response: DeliverResponse): void {
    const waiters = this.#inFlight.get(response.batchId);
    if (waiters === undefined) return;
    this.#inFlight.delete(response.batchId);
    let offset = 0;
    for (const waiter of waiters) {
      waiter.resolve(response.results.slice(offset, offset + waiter.pairs));
      offset += waiter.pairs;
    }
  }

  #failAll(error: Error): void {
    for (const waiters of this.#inFlight.values()) for (const waiter of waiters) waiter.reject(error);
    this.#inFlight.clear();
  }
}

type UnaryClient = Client & {
  Deliver(request: DeliverRequest, callback: (error: Error | null, response?: DeliverResponse) => void): void;
};

/** OpenIM's way: one unary Deliver per gateway for each call, no batching across calls. */
class UnaryLink {
  readonly #client: UnaryClient;

  constructor(member: RingMember) {
    const Constructor = gatewayService();
    this.#client = new Constructor(
      `${member.host}:${member.ports.grpc}`,
      credentials.createInsecure(),
    ) as unknown as UnaryClient;
  }

  deliver(messages: GatewayMessage[]): Promise<UserResult[]> {
    return new Promise((resolve, reject) => {
      this.#client.Deliver({ ringVersion: 0, messages, batchId: 0 }, (error, response) =>
        error ? reject(error) : resolve(response?.results ?? []),
      );
    });
  }

  close(): void {
    this.#client.close();
  }
}

/** Starts a broadcast pusher's gRPC server on `host` (any free port) in front of `members`. */
export async function startBroadcastPush(options: {
  host: string;
  members: readonly RingMember[];
  mode: 'unary' | 'batched';
}): Promise<BroadcastPush> {
  const links = options.members.map((member) =>
    options.mode === 'unary' ? new UnaryLink(member) : new BroadcastLink(member),
  );
  const server = new Server();
  server.addService(pushService().service, {
    Push(call: ServerUnaryCall<PushRequest, PushResponse>, callback: sendUnaryData<PushResponse>): void {
      broadcast(links, call.request.messages ?? []).then(
        (results) => callback(null, { results }),
        (error: unknown) => callback({ code: status.UNAVAILABLE, details: String(error) }),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:0`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    port,
    close: async () => {
      for (const link of links) link.close();
      server.forceShutdown();
      await Promise.resolve();
    },
  };
}

/** Sends all of `messages` to every gateway; a (message, user) is realtime if any gateway delivered it. */
async function broadcast(
  links: readonly (BroadcastLink | UnaryLink)[],
  messages: PushRequest['messages'],
): Promise<PushResult[]> {
  const sent: GatewayMessage[] = messages.map((m) => ({ msgId: m.msgId, userIds: m.toUserIds, payload: m.payload }));
  const pairs = sent.reduce((sum, m) => sum + m.userIds.length, 0);
  const answers = await Promise.all(links.map((link) => link.deliver(sent, pairs)));
  const results: PushResult[] = [];
  for (let i = 0; i < pairs; i++) {
    let connections = 0;
    for (const answer of answers) if (answer[i]?.status === 'DELIVERED') connections += answer[i]!.connections;
    const first = answers[0]?.[i];
    results.push({
      msgId: first?.msgId ?? '',
      userId: first?.userId ?? '',
      status: connections > 0 ? 'realtime' : 'offline',
      via: connections > 0 ? 'current' : '',
      reason: connections > 0 ? '' : 'not_connected',
      connections,
    });
  }
  return results;
}
