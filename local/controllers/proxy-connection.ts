import { connect, type Socket } from 'node:net';

/** What one forwarded connection needs. */
export interface ForwardOptions {
  /** The ready endpoints (`ip:port`) when the connection arrives. */
  readonly backends: readonly string[];
  /** Picks an endpoint, in [0, 1). */
  readonly random: () => number;
  /** Every socket open for forwarding (both sides), so that closing the proxy can end them. */
  readonly sockets: Set<Socket>;
}

/**
 * Forwards one accepted connection to an endpoint picked at random, as kube-proxy's iptables
 * mode does, and pipes both ways with backpressure (`pipe`) and half-close (each side's end is
 * passed on; both sockets allow half-open). An error on either side destroys both. With no
 * endpoint the client is reset at once (a cluster's REJECT rule refuses it). An endpoint that
 * refuses the connection (its process died before its slice changed) is skipped for another
 * ready one: a cluster would not retry, the client would see the refusal.
 */
export function forward(client: Socket, options: ForwardOptions): void {
  const candidates = [...options.backends];
  const { sockets } = options;
  sockets.add(client);
  client.once('close', () => sockets.delete(client));
  // Until an upstream is connected, a client error ends the attempt; the piping takes over after.
  const onClientError = (): void => void client.destroy();
  client.once('error', onClientError);
  const next = (): void => {
    if (client.destroyed) return;
    if (candidates.length === 0) {
      client.resetAndDestroy();
      return;
    }
    const [backend] = candidates.splice(Math.floor(options.random() * candidates.length), 1);
    const upstream = connectTo(backend!);
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    const onConnectError = (error: NodeJS.ErrnoException): void => {
      upstream.destroy();
      if (error.code === 'ECONNREFUSED') next();
      else client.resetAndDestroy();
    };
    upstream.once('error', onConnectError);
    const onClientClose = (): void => void upstream.destroy();
    client.once('close', onClientClose);
    upstream.once('connect', () => {
      upstream.off('error', onConnectError);
      client.off('error', onClientError);
      client.off('close', onClientClose);
      pipeBoth(client, upstream);
    });
  };
  next();
}

function connectTo(backend: string): Socket {
  const colon = backend.lastIndexOf(':');
  return connect({ host: backend.slice(0, colon), port: Number(backend.slice(colon + 1)), allowHalfOpen: true });
}

function pipeBoth(client: Socket, upstream: Socket): void {
  client.pipe(upstream);
  upstream.pipe(client);
  for (const [socket, other] of [
    [client, upstream],
    [upstream, client],
  ] as const) {
    socket.on('error', () => {
      socket.destroy();
      other.destroy();
    });
    // A clean close follows both ends, which `pipe` passed on; the other side closes by itself.
    socket.once('close', (hadError) => {
      if (hadError) other.destroy();
    });
  }
}
