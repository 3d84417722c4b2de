import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type ServerOptions } from 'ws';
import { LISTEN_BACKLOG } from '../accept-gate.js';
import { CloseCodes } from '../../ring/index.js';
import type { TokenFailure } from '../client-token.js';
import { parseUpgradeRequest } from './auth.js';
import type { ClientConnection, ConnectionTable } from './connections.js';

/** What the ws server needs from the gateway. */
export interface WsServerOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  maxSendBufferBytes: number;
  pingIntervalMs: number;
  closeTimeoutMs: number;
  connections: ConnectionTable;
  logger: Logger;
  /** Whether one more socket may be upgraded (`open` counts sockets open or upgrading). */
  admits(open: number): boolean;
  authenticate(token: string | undefined, userID: string): Promise<TokenFailure | undefined>;
  /** Called with each authenticated connection before it joins the connection table; may close it. */
  onConnection(connection: ClientConnection): void;
  /** Each close the gateway initiates, by code; `1006` for terminated sockets. */
  onClose(code: number): void;
  onAuthFailure(reason: TokenFailure): void;
  /** Each socket that finished closing (any cause). */
  onSocketClosed(): void;
  /**
   * Each authenticated connection whose socket finished closing, after it left the connection table;
   * `byClient`: the client started the closing handshake (the gateway neither closed nor dropped it, and
   * a close frame came).
   */
  onConnectionClosed(connection: ClientConnection, init: { byClient: boolean }): void;
}

/** The client-facing websocket server. */
export interface WsServer {
  readonly port: number;
  /** Sockets open or upgrading (including those in a closing handshake). */
  readonly sockets: number;
  close(): Promise<void>;
}

const TEXT = Object.freeze({ binary: false });

/**
 * Pings go out in this many slices per `pingIntervalMs`, not all at once: pinging every
 * connection in one turn (and reading every pong back in the next) blocked the gateway, the
 * proxy and the clients for 50–80 ms every 30 s at 2,000 connections (bench/push p99).
 */
const PING_SLICES = 30;

/** Errors ws raises on bad client frames, by the close code ws sends for them (RFC 6455 §7.4.1). */
const ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCodes.tooBig,
  WS_ERR_INVALID_UTF8: 1007,
};

/** One authenticated client socket, as the connection table sees it. */
class WsConnection implements ClientConnection {
  readonly userID: string;
  readonly platform: string;
  readonly graceful: boolean;
  readonly clientID: string | undefined;
  /** Cleared at each ping, set by the pong: still false at the next ping means dead. */
  alive = true;
  /** Set when the gateway closes or terminates the socket (not when the client started closing). */
  closedHere = false;
  readonly #ws: WebSocket;
  readonly #options: WsServerOptions;

  constructor(init: {
    userID: string;
    platform: string;
    graceful: boolean;
    clientID: string | undefined;
    ws: WebSocket;
    options: WsServerOptions;
  }) {
    this.userID = init.userID;
    this.platform = init.platform;
    this.graceful = init.graceful;
    this.clientID = init.clientID;
    this.#ws = init.ws;
    this.#options = init.options;
  }

  send(frame: Buffer): boolean {
    const ws = this.#ws;
    if (ws.readyState !== WebSocket.OPEN) return false;
    // bufferedAmount includes the kernel-side socket buffer: a reader that stopped reading
    // fills it within one send window and is cut off instead of growing our memory.
    if (ws.bufferedAmount > this.#options.maxSendBufferBytes) {
      this.close(CloseCodes.tooSlow, 'too slow');
      return false;
    }
    ws.send(frame, TEXT);
    return true;
  }

  close(code: number, reason: string): void {
    this.#options.connections.remove(this);
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.closedHere = true;
    this.#ws.close(code, reason);
    this.#options.onClose(code);
  }
}

/** Starts the `GET /ws` server; refusals before the upgrade are plain HTTP (400, 404, 503). */
export async function startWsServer(options: WsServerOptions): Promise<WsServer> {
  const server = new ClientSocketServer(options);
  await server.listen();
  return server;
}

