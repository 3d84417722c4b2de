import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { StatusFeed } from './status-feed.js';
import type { DeliverySnapshot, Snapshot } from './snapshot.js';

/** Options of {@link StatusServer}. */
export interface StatusServerOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** The IMGateway to show. */
  readonly name: string;
  /** Address to bind. Default 127.0.0.1 (the page is read-only, but it shows the cluster's state). */
  readonly host?: string;
  /** Port to bind; 0 = any free one. Default 8090. */
  readonly port?: number;
  /** The demo's delivery figures, when there is a demo. */
  readonly delivery?: () => DeliverySnapshot | undefined;
  /** The page's files. Default the repository's `web/status/`. */
  readonly webRoot?: string;
  /** Retry delays after a watch or API error: first and longest, ms. Default 500 and 10,000. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** A keep-alive comment line on each event stream this often, ms (proxies close idle streams). Default 15,000. */
  readonly keepAliveMs?: number;
  /** Event streams open at once; more are answered 503. Default 64. */
  readonly maxStreams?: number;
}

/** The page's files, next to the package's `dist/` (this module is `dist/cli/web/status-server.js`). */
export const WEB_ROOT = fileURLToPath(new URL('../../../web/status/', import.meta.url));

const DEFAULTS = { host: '127.0.0.1', port: 8090, keepAliveMs: 15_000, maxStreams: 64 };

type ResolvedOptions = StatusServerOptions & typeof DEFAULTS;
/** Longest user ID the owner lookup takes, in UTF-16 code units. */
const MAX_USER_ID_LENGTH = 1024;

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The read-only web view of one IMGateway: its page (`web/status/`), a server-sent event
 * stream of {@link Snapshot}s (`GET /events`) and the owner lookup (`GET /api/owner?user=ID`).
 * Every other method is refused: the page exposes no write.
 */
export class StatusServer {
  readonly #options: ResolvedOptions;
  readonly #feed: StatusFeed;
  readonly #server: Server;
  readonly #streams = new Set<ServerResponse>();
  readonly #webRoot: string;
  #keepAlive: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: StatusServerOptions) {
    this.#options = resolveOptions(options);
    this.#webRoot = resolve(options.webRoot ?? WEB_ROOT);
    this.#feed = new StatusFeed({
      kc: options.kc,
      namespace: options.namespace,
      name: options.name,
      delivery: options.delivery,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
    });
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  /** Starts watching and listening; resolves with the page's URL. */
  async start(): Promise<{ url: string }> {
    const { host, port } = this.#options;
    await new Promise<void>((resolveListen, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolveListen();
      });
    });
    this.#feed.start();
    this.#feed.onChange((snapshot) => this.#broadcast(snapshot));
    const keepAlive = (): void => this.#streams.forEach((s) => s.write(': keep-alive\n\n'));
    this.#keepAlive = setInterval(keepAlive, this.#options.keepAliveMs);
    const address = this.#server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/` };
  }

  /** Ends the event streams, stops listening and watching. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#keepAlive);
      for (const stream of this.#streams) stream.end();
      this.#streams.clear();
      await Promise.all([
        new Promise<void>((done) => {
          this.#server.close(() => done());
          this.#server.closeAllConnections();
        }),
        this.#feed.close(),
      ]);
    })();
    return this.#closing;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for (const [header, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(header, value);
    if (request.method !== 'GET') {
      response.setHeader('Allow', 'GET');
      return sendJson(response, 405, { error: `method ${request.method} not allowed: the web view is read-only` });
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    try {
      if (url.pathname === '/events') return this.#stream(request, response);
      if (url.pathname === '/api/owner') return this.#owner(url, response);
      return await this.#file(url.pathname, response);
    } catch (error) {
      sendJson(response, 500, { error: (error as Error).message });
    }
  }

  #stream(request: IncomingMessage, response: ServerResponse): void {
    if (this.#streams.size >= this.#options.maxStreams)
      return sendJson(response, 503, { error: `already ${this.#options.maxStreams} event streams open` });
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    this.#streams.add(response);
    request.on('close', () => this.#streams.delete(response));
    response.write(snapshotEvent(this.#feed.snapshot()));
  }

  #broadcast(snapshot: Snapshot): void {
    const event = snapshotEvent(snapshot);
    // A stream still behind on the last snapshot skips this one: the next is complete in itself.
    for (const stream of this.#streams) if (stream.writableNeedDrain === false) stream.write(event);
  }

  #owner(url: URL, response: ServerResponse): void {
    const user = url.searchParams.get('user');
    if (!user || user.length > MAX_USER_ID_LENGTH)
      return sendJson(response, 400, { error: `user must be 1 to ${MAX_USER_ID_LENGTH} characters` });
    const ring = this.#feed.ring();
    if (!ring) return sendJson(response, 503, { error: 'no valid ring yet' });
    const place = (member: { name: string; host: string; ports: { ws: number } } | undefined) =>
      member ? { member: member.name, host: `${member.host}:${member.ports.ws}` } : null;
    sendJson(response, 200, {
      userID: user,
      version: ring.version,
      state: ring.state,
      current: place(ring.owner(user)),
      previous: ring.previous ? place(ring.previous.owner(user)) : null,
    });
  }

  async #file(pathname: string, response: ServerResponse): Promise<void> {
    const relative = pathname === '/' ? 'index.html' : safeDecode(pathname.slice(1));
    const file = relative === undefined ? undefined : resolve(this.#webRoot, relative);
    // Refuses `..`, encoded or not, and absolute paths: only files under the web root are served.
    if (!file?.startsWith(this.#webRoot + sep) || relative!.includes('\0'))
      return sendJson(response, 404, { error: 'not found' });
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return sendJson(response, 404, { error: 'not found' });
    }
    response.writeHead(200, {
      'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
    });
    response.end(body);
  }
}

function resolveOptions(options: StatusServerOptions): ResolvedOptions {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = { ...DEFAULTS, ...defined } as ResolvedOptions;
  const { port, keepAliveMs, maxStreams } = resolved;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new RangeError(`port must be an integer within 0..65535, got ${port}`);
  if (!Number.isInteger(keepAliveMs) || keepAliveMs < 1)
    throw new RangeError(`keepAliveMs must be a positive integer, got ${keepAliveMs}`);
  if (!Number.isInteger(maxStreams) || maxStreams < 1)
    throw new RangeError(`maxStreams must be a positive integer, got ${maxStreams}`);
  return resolved;
}

function snapshotEvent(snapshot: Snapshot): string {
  return `event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body));
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
