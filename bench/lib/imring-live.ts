/**
 * imring's runtimes for `bench/misroute.ts`: N gateways and one proxy, each in its own child
 * process (bench/lib/children.ts, so their CPU can be read apart), one push in this process,
 * each following its own {@link StaticRingSource} (the part of the ring watcher), SDK clients
 * connected through the proxy. The bench plays the operator: it writes ring v+1 Prepared to
 * every runtime, then Committed.
 */
import { once } from 'node:events';
import { buildRingDocument, Ring, type RingDocument, type RingMember, type RingState } from '../../ring/index.js';
import { ImringClient, type ClientMoveEvent, type MigrateMode } from '../../client/index.js';
import { startPush, type Push } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { closeAll, Component } from './children.js';

const HOST = '127.0.0.1';
const GATEWAY_REF = { namespace: 'bench', name: 'im', uid: 'bench-misroute' };

/** One user's SDK client, what it received, and how it moved. */
export class LiveUser {
  readonly id: string;
  readonly client: ImringClient;
  readonly received = new Set<string>();
  closes = 0;
  /** Moves the SDK reported (graceful or forced). */
  moves = 0;
  /** Times without an open connection, close → open, ms. */
  readonly gapsMs: number[] = [];
  #closedAt: number | undefined;

  constructor(id: string, client: ImringClient) {
    this.id = id;
    this.client = client;
    client.on('message', (m: { msgID: string }) => this.received.add(m.msgID));
    client.on('move', (_event: ClientMoveEvent) => this.moves++);
    client.on('close', () => {
      this.closes++;
      this.#closedAt = performance.now();
    });
    client.on('open', () => {
      if (this.#closedAt !== undefined) this.gapsMs.push(performance.now() - this.#closedAt);
      this.#closedAt = undefined;
    });
  }

  get isOpen(): boolean {
    return this.client.state === 'open';
  }

  /** Whether its connection moved: a move event, or a close (a plain client's 4001). */
  get moved(): boolean {
    return this.moves > 0 || this.closes > 0;
  }
}

/** One per-user result of push's `POST /v1/push`. */
export interface PushResultJson {
  readonly msgID: string;
  readonly userID: string;
  readonly status: 'realtime' | 'offline';
  readonly reason?: string;
}

/** CPU of the gateway processes (summed) and of the proxy process, µs since each started. */
export interface RuntimeCpu {
  readonly gatewaysUs: number;
  readonly proxyUs: number;
}

/** Gateways and proxy in child processes, push in this one, and the users connected through the proxy. */
export class LiveSystem {
  readonly gateways: Component[] = [];
  readonly users = new Map<string, LiveUser>();
  readonly #pushSource = new StaticRingSource();
  readonly #secret: string;
  #proxy: Component | undefined;
  #push: Push | undefined;
  #ring: Ring | undefined;
  #document: RingDocument | undefined;
  #closing: Promise<void> | undefined;

  private constructor(secret: string) {
    this.#secret = secret;
  }

  /** Starts `count` gateways with ring v1 Committed of them, then the proxy and push. */
  static async start(count: number, secret: string): Promise<LiveSystem> {
    const system = new LiveSystem(secret);
    try {
      await system.addGateways(count);
      const document = await system.writeRing(1, 'Committed');
      system.#proxy = await Component.start('proxy', { role: 'proxy', host: HOST, ring: document });
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
      const name = `im-${i}`;
      const gateway = await Component.start(name, {
        role: 'gateway',
        host: HOST,
        self: name,
        tokenSecret: this.#secret,
      });
      this.gateways.push(gateway);
      if (this.#document) await gateway.setRing(this.#document);
    }
  }

  /**
   * Writes ring `version` of every started gateway to every runtime (proxy, push, gateways), as
   * the ring watcher of each would serve it; `previous` is the ring served before.
   */
  async writeRing(version: number, state: RingState): Promise<RingDocument> {
    const members: RingMember[] = this.gateways.map((g) => ({
      name: g.name,
      host: HOST,
      ports: { ws: g.ports.ws!, grpc: g.ports.grpc! },
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
    this.#ring = Ring.fromDocument(document);
    this.#document = document;
    this.#pushSource.set(this.#ring);
    const children = this.#proxy ? [this.#proxy, ...this.gateways] : this.gateways;
    await Promise.all(children.map((c) => c.setRing(document)));
    return document;
  }

  /** Connects one SDK client per user through the proxy; resolves once all are open. */
  async connect(
    users: readonly string[],
    tokens: ReadonlyMap<string, string>,
    migrate: MigrateMode = 'graceful',
  ): Promise<void> {
    const url = `ws://${HOST}:${this.#proxy!.ports.ws}/ws`;
    await Promise.all(
      users.map(async (id) => {
        const client = new ImringClient({ url, userID: id, platform: 'web', token: tokens.get(id)!, migrate });
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
  async isSettled(): Promise<boolean> {
    if (![...this.users.values()].every((u) => u.isOpen)) return false;
    const stats = await Promise.all(this.gateways.map((g) => g.stats()));
    return stats.every((s) => s.gateway?.misplaced === 0);
  }

  /** CPU of the gateway processes and of the proxy process so far. */
  async cpu(): Promise<RuntimeCpu> {
    const [proxy, ...gateways] = await Promise.all([this.#proxy!, ...this.gateways].map((c) => c.stats()));
    return { gatewaysUs: gateways.reduce((sum, s) => sum + s.cpuUs, 0), proxyUs: proxy!.cpuUs };
  }

  /** Closes clients, push, proxy and gateways. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.users.values()].map((u) => u.client.close()));
      await this.#push?.close();
      await closeAll([this.#proxy, ...this.gateways]);
    })();
    return this.#closing;
  }
}
