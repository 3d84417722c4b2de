import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { forwardedHead } from './http-text.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import { resolveProxyOptions, type ProxyOptions, type ResolvedProxyOptions } from './options.js';
import { limitAccepts, LISTEN_BACKLOG } from '../accept-gate.js';
import { CloseCodes, ConnectParams, MIGRATE_GRACEFUL, WS_PATH } from '../../ring/index.js';
import { closeFrame, textFrame } from './frame-boundaries.js';
import { decideRoute, Rejections } from './routing.js';
import { checkToken } from './token.js';
import { rejectSocket, Tunnel } from './tunnel.js';

export { DEFAULTS, type ProxyOptions } from './options.js';

/** A running proxy. */
export interface Proxy {
  /** The bound port. */
  readonly port: number;
  /** Whether it routes (the ops server's `/readyz`): a ring with members, not fenced, and the proxy not closing. */
  ready(): boolean;
  /** Upgrades being routed, dialled or piped now. */
  connections(): number;
  /** Resolves once no upgrade is being routed, dialled or piped (both sockets of each closed). */
  idle(): Promise<void>;
  /**
   * Hands every client over before a planned stop, so that none notices it: stops accepting;
   * each piped client that opted in to graceful migration gets a `migrate` frame (reason
   * `shutdown`) between two of its gateway's frames, and moves make-before-break (its new
   * connection, through the Service, reaches another replica and the same gateway, which
   * replaces the old one); each other client gets a close frame 4002 and reconnects at once.
   * Paced at `handoverRatePerSecond`; resolves once every connection closed, or at
   * `handoverDeadlineMs` after the last was handed over (`close()` then ends the rest). Idempotent.
   */
  handOver(): Promise<void>;
  /** Stops accepting, destroys every connection, closes the resolver it created. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the proxy (DESIGN.md section 6): each `/ws` upgrade is routed to the gateway that
 * owns its `userID` in the current ring and piped there byte for byte. No ring: 503 with
 * `Retry-After`; gateway unreachable or silent for `connectTimeoutMs`: 502. Its port serves
 * client traffic only: probes and metrics are the ops server's (`ready()`, `registry`).
 */
export async function startProxy(options: ProxyOptions): Promise<Proxy> {
  const resolved = resolveProxyOptions(options);
  const proxy = new ProxyServer(resolved);
  try {
    await proxy.listen();
  } catch (error) {
    await proxy.close();
    throw new Error(`while binding the proxy to ${resolved.host}:${resolved.port}`, { cause: error });
  }
  return proxy;
}

class ProxyServer implements Proxy {
  readonly #options: ResolvedProxyOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #tunnels = new Set<Tunnel>();
  /** The tunnels of clients that opted in to graceful migration. */
  readonly #graceful = new WeakSet<Tunnel>();
  #handingOver: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #metrics: ProxyMetrics;
  /** Bytes of live tunnels already added to the counters, per tunnel. */
  readonly #counted = new Map<Tunnel, { written: number; read: number }>();
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedProxyOptions) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'proxy' });
    this.#metrics = createProxyMetrics(options.registry, {
      connections: () => this.#tunnels.size,
      flushBytes: () => this.#flushBytes(),
    });
    const onRequest = (request: IncomingMessage, response: ServerResponse): void => this.#onRequest(request, response);
    this.#server = createServer({ maxHeaderSize: options.maxHeaderBytes }, onRequest);
    this.#server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(request, socket, head),
    );
    if (options.acceptLimit) limitAccepts(this.#server, options.acceptLimit, () => this.#metrics.route('shed', ''));
    this.#server.on('clientError', (error: Error & { code?: string }, socket: Duplex) => {
      // Node answers 431 itself for heads over maxHeaderSize when we do not; keep its answers.
      this.#log.debug({ err: error }, 'bad client request');
      if (!socket.destroyed)
        socket.end(
          `HTTP/1.1 ${error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nConnection: close\r\n\r\n`,
        );
    });
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, LISTEN_BACKLOG, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  ready(): boolean {
    const routing = this.#options.ringSource.routingRing();
    return (
      this.#closing === undefined &&
      this.#handingOver === undefined &&
      'ring' in routing &&
      routing.ring.members.length > 0
    );
  }

  connections(): number {
    return this.#tunnels.size;
  }

  idle(): Promise<void> {
    if (this.#tunnels.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  handOver(): Promise<void> {
    this.#handingOver ??= this.#handOver();
    return this.#handingOver;
  }

  async #handOver(): Promise<void> {
    this.#server.close();
    const { handoverRatePerSecond: rate, handoverDeadlineMs: deadlineMs } = this.#options;
    const migrate = textFrame(JSON.stringify({ type: 'migrate', reason: 'shutdown', deadlineMs }));
    const close = closeFrame(CloseCodes.shuttingDown, 'proxy shutting down');
    const tunnels = [...this.#tunnels];
    const counts = { graceful: 0, closed: 0 };
    for (const [i, tunnel] of tunnels.entries()) {
      const graceful = this.#graceful.has(tunnel);
      if (graceful ? tunnel.insert(migrate) : tunnel.finish(close)) counts[graceful ? 'graceful' : 'closed']++;
      else tunnel.destroy();
      // A tenth of a second's worth at a time: the other replicas take the moving clients at an even pace.
      if ((i + 1) % Math.ceil(rate / 10) === 0) await sleep(100);
    }
    this.#log.info({ ...counts }, 'clients handed over');
    const allClosed = Promise.all(tunnels.map((t) => t.closed));
    if ((await Promise.race([allClosed.then(() => true), sleep(deadlineMs).then(() => false)])) === true) return;
    // Past the deadline: whoever has not moved is closed as the others were, without losing a frame.
    for (const tunnel of tunnels) tunnel.finish(close);
    await allClosed;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    const tunnels = [...this.#tunnels];
    for (const tunnel of tunnels) tunnel.destroy();
    await Promise.all(tunnels.map((t) => t.closed));
    await stopped;
    if (this.#options.ownsResolver) this.#options.resolver.close();
  }

  #onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.#log.debug({ err: error }, 'client socket error'));
    if (this.#closing !== undefined || this.#handingOver !== undefined) {
      socket.destroy();
      return;
    }
    if (this.#tunnels.size >= this.#options.maxConnections) {
      this.#metrics.route('overloaded', '');
      rejectSocket(socket, Rejections.overloaded, this.#options.rejectLingerMs);
      return;
    }
    const tunnel = new Tunnel(socket, this.#options);
    this.#tunnels.add(tunnel);
    if (optedIn(request)) this.#graceful.add(tunnel);
    void tunnel.closed.then(() => {
      this.#countBytes(tunnel);
      this.#counted.delete(tunnel);
      this.#tunnels.delete(tunnel);
      if (this.#tunnels.size > 0) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    });
    this.#route(tunnel, request, head).catch((error: unknown) => {
      // A bug, not a peer error: this connection goes, the proxy stays.
      this.#log.error({ err: error }, 'routing an upgrade failed');
      tunnel.destroy();
    });
  }

  /** The upgrade pipeline: decide (pure), check the token, dial, pipe; one metric per upgrade. */
  async #route(tunnel: Tunnel, request: IncomingMessage, head: Buffer): Promise<void> {
    const decision = decideRoute(request, this.#options.ringSource.routingRing());
    if (!decision.ok) {
      this.#metrics.route(decision.rejection.result, '');
      tunnel.reject(decision.rejection);
      return;
    }
    const owner = decision.member.name;
    if (this.#options.tokenKey !== undefined) {
      const refusal = await checkToken(decision.token, decision.userID, this.#options.tokenKey);
      if (refusal !== undefined) {
        this.#metrics.route(refusal.result, owner);
        tunnel.reject(refusal);
        return;
      }
    }
    if (tunnel.clientGone) {
      this.#metrics.route('aborted', owner);
      return;
    }
    const { host, ports } = decision.member;
    const requestHead = forwardedHead({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      httpVersion: request.httpVersion,
      rawHeaders: request.rawHeaders,
      remoteAddress: request.socket.remoteAddress,
    });
    const outcome = await tunnel.dial({
      address: () => this.#options.resolver.resolve(host),
      port: ports.ws,
      head:
        head.length === 0
          ? Buffer.from(requestHead, 'latin1')
          : Buffer.concat([Buffer.from(requestHead, 'latin1'), head]),
    });
    if (outcome.kind === 'piped') {
      this.#metrics.route('ok', owner);
    } else if (outcome.kind === 'aborted') {
      this.#metrics.route('aborted', owner);
    } else {
      this.#metrics.route('unreachable', owner);
      this.#log.warn({ owner, host, port: ports.ws, err: outcome.error }, 'gateway unreachable');
      tunnel.reject(Rejections.unreachable);
    }
  }

  #onRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response, 405, 'method not allowed');
    if (path !== WS_PATH) return plain(response, 404, 'not found');
    // RFC 9110 section 15.5.22: /ws speaks only websocket; say so, as the gateway does.
    const head = { Upgrade: 'websocket', Connection: 'close', 'Content-Type': 'text/plain; charset=utf-8' };
    response.writeHead(426, head).end('upgrade to websocket\n');
  }

  #flushBytes(): void {
    for (const tunnel of this.#tunnels) this.#countBytes(tunnel);
  }

  /** Adds what `tunnel` forwarded since it was last counted. */
  #countBytes(tunnel: Tunnel): void {
    const now = tunnel.upstreamBytes;
    const before = this.#counted.get(tunnel) ?? { written: 0, read: 0 };
    this.#metrics.bytes('upstream', now.written - before.written);
    this.#metrics.bytes('downstream', now.read - before.read);
    this.#counted.set(tunnel, now);
  }
}

function plain(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${body}\n`);
}

/** Whether the upgrade asks for graceful migration (`migrate=graceful`). */
function optedIn(request: IncomingMessage): boolean {
  // Any target reaches here, `//` included (routing refuses what it cannot parse).
  const url = URL.parse(request.url ?? '/', 'http://proxy');
  return url?.searchParams.get(ConnectParams.migrate) === MIGRATE_GRACEFUL;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
