/**
 * The runtimes under abuse (issue 8, "Bad input"): a gateway, a proxy and a push on 127.0.0.1
 * with short limits, the abusive clients that try to break them, and well-behaved receivers
 * that must not notice. Shared by test/abuse*.test.ts and bench/abuse.ts.
 */
import { once } from 'node:events';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { SignJWT } from 'jose';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { Ring } from '../../ring/index.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../runtime/gateway/gateway.js';
import { startProxy, type Proxy, type ProxyOptions } from '../../runtime/proxy/index.js';
import { startPush, type Push, type PushOptions } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';

export const ABUSE_SECRET = 'abuse-test-secret';

/** The headers of a valid websocket upgrade (RFC 6455 section 4.1), without Host. */
export const UPGRADE_HEADERS =
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

/** Limits of the stack: small enough that every abuse is cut off within seconds. */
export interface StackLimits {
  readonly gateway?: Partial<
    Pick<GatewayOptions, 'maxPayloadBytes' | 'maxSendBufferBytes' | 'pingIntervalMs' | 'maxConnections'>
  >;
  readonly proxy?: Partial<Pick<ProxyOptions, 'maxConnections' | 'tokenSecret' | 'acceptLimit'>>;
  readonly push?: Partial<Omit<PushOptions, 'host' | 'ports' | 'ringSource'>>;
}

/** A gateway `im-0`, a proxy and a push, all in this process, serving a one-member ring. */
export interface AbuseStack {
  readonly gateway: Gateway;
  readonly proxy: Proxy;
  readonly push: Push;
  readonly registries: { readonly gateway: Registry; readonly proxy: Registry; readonly push: Registry };
  /** `ws://127.0.0.1:<proxy>/ws?<query>`, or the gateway's own `/ws` with `direct`. */
  url(query: Record<string, string>, init?: { direct?: boolean }): string;
  close(): Promise<void>;
}

/** Starts the stack; the gateway's ports go into the ring the proxy and push route by. */
export async function startAbuseStack(limits: StackLimits = {}): Promise<AbuseStack> {
  const source = new StaticRingSource();
  const registries = { gateway: new Registry(), proxy: new Registry(), push: new Registry() };
  const gateway = await startGateway({
    host: '127.0.0.1',
    ports: { ws: 0, grpc: 0 },
    self: 'im-0',
    ringSource: source,
    tokenSecret: ABUSE_SECRET,
    registry: registries.gateway,
    ...limits.gateway,
  });
  source.set(new Ring({ version: 1, members: [{ name: 'im-0', host: '127.0.0.1', ports: { ...gateway.ports } }] }));
  const proxy = await startProxy({
    host: '127.0.0.1',
    port: 0,
    ringSource: source,
    registry: registries.proxy,
    ...limits.proxy,
  });
  const push = await startPush({
    host: '127.0.0.1',
    ports: { grpc: 0, http: 0 },
    ringSource: source,
    registry: registries.push,
    ...limits.push,
  });
  return {
    gateway,
    proxy,
    push,
    registries,
    url: (query, init = {}) =>
      `ws://127.0.0.1:${init.direct === true ? gateway.ports.ws : proxy.port}/ws?${new URLSearchParams(query).toString()}`,
    close: async () => {
      await push.close();
      await proxy.close();
      await gateway.close();
    },
  };
}

/**
 * One runtime of the stack, alone in this process (bench/abuse.ts runs each in its own): the
 * gateway `im-0`, or a proxy or a push routing to it at `gateway`'s ports. Reports the port it
 * serves (`main`: the gateway's and the proxy's ws port, push's HTTP port; the gateway's gRPC).
 */
