/** Builders for the gateway tests: rings, tokens, a fake clock, ws and gRPC clients. */
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { buildRingDocument, Ring, type RingPolicy, type RingState } from '../../ring/index.js';
import type { ClientConnection, ConnectionTable } from '../../runtime/gateway/connections.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { gatewayService, type DeliverRequest, type DeliverResponse } from '../../runtime/protos.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../runtime/gateway/gateway.js';
import { newMembers, sampleGateway } from '../support/fixtures.js';

export const SECRET = 'test-secret-of-the-gateway';
export const SELF = 'im-0';

/** A ring of `im-0`…`im-<members-1>` as the operator would write it. */
export function newRing(init: {
  version: number;
  members: number;
  state?: RingState;
  previousMembers?: number;
  policy?: RingPolicy;
}): Ring {
  const previous =
    init.previousMembers === undefined
      ? null
      : { version: init.version - 1, members: newMembers(init.previousMembers) };
  const document = buildRingDocument({
    gateway: sampleGateway,
    version: init.version,
    state: init.state ?? 'Committed',
    members: newMembers(init.members),
    previous,
    policy: init.policy,
  });
  return Ring.fromDocument(document);
}

/** The first `count` IDs `u-<i>` for which `predicate` holds. */
export function usersWhere(count: number, predicate: (userID: string) => boolean): string[] {
  const users: string[] = [];
  for (let i = 0; users.length < count; i++) if (predicate(`u-${i}`)) users.push(`u-${i}`);
  return users;
}

/** An HS256 token for `sub`, expiring `expiresInSeconds` from now (negative: already expired). */
export function sign(sub: string, init: { secret?: string; expiresInSeconds?: number } = {}): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + (init.expiresInSeconds ?? 600);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(init.secret ?? SECRET));
}

/** A clock and timers that move only when told, running due timers in time order. */
export class FakeClock {
  nowMs = 1_700_000_000_000;
  #timers: { at: number; id: number; run: () => void }[] = [];
  #next = 1;
  readonly now = (): number => this.nowMs;
  readonly timers = {
    setTimeout: (run: () => void, delayMs: number): unknown => {
      const id = this.#next++;
      this.#timers.push({ at: this.nowMs + Math.max(0, delayMs), id, run });
      return id;
    },
    clearTimeout: (id: unknown): void => {
      this.#timers = this.#timers.filter((t) => t.id !== id);
    },
  };

  /** Timers waiting, as delays from now in ms. */
  pending(): number[] {
    return this.#timers.map((t) => t.at - this.nowMs).sort((a, b) => a - b);
  }

  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (due === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.nowMs = due.at;
      due.run();
    }
    this.nowMs = target;
  }
}

/** A connection of the connection table's tests: what it was sent, and the codes it was closed with. */
export type RecordingConnection = ClientConnection & { frames: Buffer[]; closes: number[] };

/**
 * A connection of `table` that records frames and closes (leaving the table as a socket does);
 * `accepts` false makes it act like a reader cut off at this send (closed 4008), `closing` like a
 * socket whose client started the closing handshake (it refuses frames and stays in the table).
 */
export function fakeConnection(
  table: ConnectionTable,
  init: { userID: string; platform: string; accepts?: boolean; closing?: boolean; graceful?: boolean },
): RecordingConnection {
  const connection: RecordingConnection = {
    userID: init.userID,
    platform: init.platform,
    graceful: init.graceful ?? false,
    frames: [] as Buffer[],
    closes: [] as number[],
    send(frame: Buffer): boolean {
      if (init.closing === true) return false;
      if (init.accepts === false) {
        connection.close(4008, 'too slow');
        return false;
      }
      connection.frames.push(frame);
      return true;
    },
    close(code: number, _reason?: string): void {
      connection.closes.push(code);
      table.remove(connection);
    },
  };
  return connection;
}

export interface TestGateway {
  gw: Gateway;
  source: StaticRingSource;
  clock: FakeClock;
  registry: Registry;
  close(): Promise<void>;
}

