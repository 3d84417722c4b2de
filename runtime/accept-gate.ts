import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { TokenBucket } from '../kube/token-bucket.js';

/** New connections a server takes: a token bucket. */
export interface AcceptLimit {
  /** Connections accepted per second, sustained. */
  readonly ratePerSecond: number;
  /** Connections accepted at once after a quiet spell (the bucket's size). */
  readonly burst: number;
}

/**
 * The listen backlog of the client-facing servers (gateway ws, proxy): connections waiting to
 * be accepted (capped by the kernel's somaxconn). Clients come back all at once after a
 * restart or a ring change; with Node's default of 511 the rest of such a burst is dropped at
 * SYN and retried by the kernel only after 1 s, 3 s, 7 s (5,000 at once took 6.5 s to connect
 * instead of 3 s in test/abuse.test.ts).
 */
export const LISTEN_BACKLOG = 4096;

/** Validates a limit; `name` prefixes the error. @throws {RangeError} */
export function checkAcceptLimit(limit: AcceptLimit, name: string): void {
  if (!(limit.ratePerSecond > 0) || !Number.isFinite(limit.ratePerSecond))
    throw new RangeError(`${name}.ratePerSecond must be a positive number, got ${limit.ratePerSecond}`);
  if (!Number.isInteger(limit.burst) || limit.burst < 1)
    throw new RangeError(`${name}.burst must be a positive integer, got ${limit.burst}`);
}

/**
 * Sheds connections beyond `limit` as they are accepted, before any byte of them is read or
 * parsed: each is closed at once, as a full accept queue would (the client sees its
 * connection reset or closed without a reply; the client SDK retries with back-off). A flood
 * of new connections then costs the server little more than the kernel's accept, and the
 * connections it already serves keep their event loop; accepted ones are served as usual.
 * Connections already open are never touched. Must be called before the server listens.
 *
 * Why not a 503: answering costs a write, a timer and a read per shed connection (waiting for
 * the client to read the answer before closing, or the close resets it); in bench/abuse.ts a
 * 5,000-connection flood cost the served clients 6.3× their p99 latency with answers and 2.9×
 * with plain closes.
 *
 * @param onShed called for each shed connection (a metric).
 */
export function limitAccepts(
  server: Server,
  limit: AcceptLimit,
  onShed: () => void,
  now: () => number = () => performance.now(),
): void {
  // http.Server parses a connection from its own 'connection' listener: run it only for admitted sockets.
  const parse = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const bucket = new TokenBucket(limit.ratePerSecond, { burst: limit.burst, now });
  server.on('connection', (socket: Socket) => {
    if (bucket.tryTake()) {
      for (const listener of parse) listener.call(server, socket);
      return;
    }
    onShed();
    shed(socket);
  });
}

function shed(socket: Socket): void {
  socket.on('error', () => undefined);
  socket.destroy();
}