export async function startAbuseRuntime(
  role: 'gateway' | 'proxy' | 'push',
  limits: StackLimits,
  gateway?: { ws: number; grpc: number },
): Promise<{ ports: { main: number; grpc?: number }; close(): Promise<void> }> {
  const source = new StaticRingSource();
  if (role === 'gateway') {
    const started = await startGateway({
      host: '127.0.0.1',
      ports: { ws: 0, grpc: 0 },
      self: 'im-0',
      ringSource: source,
      tokenSecret: ABUSE_SECRET,
      ...limits.gateway,
    });
    source.set(new Ring({ version: 1, members: [{ name: 'im-0', host: '127.0.0.1', ports: { ...started.ports } }] }));
    return { ports: { main: started.ports.ws, grpc: started.ports.grpc }, close: () => started.close() };
  }
  if (gateway === undefined) throw new TypeError(`a ${role} needs the gateway's ports`);
  source.set(new Ring({ version: 1, members: [{ name: 'im-0', host: '127.0.0.1', ports: { ...gateway } }] }));
  if (role === 'proxy') {
    const proxy = await startProxy({ host: '127.0.0.1', port: 0, ringSource: source, ...limits.proxy });
    return { ports: { main: proxy.port }, close: () => proxy.close() };
  }
  const push = await startPush({ host: '127.0.0.1', ports: { grpc: 0, http: 0 }, ringSource: source, ...limits.push });
  return { ports: { main: push.ports.http }, close: () => push.close() };
}

/** An HS256 client token for `sub` (DESIGN.md section 6); negative `expiresInSeconds`: expired. */
export function clientToken(sub: string, init: { secret?: string; expiresInSeconds?: number } = {}): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + (init.expiresInSeconds ?? 600);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(init.secret ?? ABUSE_SECRET));
}

/** A connection query with a good token for `userID`. */
export async function goodQuery(userID: string, platform = 'web'): Promise<Record<string, string>> {
  return { userID, platform, token: await clientToken(userID) };
}

/**
 * Sends `bytes` on a new connection to 127.0.0.1:`port`; resolves with the HTTP status the
 * server answered, or 0 when it closed without an answer.
 */
export async function rawStatus(port: number, bytes: string | Buffer): Promise<number> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  socket.write(bytes);
  const first = await new Promise<Buffer | undefined>((resolve) => {
    socket.once('data', resolve);
    socket.once('close', () => resolve(undefined));
  });
  socket.destroy();
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(first?.toString('latin1') ?? '')?.[1] ?? 0);
}

/** What a flood of upgrades got: answers by HTTP status (0: no answer), and the sockets upgraded. */
export interface FloodResult {
  readonly statuses: Map<number, number>;
  readonly upgraded: Socket[];
}

/**
 * Opens one raw upgrade per target at once (no pacing, no waiting between them); upgraded sockets stay open, answering
 * pings.
 */
