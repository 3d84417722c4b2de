import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import type { RingMember } from '../../ring/index.js';
import {
  gatewayService,
  type DeliverRequest,
  type DeliverResponse,
  type GatewayMessage,
  type UserResult,
} from '../protos.js';
import type { Resolver } from '../resolver.js';
import { matchResults } from './plan.js';

/** A failed batch to a gateway, as told to {@link GatewayPoolOptions.onError}. */
export interface GatewayFailure {
  /** The member name. */
  readonly gateway: string;
  readonly error: Error;
  /** True for the first failure of a run of failures (log once per incident), false for the rest. */
  readonly firstOfIncident: boolean;
}

/** Limits of a {@link GatewayPool}; see PushOptions for their meaning and defaults. */
export interface GatewayPoolOptions {
  readonly resolver: Resolver;
  /** Per batch, from the moment it is queued to its response, in ms. */
  readonly timeoutMs: number;
  /** How long a batch waits for more messages before it is sent, in ms (0: the next turn of the event loop). */
  readonly coalesceMs: number;
  /** Batches sent and not yet answered, per gateway. */
  readonly maxInFlight: number;
  /** Batches queued behind them, per gateway; beyond, deliver() rejects at once. */
  readonly maxQueued: number;
  /** Estimated size at which a batch is closed and a new one started, in bytes. */
  readonly maxBatchBytes: number;
  /** Told of each failed batch (for counting). */
  readonly onError: (failure: GatewayFailure) => void;
  /** Told when a gateway answers again after failures. */
  readonly onRecovered: (gateway: string) => void;
  /** Told of each batch sent: its number of (message, user) pairs. */
  readonly onBatch: (pairs: number) => void;
}

/**
 * One gRPC client and one long-lived `DeliverStream` per gateway member (by name and address).
 * Concurrent deliveries to one gateway within `coalesceMs` share one DeliverRequest; responses
 * are correlated by `batchId` and split back to their callers by {@link matchResults}.
 */
export class GatewayPool {
  readonly #options: GatewayPoolOptions;
  readonly #links = new Map<string, GatewayLink>();
  #closed = false;

  constructor(options: GatewayPoolOptions) {
    this.#options = options;
  }

