import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { RstStatus } from './spdy-frames.js';
import { SpdySession, type SpdyStream } from './spdy-session.js';

/**
 * The `portforward.k8s.io` protocol (version 1) over a SPDY session, as a kubelet serves it:
 * per forwarded connection the client opens an `error` and a `data` stream, both with headers
 * `streamtype`, `port` and `requestid`. Once both are open, the server connects to the pod's
 * address on that port and copies bytes both ways on the data stream; a failed connection is
 * reported as text on the error stream. Each side's end of input is passed on as a half-close.
 */

/** The pod connections are forwarded to. */
export interface PortForwardTarget {
  /** The pod's address (`status.podIP`). */
  readonly address: string;
  /** `namespace/name`, for error messages. */
  readonly pod: string;
  readonly uid: string;
}

/** The subprotocol name kubectl offers (`X-Stream-Protocol-Version`). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/** The two streams of one forwarded connection, as they arrive. */
interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
}

/** Serves port forwarding to `target` on `transport` until the client or {@link SpdySession.close} ends it. */
export function forwardPorts(transport: Duplex, target: PortForwardTarget): SpdySession {
  const pairs = new Map<string, Pair>();
  const onStream = (stream: SpdyStream): void => {
    const type = stream.header('streamtype');
    const requestId = stream.header('requestid');
    if ((type !== 'data' && type !== 'error') || requestId === undefined) {
      stream.reset(RstStatus.ProtocolError);
      return;
    }
    const pair = pairs.get(requestId) ?? {};
    if (pair[type]) {
      stream.reset(RstStatus.ProtocolError);
      return;
    }
    pair[type] = stream;
    // Nothing is read from the error stream but the client's FIN; reading it lets the stream end.
    if (type === 'error') stream.resume();
    stream.once('close', () => {
      if (pairs.get(requestId) === pair) pairs.delete(requestId);
    });
    if (pair.data && pair.error) {
      pairs.delete(requestId);
      forwardConnection(pair.data, pair.error, target);
    } else pairs.set(requestId, pair);
  };
  return new SpdySession(transport, { onStream });
}

function forwardConnection(data: SpdyStream, error: SpdyStream, target: PortForwardTarget): void {
  const text = data.header('port') ?? '';
  const port = Number(text);
  const fail = (message: string): void => {
    error.end(`error forwarding port ${text} to pod ${target.pod}, uid ${target.uid}: ${message}`);
    data.end();
    // Whatever the client still sends on the data stream has nowhere to go.
    data.resume();
  };
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) return fail(`invalid port ${JSON.stringify(text)}`);
  const socket = connect({ host: target.address, port });
  let connected = false;
  socket.once('connect', () => {
    connected = true;
    data.pipe(socket);
    socket.pipe(data);
  });
  socket.on('error', (cause) => {
    if (!connected) fail(`failed to connect to ${target.address}:${port}: ${cause.message}`);
  });
  // The pod's side is done (or gone): so is the connection, and there is no error to report.
  socket.once('close', () => {
    if (connected) {
      if (!data.writableEnded) data.end();
      if (!error.writableEnded) error.end();
    }
  });
  // A reset stream, or one closed before the client finished sending, leaves nothing to relay.
  data.once('close', () => {
    if (!data.readableEnded) socket.destroy();
    if (!error.writableEnded) error.end();
  });
  error.once('close', () => {
    if (!data.destroyed && !error.writableFinished) data.reset();
  });
}