class ClientSocketServer implements WsServer {
  port = 0;
  readonly #options: WsServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  /** Raw sockets from the upgrade request until they close (what maxConnections bounds). */
  readonly #sockets = new Set<Duplex>();
  /** Upgraded sockets → their connection (undefined while being refused with 4401). */
  readonly #live = new Map<WebSocket, WsConnection | undefined>();
  readonly #ping: NodeJS.Timeout;
  /** Ping ticks per interval: PING_SLICES, fewer for intervals under 30 ms (timers fire at most every 1 ms). */
  readonly #slices: number;
  /** Where the ping sweep is in `#live`; a Map iterator survives entries added and deleted meanwhile. */
  #sweep: MapIterator<[WebSocket, WsConnection | undefined]> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: WsServerOptions) {
    this.#options = options;
    this.#http = createServer((_request, response) => {
      response.writeHead(426, { connection: 'close', upgrade: 'websocket' }).end();
    });
    // closeTimeout (ws >= 8.19) is missing from @types/ws.
    const serverOptions: ServerOptions & { closeTimeout: number } = {
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      closeTimeout: options.closeTimeoutMs,
      clientTracking: false,
    };
    this.#wss = new WebSocketServer(serverOptions);
    this.#http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.#closed) return void socket.destroy();
      this.#upgrade({ request, socket, head }).catch((error: unknown) => {
        // A bug, not a peer error: this socket goes, the gateway stays (an unhandled rejection would end the process).
        options.logger.error({ err: error }, 'handling an upgrade failed');
        socket.destroy();
      });
    });
    this.#slices = Math.max(1, Math.min(PING_SLICES, Math.floor(options.pingIntervalMs)));
    this.#ping = setInterval(() => this.#pingSlice(), options.pingIntervalMs / this.#slices);
    this.#ping.unref();
  }

  get sockets(): number {
    return this.#sockets.size;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#options.port, this.#options.host, LISTEN_BACKLOG, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    this.port = (this.#http.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      clearInterval(this.#ping);
      for (const [ws, connection] of this.#live) {
        if (connection) this.#options.connections.remove(connection);
        ws.terminate();
      }
      for (const socket of this.#sockets) socket.destroy();
      await closeServer(this.#http);
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    })();
    return this.#closing;
  }

  async #upgrade({ request, socket, head }: { request: IncomingMessage; socket: Duplex; head: Buffer }): Promise<void> {
    const options = this.#options;
    const parsed = parseUpgradeRequest(request.url, request.headers);
    if (!parsed.ok) return refuse(socket, parsed.status);
    if (!options.admits(this.#sockets.size)) return refuse(socket, 503);
    this.#sockets.add(socket);
    // Until ws takes the socket over, a peer reset must not become an uncaught error.
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.#sockets.delete(socket);
      options.onSocketClosed();
    });
    const failure = await options.authenticate(parsed.token, parsed.userID);
    if (this.#closed) return void socket.destroy();
    this.#wss.handleUpgrade(request, socket, head, (ws) => {
      this.#track(ws);
      if (failure !== undefined) {
        options.onAuthFailure(failure);
        options.logger.info({ userID: parsed.userID, reason: failure }, 'token refused');
        ws.close(CloseCodes.unauthorized, 'unauthorized');
        options.onClose(CloseCodes.unauthorized);
        return;
      }
      const { userID, platform, graceful, clientID } = parsed;
      const connection = new WsConnection({ userID, platform, graceful, clientID, ws, options });
      this.#live.set(ws, connection);
      ws.on('pong', () => (connection.alive = true));
      options.onConnection(connection);
    });
  }

  /** Keeps the books of an upgraded socket: leaves the connection table on close or protocol error. */
  #track(ws: WebSocket): void {
    const options = this.#options;
    this.#live.set(ws, undefined);
    ws.once('close', (code: number) => {
      const connection = this.#live.get(ws);
      this.#live.delete(ws);
      if (connection === undefined) return;
      options.connections.remove(connection);
      // 1006: the socket ended without a close frame (the client dropped, or we terminated it).
      options.onConnectionClosed(connection, { byClient: !connection.closedHere && code !== 1006 });
    });
    // Bad client frames (too big, bad UTF-8): ws closes the socket with the matching code.
    ws.on('error', (error: Error & { code?: string }) => {
      const code = ERROR_CLOSE_CODES[error.code ?? ''] ?? 1002;
      options.onClose(code);
      options.logger.debug({ err: error, code }, 'client protocol error');
      const connection = this.#live.get(ws);
      if (connection === undefined) return;
      connection.closedHere = true;
      options.connections.remove(connection);
    });
  }

  /** Pings the next `1 / #slices` of the connections, so each is pinged once per interval. */
  #pingSlice(): void {
    for (let budget = Math.ceil(this.#live.size / this.#slices); budget > 0; budget--) {
      this.#sweep ??= this.#live.entries();
      const next = this.#sweep.next();
      if (next.done === true) {
        this.#sweep = undefined;
        return;
      }
      const [ws, connection] = next.value;
      if (connection !== undefined) this.#pingOne(ws, connection);
    }
  }

  #pingOne(ws: WebSocket, connection: WsConnection): void {
    if (!connection.alive) {
      connection.closedHere = true;
      this.#options.connections.remove(connection);
      this.#options.onClose(1006);
      ws.terminate();
      return;
    }
    connection.alive = false;
    ws.ping();
  }
}

function refuse(socket: Duplex, status: number): void {
  const retry = status === 503 ? 'Retry-After: 1\r\n' : '';
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n${retry}\r\n`);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