  /**
   * Delivers `messages` at `member`; resolves with the result of each (message, user), in
   * order (`undefined` where the gateway gave none), or rejects (unreachable, timeout, broken
   * stream, overloaded, closed).
   */
  deliver(member: RingMember, messages: GatewayMessage[], ringVersion: number): Promise<(UserResult | undefined)[]> {
    if (this.#closed) return Promise.reject(new Error('push is closing'));
    const key = linkKey(member);
    let link = this.#links.get(key);
    if (link === undefined) {
      link = new GatewayLink(member, this.#options);
      this.#links.set(key, link);
    }
    return link.enqueue(messages, ringVersion);
  }

  /**
   * True when `member`'s latest answer, since its stream last opened, reported 0 misplaced
   * connections while it served `ringVersion` or a later ring; false when it did not or when
   * no such answer came.
   */
  reportedNoMisplaced(member: RingMember, ringVersion: number): boolean {
    const latest = this.#links.get(linkKey(member))?.misplaced;
    return latest !== undefined && latest.count === 0 && latest.ringVersion >= ringVersion;
  }

  /**
   * True when push could not reach `member` (resolve it, connect to it, keep its stream) since its
   * latest answer, and no stream to it is open; a batch it did not answer in time does not count.
   */
  isUnreachable(member: RingMember): boolean {
    return this.#links.get(linkKey(member))?.unreachable ?? false;
  }

  /** Closes the links to gateways other than `members` (those of the current and the previous ring). */
  retain(members: Iterable<RingMember>): void {
    const keys = new Set([...members].map(linkKey));
    for (const [key, link] of this.#links) {
      if (keys.has(key)) continue;
      link.close();
      this.#links.delete(key);
    }
  }

  /** Fails everything pending and closes every client. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
  }
}

interface Caller {
  readonly messages: GatewayMessage[];
  resolve(results: (UserResult | undefined)[]): void;
  reject(error: Error): void;
}

interface Batch {
  readonly id: number;
  readonly callers: Caller[];
  readonly messages: GatewayMessage[];
  readonly ringVersion: number;
  pairs: number;
  bytes: number;
  timer: NodeJS.Timeout | undefined;
  stream: DeliverStream | undefined;
}

type DeliverStream = ClientDuplexStream<DeliverRequest, DeliverResponse>;
type GatewayClient = Client & { DeliverStream(): DeliverStream };

/** An attempt to open the stream, and the first batch ID queued after it started. */
interface Connecting {
  readonly stream: Promise<DeliverStream>;
  readonly firstLaterBatch: number;
}

/** Messages overhead estimate per message and per user ID, in bytes (protobuf tags and lengths). */
const MESSAGE_OVERHEAD_BYTES = 16;
const USER_OVERHEAD_BYTES = 4;
/** Reconnect backoff of an idle channel: grpc-js's default grows to 120 s, far longer than a pod restart. */
const CHANNEL_OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 2000 };

class GatewayLink {
  readonly name: string;
  readonly #host: string;
  readonly #port: number;
  readonly #options: GatewayPoolOptions;
  /** Batches not sent yet, oldest first; the last one may still take callers. */
  readonly #queue: Batch[] = [];
  readonly #inFlight = new Map<number, Batch>();
  #flushTimer: NodeJS.Immediate | NodeJS.Timeout | undefined;
  #nextId = 1;
  #client: { ip: string; client: GatewayClient } | undefined;
  #stream: DeliverStream | undefined;
  #connecting: Connecting | undefined;
  #failing = false;
  /** The latest connect attempt, or stream, failed by itself (not timed out by us), and no answer came since. */
  #unreachable = false;
  #closed = false;
  #misplaced: { count: number; ringVersion: number } | undefined;

  constructor(member: RingMember, options: GatewayPoolOptions) {
    this.name = member.name;
    this.#host = member.host;
    this.#port = member.ports.grpc;
    this.#options = options;
  }

  /** The gateway could not be reached (resolved, connected to) since its latest answer, and no stream is open. */
  get unreachable(): boolean {
    return this.#unreachable && this.#stream === undefined;
  }

  /** `DeliverResponse.misplaced` and `ringVersion` of the latest answer on the open stream. */
  get misplaced(): { count: number; ringVersion: number } | undefined {
    return this.#misplaced;
  }

  enqueue(messages: GatewayMessage[], ringVersion: number): Promise<(UserResult | undefined)[]> {
    const pairs = messages.reduce((sum, m) => sum + m.userIds.length, 0);
    const bytes = messages.reduce((sum, m) => sum + estimateBytes(m), 0);
    return new Promise<(UserResult | undefined)[]>((resolve, reject) => {
      const caller: Caller = { messages, resolve, reject };
      let batch = this.#queue.at(-1);
      const fits =
        batch !== undefined && batch.ringVersion === ringVersion && batch.bytes + bytes <= this.#options.maxBatchBytes;
      if (!fits) {
        if (this.#queue.length >= this.#options.maxQueued) {
          const error = new Error(
            `gateway ${this.name}: overloaded, ${this.#queue.length} batches already wait behind ${this.#inFlight.size} in flight`,
          );
          this.#report(error);
          reject(error);
          return;
        }
        batch = this.#newBatch(ringVersion);
      }
      batch!.callers.push(caller);
      batch!.messages.push(...messages);
      batch!.pairs += pairs;
      batch!.bytes += bytes;
      this.#scheduleFlush();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#flushTimer as NodeJS.Timeout);
    clearImmediate(this.#flushTimer as NodeJS.Immediate);
    const error = new Error(`gateway ${this.name}: link closed`);
    for (const batch of [...this.#queue, ...this.#inFlight.values()]) this.#fail(batch, error);
    this.#stream?.cancel();
    this.#client?.client.close();
  }

  #newBatch(ringVersion: number): Batch {
    const batch: Batch = {
      id: this.#nextId++,
      callers: [],
      messages: [],
      ringVersion,
      pairs: 0,
      bytes: 0,
      timer: undefined,
      stream: undefined,
    };
    // The timeout covers the wait for a slot and the call, so no caller waits unbounded.
    batch.timer = setTimeout(() => this.#timeout(batch), this.#options.timeoutMs);
    this.#queue.push(batch);
    return batch;
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined) return;
    const flush = (): void => {
      this.#flushTimer = undefined;
      this.#flush();
    };
    this.#flushTimer = this.#options.coalesceMs > 0 ? setTimeout(flush, this.#options.coalesceMs) : setImmediate(flush);
  }

  /** Sends queued batches while slots are free; the rest go when responses free slots. */
  #flush(): void {
    while (!this.#closed && this.#queue.length > 0 && this.#inFlight.size < this.#options.maxInFlight) {
      const batch = this.#queue.shift()!;
      this.#inFlight.set(batch.id, batch);
      this.#options.onBatch(batch.pairs);
      this.#send(batch).catch((error: unknown) => this.#fail(batch, asError(error)));
    }
  }

  async #send(batch: Batch): Promise<void> {
    const stream = await this.#streamFor(batch);
    if (!this.#inFlight.has(batch.id)) return; // timed out or closed while connecting
    batch.stream = stream;
    stream.write({ ringVersion: batch.ringVersion, messages: batch.messages, batchId: batch.id });
  }

  /**
   * The stream for `batch`. Batches share one attempt to open it; a batch that joined an attempt
   * started before it was queued, which then failed, gets one attempt of its own: that failure may
   * be stale (a resolution that hung for seconds while the member was gone, and it is back).
   */
  async #streamFor(batch: Batch): Promise<DeliverStream> {
    const attempt = this.#openStream();
    try {
      return await attempt.stream;
    } catch (error) {
      if (batch.id < attempt.firstLaterBatch || !this.#inFlight.has(batch.id)) throw error;
      return this.#openStream().stream;
    }
  }

  #openStream(): Connecting {
    if (this.#stream !== undefined) return { stream: Promise.resolve(this.#stream), firstLaterBatch: this.#nextId };
    if (this.#connecting === undefined) {
      const stream = this.#connect()
        .catch((error: unknown) => {
          this.#unreachable = true;
          throw error;
        })
        .finally(() => (this.#connecting = undefined));
      this.#connecting = { stream, firstLaterBatch: this.#nextId };
    }
    return this.#connecting;
  }

  async #connect(): Promise<DeliverStream> {
    // Re-resolved at every (re)connect: a restarted pod keeps its name but may change address.
    const ip = await this.#options.resolver.resolve(this.#host);
    if (this.#closed) throw new Error(`gateway ${this.name}: link closed`);
    if (this.#client !== undefined && this.#client.ip !== ip) {
      this.#client.client.close();
      this.#client = undefined;
    }
    if (this.#client === undefined) {
      const Constructor = gatewayService();
      const target = ip.includes(':') ? `[${ip}]:${this.#port}` : `${ip}:${this.#port}`;
      this.#client = {
        ip,
        client: new Constructor(target, credentials.createInsecure(), CHANNEL_OPTIONS) as unknown as GatewayClient,
      };
    }
    const stream = this.#client.client.DeliverStream();
    this.#stream = stream;
    stream.on('data', (response: DeliverResponse) => this.#answer(response));
    stream.on('error', (error: Error) => this.#lost(stream, error));
    stream.on('end', () => this.#lost(stream, new Error(`gateway ${this.name}: stream ended`)));
    return stream;
  }

  #answer(response: DeliverResponse): void {
    this.#misplaced = { count: response.misplaced ?? 0, ringVersion: response.ringVersion };
    this.#unreachable = false;
    const batch = this.#inFlight.get(response.batchId);
    if (batch === undefined) return; // timed out already: its callers have their answer
    this.#settle(batch);
    if (response.results.length !== batch.pairs) {
      const error = new Error(`gateway ${this.name}: ${response.results.length} results for ${batch.pairs} deliveries`);
      this.#fail(batch, error);
      return;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#options.onRecovered(this.name);
    }
    const matched = matchResults(
      batch.callers.map((caller) => caller.messages),
      response.results,
    );
    batch.callers.forEach((caller, i) => caller.resolve(matched[i]!));
    this.#flush();
  }

  /** `stream` failed or ended at the gateway's side (or on the way): unreachable until it answers again. */
  #lost(stream: DeliverStream, error: Error): void {
    if (this.#stream === stream) this.#unreachable = true;
    this.#broken(stream, error);
  }

  #broken(stream: DeliverStream, error: Error): void {
    if (this.#stream !== stream) return;
    this.#stream = undefined;
    // A gateway that restarted may hold other connections: unknown until it answers again.
    this.#misplaced = undefined;
    stream.cancel();
    // A fresh channel for the next batch: grpc-js would otherwise wait out its own reconnect
    // backoff, and the member's address is resolved again.
    this.#client?.client.close();
    this.#client = undefined;
    // Only the batches written to this stream are lost; those connecting wait for a new one.
    for (const batch of [...this.#inFlight.values()]) if (batch.stream === stream) this.#fail(batch, error);
  }

  #timeout(batch: Batch): void {
    const error = new Error(`gateway ${this.name}: no answer within ${this.#options.timeoutMs} ms`);
    // An unanswered stream is presumed dead (e.g. a half-open connection): start a fresh one.
    if (batch.stream !== undefined) this.#broken(batch.stream, error);
    this.#fail(batch, error);
  }

  /** Fails `batch`'s callers; counted unless the link is closing (then nothing failed at the gateway). */
  #fail(batch: Batch, error: Error): void {
    if (!this.#settle(batch)) return;
    if (!this.#closed) this.#report(error);
    for (const caller of batch.callers) caller.reject(error);
    this.#flush();
  }

  #report(error: Error): void {
    this.#options.onError({ gateway: this.name, error, firstOfIncident: !this.#failing });
    this.#failing = true;
  }

  /** Removes `batch` from the queues and stops its timer; false when it was settled before. */
  #settle(batch: Batch): boolean {
    clearTimeout(batch.timer);
    if (this.#inFlight.delete(batch.id)) return true;
    const index = this.#queue.indexOf(batch);
    if (index < 0) return false;
    this.#queue.splice(index, 1);
    return true;
  }
}

/**
 * The pool's key of a member: its name and address. A member that moved gets a new client, and
 * while both rings name it (at two addresses), both are kept rather than rebuilt at every batch.
 */
function linkKey(member: RingMember): string {
  return `${member.name}@${member.host}:${member.ports.grpc}`;
}

function estimateBytes(message: GatewayMessage): number {
  let bytes = MESSAGE_OVERHEAD_BYTES + Buffer.byteLength(message.msgId) + Buffer.byteLength(message.payload);
  for (const userId of message.userIds) bytes += USER_OVERHEAD_BYTES + userId.length * 3;
  for (const { userId, platforms } of message.skip ?? []) {
    bytes += USER_OVERHEAD_BYTES + userId.length * 3;
    for (const platform of platforms) bytes += USER_OVERHEAD_BYTES + platform.length * 3;
  }
  return bytes;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
