/**
 * imring's runtimes in this process for `bench/misroute.ts`: N gateways, one proxy and one
 * push, each following its own {@link StaticRingSource} (the part of the ring watcher), SDK
 * clients connected through the proxy. The bench plays the operator: it writes ring v+1
 * Prepared to every source, then Committed.
 */
import { once } from 'node:events';
import { buildRingDocument, Ring, type RingMember, type RingState } from '../../ring/index.js';
import { ImringClient } from '../../client/index.js';
import { startGateway, type Gateway } from '../../runtime/gateway/gateway.js';
import { startProxy, type Proxy } from '../../runtime/proxy/index.js';
import { startPush, type Push } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';

const HOST = '127.0.0.1';
const GATEWAY_REF = { namespace: 'bench', name: 'im', uid: 'bench-misroute' };

interface RunningGateway {
  readonly name: string;
  readonly gateway: Gateway;
  readonly source: StaticRingSource;
}

/** One user's SDK client, what it received, and how often its connection closed. */
export class LiveUser {
  readonly id: string;
  readonly client: ImringClient;
  readonly received = new Set<string>();
  closes = 0;

  constructor(id: string, client: ImringClient) {
    this.id = id;
    this.client = client;
    client.on('message', (m: { msgID: string }) => this.received.add(m.msgID));
    client.on('close', () => this.closes++);
  }

  get isOpen(): boolean {
    return this.client.state === 'open';
  }
}

/** One per-user result of push's `POST /v1/push`. */
export interface PushResultJson {
  readonly msgID: string;
  readonly userID: string;
  readonly status: 'realtime' | 'offline';
  readonly reason?: string;
}

/** Gateways, proxy and push in this process, and the users connected through the proxy. */
export class LiveSystem {
  readonly gateways: RunningGateway[] = [];
  readonly users = new Map<string, LiveUser>();
  readonly #proxySource = new StaticRingSource();
  readonly #pushSource = new StaticRingSource();
  readonly #secret: string;
  #proxy: Proxy | undefined;
  #push: Push | undefined;
  #ring: Ring | undefined;
  #closing: Promise<void> | undefined;

  private constructor(secret: string) {
    this.#secret = secret;
  }

  /** Starts `count` gateways with ring v1 Committed of them, then the proxy and push. */
  static async start(count: number, secret: string): Promise<LiveSystem> {
    const system = new LiveSystem(secret);
    try {
      await system.addGateways(count);
      system.writeRing(1, 'Committed');
      system.#proxy = await startProxy({ host: HOST, port: 0, ringSource: system.#proxySource });
      system.#push = await startPush({ host: HOST, ports: { grpc: 0, http: 0 }, ringSource: system.#pushSource });
    } catch (error) {
      await system.close();
      throw error;
    }
    return system;
  }

  /** The ring served now. */
  get ring(): Ring | undefined {
    return this.#ring;
  }

  /** Starts `count` more gateways `im-<i>` serving the current ring (not members of it yet). */
  async addGateways(count: number): Promise<void> {
    const first = this.gateways.length;
    for (let i = first; i < first + count; i++) {
      const source = new StaticRingSource(this.#ring);
      const gateway = await startGateway({
        host: HOST,
        ports: { ws: 0, grpc: 0 },
        self: `im-${i}`,
        ringSource: source,
        tokenSecret: this.#secret,
      });
      this.gateways.push({ name: `im-${i}`, gateway, source });
    }
  }

  /**
   * Writes ring `version` of every started gateway to every source (proxy, push, gateways), as
   * the ring watcher of each would serve it; `previous` is the ring served before.
   */
  writeRing(version: number, state: RingState): Ring {
    const members: RingMember[] = this.gateways.map((g) => ({
      name: g.name,
      host: HOST,
      ports: { ws: g.gateway.ports.ws, grpc: g.gateway.ports.grpc },
    }));
    const before = this.#ring;
    const previous = before === undefined || before.version === version ? (before?.previous ?? null) : before;
    const document = buildRingDocument({
      gateway: GATEWAY_REF,
      version,
      state,
      members,
      previous: previous === null ? null : { version: previous.version, members: previous.members },
    });
    const ring = Ring.fromDocument(document);
    this.#ring = ring;
    for (const source of [this.#proxySource, this.#pushSource, ...this.gateways.map((g) => g.source)]) source.set(ring);
    return ring;
  }

  /** Connects one SDK client per user through the proxy; resolves once all are open. */
  async connect(users: readonly string[], tokens: ReadonlyMap<string, string>): Promise<void> {
    const url = `ws://${HOST}:${this.#proxy!.port}/ws`;
    await Promise.all(
      users.map(async (id) => {
        const client = new ImringClient({ url, userID: id, platform: 'web', token: tokens.get(id)! });
        const user = new LiveUser(id, client);
        this.users.set(id, user);
        const opened = once(client, 'open');
        client.connect();
        await opened;
      }),
    );
  }

  /** `POST /v1/push` on push's HTTP API: one result per (message, recipient). */
  async push(
    messages: readonly { msgID: string; toUserIDs: readonly string[]; payload: string }[],
  ): Promise<PushResultJson[]> {
    const response = await fetch(`http://${HOST}:${this.#push!.ports.http}/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    if (response.status !== 200) throw new Error(`push answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { results: PushResultJson[] }).results;
  }

  /** True when every gateway holds only users it owns and every client is open. */
  isSettled(): boolean {
    return (
      this.gateways.every((g) => g.gateway.stats().misplaced === 0) && [...this.users.values()].every((u) => u.isOpen)
    );
  }

  /** Closes clients, proxy, push and gateways. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.users.values()].map((u) => u.client.close()));
      await this.#proxy?.close();
      await this.#push?.close();
      await Promise.all(this.gateways.map((g) => g.gateway.close()));
    })();
    return this.#closing;
  }
}
