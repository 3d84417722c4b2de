import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One upgrade the fake accepted. */
export interface FakeConnection {
  readonly socket: WebSocket;
  /** The request target as the fake received it. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Names and values alternating, as received. */
  readonly rawHeaders: readonly string[];
  /** Resolves with the close code and reason the fake saw. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/**
 * A stand-in for a gateway's ws port: accepts upgrades at `/ws`, records each request, echoes
 * every frame back, and lets the test send frames and close with a chosen code.
 */
export interface FakeWsGateway {
  readonly host: string;
  readonly port: number;
  /** Every accepted connection, in order. */
  readonly connections: FakeConnection[];
  /** The next connection (already accepted ones that were not awaited yet first). */
  nextConnection(): Promise<FakeConnection>;
  /** Sends a `{"type":"message"}` frame on `connection`. */
  sendMessage(connection: FakeConnection, message: { msgID: string; payload: string }): void;
  /** Stops listening and terminates every connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts a fake gateway on `host` (default 127.0.0.1), port 0; `refuseStatus` answers every upgrade with that HTTP
 * status instead.
 */
export async function startFakeWsGateway(
  options: { host?: string; echo?: boolean; refuseStatus?: number } = {},
): Promise<FakeWsGateway> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((_request, response) => response.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const connections: FakeConnection[] = [];
  const waiting: Array<(connection: FakeConnection) => void> = [];
  let delivered = 0;
  server.on('upgrade', (request: IncomingMessage, socket, head) => {
    const refusal = request.url?.startsWith('/ws') ? options.refuseStatus : 404;
    if (refusal !== undefined) {
      socket.end(`HTTP/1.1 ${refusal} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const closed = once(ws, 'close').then(([code, reason]) => ({ code: code as number, reason: String(reason) }));
      if (options.echo !== false) ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      const connection = {
        socket: ws,
        url: request.url!,
        headers: request.headers,
        rawHeaders: request.rawHeaders,
        closed,
      };
      connections.push(connection);
      const waiter = waiting.shift();
      if (waiter) {
        delivered += 1;
        waiter(connection);
      }
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  let closing: Promise<void> | undefined;
  return {
    host,
    port: (server.address() as AddressInfo).port,
    connections,
    nextConnection: () => {
      if (delivered < connections.length) return Promise.resolve(connections[delivered++]!);
      return new Promise((resolve) => waiting.push(resolve));
    },
    sendMessage: (connection, message) => connection.socket.send(JSON.stringify({ type: 'message', ...message })),
    close: () => {
      closing ??= (async () => {
        for (const c of connections) c.socket.terminate();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all(connections.map((c) => c.closed));
      })();
      return closing;
    },
  };
}