export async function flood(port: number, targets: readonly string[]): Promise<FloodResult> {
  const statuses = new Map<number, number>();
  const upgraded: Socket[] = [];
  await Promise.all(
    targets.map(async (target) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${UPGRADE_HEADERS}\r\n`);
      const first = await new Promise<Buffer | undefined>((resolve) => {
        socket.once('data', resolve);
        socket.once('close', () => resolve(undefined));
      });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(first?.toString('latin1') ?? '')?.[1] ?? 0);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 101) {
        const head = first!.indexOf('\r\n\r\n') + 4;
        if (head < first!.length) answerPings(socket, first!.subarray(head));
        socket.on('data', (chunk: Buffer) => answerPings(socket, chunk));
        upgraded.push(socket);
      } else socket.destroy();
    }),
  );
  return { statuses, upgraded };
}

/**
 * Answers each ping frame in `chunk` with a pong (RFC 6455 section 5.5.2; client frames are
 * masked, here with a zero key), so flood connections stay alive and keep their slots. Assumes
 * the gateway sends nothing but short pings to them, each chunk holding whole frames.
 */
function answerPings(socket: Socket, chunk: Buffer): void {
  for (let i = 0; i + 1 < chunk.length;) {
    const length = chunk[i + 1]! & 0x7f;
    if ((chunk[i]! & 0x0f) === 0x9 && length < 126)
      socket.write(
        Buffer.concat([Buffer.from([0x8a, 0x80 | length, 0, 0, 0, 0]), chunk.subarray(i + 2, i + 2 + length)]),
      );
    i += 2 + length;
  }
}

/** Destroys `sockets` and waits until each is closed. */
export async function destroyAll(sockets: readonly Socket[]): Promise<void> {
  await Promise.all(
    sockets.map((socket) =>
      socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve).destroy()),
    ),
  );
}

/** Resolves with the close code a ws client saw. */
export function closeCode(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed; the code is lost'));
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

/** A ws client that has opened (errors are ignored: its close code tells what happened). */
export async function openWs(url: string, options: { autoPong?: boolean } = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  ws.on('error', () => undefined);
  await once(ws, 'open');
  return ws;
}

/** Connects with `query` and sends one text frame of `bytes` bytes; resolves with the close code. */
export async function oversizeFrame(url: string, bytes: number): Promise<number> {
  const ws = await openWs(url);
  const code = closeCode(ws);
  ws.send('x'.repeat(bytes));
  return code;
}

/** Connects with a token that must be refused; resolves with the close code. */
export async function refusedToken(url: string): Promise<number> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => undefined);
  return closeCode(ws);
}

/** Connects and never answers a ping; `closed` resolves with the close code once the gateway gives up. */
export async function silentClient(url: string): Promise<{ closed: Promise<number> }> {
  const ws = await openWs(url, { autoPong: false });
  return { closed: closeCode(ws) };
}

/** A client that stopped reading its socket: frames pile up in the kernel, the proxy and the gateway. */
export interface StalledReader {
  readonly userID: string;
  /** Reads again and resolves with the close code (4008 once the gateway cut it off). */
  resume(): Promise<number>;
}

export async function stalledReader(url: string, userID: string): Promise<StalledReader> {
  const ws = await openWs(url);
  const code = closeCode(ws);
  ws.pause();
  return {
    userID,
    resume: () => {
      ws.resume();
      return code;
    },
  };
}

/** A well-behaved client: answers pings, reads everything, records each msgID it receives. */
export interface Receiver {
  readonly userID: string;
  readonly ws: WebSocket;
  readonly msgIDs: Set<string>;
  /** Close codes seen (a well-behaved receiver must see none while the stack runs). */
  readonly closes: number[];
  /** Resolves once every one of `msgIDs` arrived. */
  receivedAll(msgIDs: readonly string[]): Promise<void>;
}

export async function openReceiver(
  url: string,
  userID: string,
  onFrame?: (frame: { msgID: string; payload: string }) => void,
): Promise<Receiver> {
  const ws = await openWs(url);
  const msgIDs = new Set<string>();
  const closes: number[] = [];
  let waiters: { ids: readonly string[]; resolve: () => void }[] = [];
  ws.on('close', (code: number) => closes.push(code));
  ws.on('message', (data: Buffer) => {
    const frame = JSON.parse(data.toString('utf8')) as { msgID: string; payload: string };
    msgIDs.add(frame.msgID);
    onFrame?.(frame);
    waiters = waiters.filter((w) => (w.ids.every((id) => msgIDs.has(id)) ? (w.resolve(), false) : true));
  });
  return {
    userID,
    ws,
    msgIDs,
    closes,
    receivedAll: (ids) =>
      ids.every((id) => msgIDs.has(id)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ ids, resolve })),
  };
}

/** A push answer: results, or an error (or the raw text when it is not JSON). */
export interface PushAnswer {
  readonly results: { msgID: string; userID: string; status: string }[];
  readonly error: { code: string; message: string };
}

/** One JSON exchange with push's `POST /v1/push` (or another path/method). */
export function pushHttp(
  port: number,
  body: string | Buffer,
  init: { method?: string; path?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; json: PushAnswer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: init.method ?? 'POST',
        path: init.path ?? '/v1/push',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode!, headers: res.headers, json: json as PushAnswer });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Pushes `msgID` to `userIDs`; resolves with the per-user statuses (`realtime`, `offline`). */
export async function pushTo(
  port: number,
  message: { msgID: string; toUserIDs: readonly string[]; payload: string },
): Promise<string[]> {
  const { status, json } = await pushHttp(port, JSON.stringify({ messages: [message] }));
  if (status !== 200) throw new Error(`push answered ${status}: ${JSON.stringify(json)}`);
  return json.results.map((r) => r.status);
}
