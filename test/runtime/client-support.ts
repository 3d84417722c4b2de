import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ImringClient, type ClientCloseEvent, type ClientMoveEvent, type ClientOptions } from '../../client/index.js';
import type { MigrateFrame } from '../../ring/index.js';
import type { FakeConnection, FakeWsGateway } from './fake-ws-gateway.js';

/** resetAfterMs in these tests: tells the backoff-reset timer from reconnect timers. */
export const STABLE_MS = 60_000;
/** closeTimeoutMs in these tests: tells the close-handshake timers from reconnect timers. */
export const CLOSE_MS = 59_000;

export interface FakeTimer {
  readonly ms: number;
  /** When it is due, on the timers' clock. */
  readonly due: number;
  readonly fn: () => void;
  cleared: boolean;
  fired: boolean;
}

/**
 * Timers that run only when the test fires them; `next()` waits for one to be scheduled. `now` is their clock: firing a
 * timer moves it to the timer's due time.
 */
export class FakeTimers extends EventEmitter {
  readonly all: FakeTimer[] = [];
  #now = 0;
  readonly now = (): number => this.#now;
  readonly setTimeout = (fn: () => void, ms: number): FakeTimer => {
    const timer = { ms, fn, cleared: false, fired: false, due: this.#now + ms };
    this.all.push(timer);
    this.emit('scheduled');
    return timer;
  };
  readonly clearTimeout = (handle: unknown): void => {
    (handle as FakeTimer).cleared = true;
  };

  /** Pending reconnect and retry timers (not the backoff-reset or close-handshake ones). */
  pending(): FakeTimer[] {
    return this.all.filter((t) => !t.cleared && !t.fired && t.ms !== STABLE_MS && t.ms !== CLOSE_MS);
  }

  /** The next pending reconnect or retry timer, once scheduled. */
  async next(): Promise<FakeTimer> {
    for (;;) {
      const timer = this.pending()[0];
      if (timer) return timer;
      await once(this, 'scheduled');
    }
  }

  /** Runs `timer`, the clock moved to its due time. */
  fire(timer: FakeTimer): void {
    this.#now = Math.max(this.#now, timer.due);
    timer.fired = true;
    timer.fn();
  }

  /** Fires the pending backoff-reset timer (the connection "stayed open"). */
  fireStable(): void {
    const timer = this.all.find((t) => !t.cleared && !t.fired && t.ms === STABLE_MS);
    assert.ok(timer, 'a backoff-reset timer is pending');
    this.fire(timer);
  }
}

/** A client of user u1 on ios with token `t0k`, jitter drawn at 0.5, and the test's timers. */
export function newClient(url: string, timers: FakeTimers, overrides: Partial<ClientOptions> = {}): ImringClient {
  return new ImringClient({
    url,
    userID: 'u1',
    platform: 'ios',
    token: 't0k',
    random: () => 0.5,
    reconnect: { baseMs: 500, maxMs: 4_000, jitter: 0.2, immediateMaxMs: 100, resetAfterMs: STABLE_MS },
    closeTimeoutMs: CLOSE_MS,
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    ...overrides,
  });
}

export function wsUrl(server: { port: number }): string {
  return `ws://127.0.0.1:${server.port}/ws`;
}

/** The next 'close' event (not events.once: that rejects on the 'error' events some tests expect). */
export function nextClose(client: ImringClient): Promise<ClientCloseEvent> {
  return new Promise((resolve) => client.once('close', resolve));
}

/** The next 'move' event. */
export function nextMove(client: ImringClient): Promise<ClientMoveEvent> {
  return new Promise((resolve) => client.once('move', resolve));
}

/** Sends the gateway's `migrate` frame on `connection` (DESIGN.md section 6). */
export function sendMigrate(connection: FakeConnection, frame: Omit<MigrateFrame, 'type'>): void {
  connection.socket.send(JSON.stringify({ type: 'migrate', ...frame } satisfies MigrateFrame));
}

/** Sends message `msgID` on `connection` of `gateway` and checks that `client` receives it. */
export async function assertDelivers(
  client: ImringClient,
  gateway: FakeWsGateway,
  connection: FakeConnection,
  msgID: string,
): Promise<void> {
  const received = once(client, 'message');
  gateway.sendMessage(connection, { msgID, payload: `payload of ${msgID}` });
  assert.deepEqual(await received, [{ msgID, payload: `payload of ${msgID}` }]);
}

/** The query parameters a fake gateway saw on `connection`. */
export function queryOf(connection: FakeConnection): Record<string, string> {
  return Object.fromEntries(new URL(connection.url, 'http://x').searchParams);
}

/** What a {@link TcpGate} does with the next TCP connections. */
export type GateMode = 'forward' | 'refuse' | 'hold';

/**
 * A TCP front for a fake gateway, so a test decides the fate of each new connection: forward it, refuse it (the
 * socket is destroyed at once: the client sees the upgrade fail), or hold it unanswered until `release()`.
 */
export interface TcpGate {
  readonly port: number;
  mode: GateMode;
  /** Resolves when a connection is held (one already held and not awaited yet first). */
  nextHeld(): Promise<Socket>;
  /** Resolves when a connection is refused (one already refused and not awaited yet first). */
  nextRefused(): Promise<void>;
  /** Forwards the held connections, and the next ones (mode `forward`). */
  release(): void;
  /** Destroys every socket and stops listening. Idempotent. */
  close(): Promise<void>;
}

export async function startTcpGate(gateway: FakeWsGateway): Promise<TcpGate> {
  const events = new EventEmitter();
  const sockets = new Set<Socket>();
  const held: Socket[] = [];
  let awaitedHeld = 0;
  let refused = 0;
  let awaitedRefused = 0;
  const forward = (socket: Socket): void => {
    const upstream = createConnection(gateway.port, gateway.host);
    sockets.add(upstream);
    for (const [a, b] of [
      [socket, upstream],
      [upstream, socket],
    ] as const) {
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    if (gate.mode === 'forward') {
      forward(socket);
    } else if (gate.mode === 'hold') {
      held.push(socket);
      events.emit('held');
    } else {
      socket.destroy();
      refused += 1;
      events.emit('refused');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let closing: Promise<void> | undefined;
  const gate: TcpGate = {
    port: (server.address() as AddressInfo).port,
    mode: 'forward',
    nextHeld: async () => {
      while (awaitedHeld >= held.length) await once(events, 'held');
      return held[awaitedHeld++]!;
    },
    nextRefused: async () => {
      while (awaitedRefused >= refused) await once(events, 'refused');
      awaitedRefused += 1;
    },
    release: () => {
      gate.mode = 'forward';
      for (const socket of held.splice(0)) forward(socket);
      awaitedHeld = 0;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
  return gate;
}
