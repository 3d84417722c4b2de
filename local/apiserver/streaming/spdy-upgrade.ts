import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { ApiError, badRequest } from '../errors.js';

/**
 * The two upgrades a client-go streaming request may ask for, both ending in a SPDY/3.1 session:
 * a websocket whose subprotocol is `SPDY/3.1+<protocol>` and whose binary messages carry the
 * SPDY bytes (client-go's tunnelling dialer, tried first since kubectl 1.31), or a plain
 * `Upgrade: SPDY/3.1` with `X-Stream-Protocol-Version: <protocol>` (its fallback). A request
 * offering neither is refused with a Status, which makes kubectl try the other or report it.
 */

const SPDY = 'SPDY/3.1';

/** Largest websocket message read, in bytes: a SPDY frame (24-bit length) and its header. */
const MAX_TUNNEL_MESSAGE_BYTES = 0xff_ff_ff + 8;

/** What an upgrade request (`Connection: Upgrade`) arrived with: its socket and the bytes read past its head. */
export interface Upgraded {
  readonly socket: Duplex;
  readonly head: Buffer;
}

/** An upgrade request and what it {@link Upgraded arrived with}. */
export interface UpgradeRequest extends Upgraded {
  readonly req: IncomingMessage;
}

/**
 * Switches `request` to a byte stream for a SPDY session speaking `protocol`.
 * @throws ApiError 400 when the request offers no upgrade to it.
 */
export function upgradeToSpdy(request: UpgradeRequest, protocol: string): Promise<Duplex> {
  const { req } = request;
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  if (upgrade === 'websocket') {
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
    const tunnel = `${SPDY}+${protocol}`;
    if (!offered.includes(tunnel))
      throw badRequest(`unable to upgrade: the websocket subprotocol ${tunnel} was not offered`);
    return websocketTunnel(request, tunnel);
  }
  if (upgrade === SPDY.toLowerCase()) {
    const versions = String(req.headers['x-stream-protocol-version'] ?? '')
      .split(',')
      .map((p) => p.trim());
    if (!versions.includes(protocol))
      throw badRequest(`unable to upgrade: the stream protocol ${protocol} was not offered`);
    request.socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${SPDY}\r\n` +
        `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`,
    );
    if (request.head.length > 0) request.socket.unshift(request.head);
    return Promise.resolve(request.socket);
  }
  throw badRequest('Upgrade request required');
}

function websocketTunnel(request: UpgradeRequest, tunnel: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const server = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: MAX_TUNNEL_MESSAGE_BYTES,
    });
    // ws accepts only RFC 7230 tokens as subprotocols, and `SPDY/3.1+…` has a '/': it is checked
    // by the caller, hidden from ws, and named in the answer here.
    delete request.req.headers['sec-websocket-protocol'];
    server.once('headers', (headers) => headers.push(`Sec-WebSocket-Protocol: ${tunnel}`));
    // With this listener ws leaves a malformed handshake unanswered: the caller answers the Status.
    server.once('wsClientError', (error) => {
      server.close();
      reject(new ApiError(400, 'BadRequest', `unable to upgrade: ${error.message}`));
    });
    server.handleUpgrade(request.req, request.socket, request.head, (ws) => {
      server.close();
      resolve(createWebSocketStream(ws));
    });
  });
}