/** A gateway `im-0` on 127.0.0.1 with a fake clock, serving `ring` (default: v1 of 2 members). */
export async function startTestGateway(
  overrides: Partial<GatewayOptions> & { ring?: Ring | null } = {},
): Promise<TestGateway> {
  const { ring, ...options } = overrides;
  const source = new StaticRingSource(ring === null ? undefined : (ring ?? newRing({ version: 1, members: 2 })));
  const clock = new FakeClock();
  const registry = new Registry();
  const gw = await startGateway({
    host: '127.0.0.1',
    ports: { ws: 0, grpc: 0 },
    self: SELF,
    ringSource: source,
    tokenSecret: SECRET,
    registry,
    now: clock.now,
    timers: clock.timers,
    random: () => 0,
    ...options,
  });
  return { gw, source, clock, registry, close: () => gw.close() };
}

export interface TestClient {
  ws: WebSocket;
  messages: unknown[];
  /** Resolves with the close code and reason the client saw. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once `count` messages arrived. */
  received(count: number): Promise<void>;
}

/** A ws client of `gw`; resolves once open (a 4401 close still opens first). `graceful` adds `migrate=graceful`. */
export async function connectClient(
  gw: Gateway,
  init: {
    userID: string;
    platform?: string;
    token?: string | null;
    bearer?: boolean;
    graceful?: boolean;
    clientID?: string;
  },
): Promise<TestClient> {
  const token = init.token === undefined ? await sign(init.userID) : init.token;
  const query = new URLSearchParams({ userID: init.userID, platform: init.platform ?? 'web' });
  if (init.graceful) query.set('migrate', 'graceful');
  if (init.clientID !== undefined) query.set('clientID', init.clientID);
  if (token !== null && !init.bearer) query.set('token', token);
  const headers: Record<string, string> = token !== null && init.bearer ? { authorization: `Bearer ${token}` } : {};
  const ws = new WebSocket(`ws://127.0.0.1:${gw.ports.ws}/ws?${query.toString()}`, { headers });
  const messages: unknown[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    messages.push(isBinary ? data : JSON.parse(data.toString('utf8')));
    for (const w of waiters.filter((w) => messages.length >= w.count)) w.resolve();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined);
  await once(ws, 'open');
  return {
    ws,
    messages,
    closed,
    received: (count) =>
      messages.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
  };
}

/** Sends an upgrade by hand and returns the HTTP status line's code (for refusals before the upgrade). */
export async function upgradeStatus(port: number, target: string): Promise<number> {
  const socket = tcpConnect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
  );
  const [data] = (await once(socket, 'data')) as [Buffer];
  socket.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1'))?.[1]);
}

/** A gRPC client of the gateway with promise-returning unary calls. */
export function grpcClient(gw: Gateway): {
  deliver(request: Partial<DeliverRequest>): Promise<DeliverResponse>;
  call<T>(method: 'Deliver' | 'Online' | 'Kick', request: unknown): Promise<T>;
  stream(): ClientDuplexStream<DeliverRequest, DeliverResponse>;
  close(): void;
} {
  const Client = gatewayService();
  const raw = new Client(`127.0.0.1:${gw.ports.grpc}`, credentials.createInsecure());
  type Unary = (request: unknown, callback: (error: Error | null, response: unknown) => void) => void;
  const call = <T>(method: string, request: unknown): Promise<T> =>
    new Promise((resolve, reject) =>
      (raw[method] as Unary).call(raw, request, (error, response) => (error ? reject(error) : resolve(response as T))),
    );
  return {
    deliver: (request) => call<DeliverResponse>('Deliver', request),
    call,
    stream: () => (raw.DeliverStream as () => ClientDuplexStream<DeliverRequest, DeliverResponse>).call(raw),
    close: () => raw.close(),
  };
}

/** The value of a metric sample, 0 when absent. */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((v) =>
    Object.entries(labels).every(([k, value]) => String(v.labels[k]) === value),
  );
  return sample?.value ?? 0;
}

/** The gateway's migrations so far, by outcome (`imring_gateway_migrations_total`). */
export async function migrationOutcomes(registry: Registry): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const outcome of ['graceful', 'deadline', 'closed'])
    counts[outcome] = await metricValue(registry, 'imring_gateway_migrations_total', { outcome });
  return counts;
}

/**
 * Resolves once `check()` holds, checking after every turn of the event loop: for what the gateway
 * does when a socket event reaches it (a client's close lands there about when the client sees it
 * closed, in either order). Fails after `timeoutMs` (a bound for a broken build) with `what`.
 */
export async function settled(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > giveUpAt) throw new Error(`not settled within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
