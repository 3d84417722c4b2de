import { once } from 'node:events';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { WebSocket } from 'ws';
import { Ring, type RingMember } from '../../ring/index.js';
import { startOpsServer, type OpsServer } from '../../kube/ops-server.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { startProxy, type Proxy, type ProxyOptions } from '../../runtime/proxy/index.js';
import { startFakeWsGateway, type FakeWsGateway } from './fake-ws-gateway.js';

/** A proxy in front of `count` fake gateways, all on 127.0.0.1, with a ring of them, and its ops server. */
export interface ProxyFixture {
  readonly proxy: Proxy;
  /** Serves the proxy's `/healthz`, `/readyz` and `/metrics`, as `imring proxy` does on its http port. */
  readonly ops: OpsServer;
  readonly gateways: FakeWsGateway[];
  readonly members: RingMember[];
  readonly ring: Ring;
  readonly source: StaticRingSource;
  /** ws://127.0.0.1:<port>/ws?<query> */
  url(query: Record<string, string>): string;
  close(): Promise<void>;
}

/** A member on 127.0.0.1 whose ws port is `wsPort` (the resolver returns IP literals as they are). */
export function localMember(name: string, wsPort: number): RingMember {
  return { name, host: '127.0.0.1', ports: { ws: wsPort, grpc: 1 } };
}

/** Starts `gateways` fake gateways (default 3) and a proxy routing by their ring. */
export async function startProxyFixture(
  init: { gateways?: number; ring?: 'none' | 'full'; options?: Partial<ProxyOptions> } = {},
): Promise<ProxyFixture> {
  const gateways = await Promise.all(Array.from({ length: init.gateways ?? 3 }, () => startFakeWsGateway()));
  const members = gateways.map((g, i) => localMember(`im-${i}`, g.port));
  const ring = new Ring({ members, version: 1 });
  const source = new StaticRingSource(init.ring === 'none' ? undefined : ring);
  const registry = init.options?.registry ?? new Registry();
  const proxy = await startProxy({ host: '127.0.0.1', port: 0, ringSource: source, ...init.options, registry });
  const ops = await startOpsServer({ host: '127.0.0.1', port: 0, ready: () => proxy.ready(), registry });
  return {
    proxy,
    ops,
    gateways,
    members,
    ring,
    source,
    url: (query) => `ws://127.0.0.1:${proxy.port}/ws?${new URLSearchParams(query).toString()}`,
    close: async () => {
      await proxy.close();
      await ops.close();
      await Promise.all(gateways.map((g) => g.close()));
    },
  };
}

/** The first user ID `u<n>` that `ring` places on `member`. */
export function userOwnedBy(ring: Ring, member: string, prefix = 'u'): string {
  for (let n = 0; n < 100_000; n++) {
    if (ring.owner(`${prefix}${n}`)?.name === member) return `${prefix}${n}`;
  }
  throw new Error(`no user of ${member} found`);
}

/** Opens a ws client and waits for it to be open. */
export async function openClient(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers });
  await once(ws, 'open');
  return ws;
}

/** The next message a ws client receives, as text (or a Buffer for binary frames). */
export async function nextFrame(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
  return { data, isBinary };
}

/** A refused upgrade: its status, headers and body. */
export interface Refusal {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** Sends a websocket upgrade request to `port` at `path` and returns the non-101 answer. */
export function refusedUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      reject(new Error(`${path} was upgraded`));
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain GET on the proxy or its ops server: status and body. */
export async function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

/** A port on 127.0.0.1 nothing listens on (bound, then released). */
export async function refusingPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts and never answers (a hung gateway). */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
