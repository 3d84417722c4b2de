import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';

export interface OpsServerOptions {
  /** Address to bind, e.g. `0.0.0.0` (tests: `127.0.0.1`). */
  readonly host: string;
  /** Port to bind; 0 picks a free one (see the returned `port`). */
  readonly port: number;
  /** Whether `/readyz` answers 200 (e.g. a ring is loaded and the process is not draining). */
  readonly ready: () => boolean;
  /** What `/metrics` serves. */
  readonly registry: Registry;
  /** Default silent. */
  readonly logger?: Logger;
  /**
   * Tried first for every request; returns true when it handled (or will handle) it. Bodies,
   * methods and errors of these routes are the caller's business.
   */
  readonly routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** A started ops server. */
export interface OpsServer {
  /** The bound port. */
  readonly port: number;
  /** The HTTP server, for callers that attach more (the proxy's `upgrade` handler). */
  readonly server: Server;
  /**
   * Stops listening and ends open connections. Idempotent. With `drainMs`, it first goes on
   * serving that long, each answer closing its connection (requests in flight included), so
   * keep-alive clients leave one request at a time; then whatever is left is ended.
   */
  close(options?: { readonly drainMs?: number }): Promise<void>;
}

/** Validates every option at once. @throws {TypeError|RangeError} naming the option. */
export function resolveOpsServerOptions(
  options: OpsServerOptions,
): Required<Omit<OpsServerOptions, 'routes'>> & Pick<OpsServerOptions, 'routes'> {
  if (typeof options.host !== 'string' || options.host === '') throw new TypeError('host must be a non-empty string');
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535)
    throw new RangeError(`port must be an integer from 0 to 65535, got ${options.port}`);
  if (typeof options.ready !== 'function') throw new TypeError('ready must be a function');
  if (typeof options.registry?.metrics !== 'function') throw new TypeError('registry must be a prom-client Registry');
  if (options.routes !== undefined && typeof options.routes !== 'function')
    throw new TypeError('routes must be a function');
  return { logger: pino({ level: 'silent' }), ...options };
}

/**
 * The HTTP server every imring process has, operator and runtimes alike (DESIGN.md sections 6
 * and 7): `GET /healthz` 200 `ok`, `GET /readyz` 200 when `ready()` else 503, `GET /metrics` the
 * registry in Prometheus text format, anything else 404 unless `routes` handled it.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const resolved = resolveOpsServerOptions(options);
  const log = resolved.logger;
  /** Answers not yet begun: closing makes each end its connection, so a keep-alive client opens its next elsewhere. */
  const unanswered = new Set<ServerResponse>();
  let draining = false;
  const server = createServer((req, res) => {
    if (draining) res.setHeader('connection', 'close');
    unanswered.add(res);
    res.once('close', () => unanswered.delete(res));
    try {
      if (resolved.routes?.(req, res)) return;
      handleOps(req, res, resolved);
    } catch (error) {
      log.error({ err: error, url: req.url }, 'ops request failed');
      if (!res.headersSent) send(res, 500, 'internal error\n');
      else res.destroy();
    }
  });
  server.on('clientError', (error, socket) => {
    log.debug({ err: error }, 'bad HTTP request');
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, resolved.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: (options = {}) => {
      closing ??= (async () => {
        const drainMs = options.drainMs ?? 0;
        if (drainMs > 0) {
          // Still listening (the Service no longer sends new connections here): every answer from now on closes its
          // connection, so keep-alive clients move on one request at a time instead of racing a closed idle socket.
          draining = true;
          for (const res of unanswered) if (!res.headersSent) res.setHeader('connection', 'close');
          await new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
        }
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

function handleOps(
  req: IncomingMessage,
  res: ServerResponse,
  options: Pick<OpsServerOptions, 'ready' | 'registry'>,
): void {
  const path = new URL(req.url ?? '/', 'http://ops').pathname;
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return send(res, 404, 'not found\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'method not allowed\n');
  }
  if (path === '/healthz') return send(res, 200, 'ok');
  if (path === '/readyz') return options.ready() ? send(res, 200, 'ok') : send(res, 503, 'not ready\n');
  options.registry.metrics().then(
    (text) => send(res, 200, text, options.registry.contentType),
    (error: unknown) => send(res, 500, `metrics failed: ${String(error)}\n`),
  );
}

function send(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
