/**
 * Raw `ws` clients of the push benchmark, all in the bench process: opened with bounded
 * concurrency (connects/s), counting every message frame received (one delivered message = one
 * (message, user) frame), and, when asked, the latency of frames whose payload is a send time.
 */
import { performance } from 'node:perf_hooks';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { monotonicMs } from './push-driver.js';

/** Frames received and latencies, shared by every client of a set. */
export class Receipts {
  frames = 0;
  /** Closes the server started (4008 too slow, 4001 moved, …), counted by code. */
  readonly closes = new Map<number, number>();
  /** When true, each frame's payload is parsed as a {@link monotonicMs} send time (stamped by the driver process). */
  timing = false;
  latenciesMs: number[] = [];

  onFrame(data: Buffer): void {
    this.frames++;
    if (!this.timing) return;
    const frame = JSON.parse(data.toString('utf8')) as { payload: string };
    this.latenciesMs.push(monotonicMs() - Number(frame.payload));
  }
}

/** Signs one HS256 client token per user (10 minutes), before anything is timed. */
export async function signTokens(users: readonly string[], secret: string): Promise<Map<string, string>> {
  const key = new TextEncoder().encode(secret);
  const tokens = new Map<string, string>();
  for (const user of users)
    tokens.set(
      user,
      await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('10m').sign(key),
    );
  return tokens;
}

/** What to open: `users` at `url` (the proxy's or a gateway's `/ws`) as `platform`. */
export interface OpenPlan {
  readonly url: string;
  readonly users: readonly string[];
  readonly tokens: ReadonlyMap<string, string>;
  readonly platform: string;
  /** Handshakes in flight at once. */
  readonly concurrency: number;
}

/** Open connections and how fast they opened. */
export interface ClientSet {
  readonly sockets: WebSocket[];
  readonly receipts: Receipts;
  readonly failed: number;
  readonly seconds: number;
  readonly connectsPerSecond: number;
  close(): Promise<void>;
}

/** Opens one connection per user, `concurrency` handshakes at a time; failures are counted. */
export async function openClients(plan: OpenPlan, receipts = new Receipts()): Promise<ClientSet> {
  const sockets: WebSocket[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < plan.users.length) {
      const user = plan.users[next++]!;
      const ws = await openOne(plan, user, receipts);
      if (ws === undefined) failed++;
      else sockets.push(ws);
    }
  };
  await Promise.all(Array.from({ length: Math.min(plan.concurrency, plan.users.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    sockets,
    receipts,
    failed,
    seconds,
    connectsPerSecond: sockets.length / seconds,
    close: () => closeSockets(sockets),
  };
}

function openOne(plan: OpenPlan, user: string, receipts: Receipts): Promise<WebSocket | undefined> {
  const query = new URLSearchParams({ userID: user, platform: plan.platform, token: plan.tokens.get(user) ?? '' });
  const ws = new WebSocket(`${plan.url}?${query.toString()}`, { perMessageDeflate: false });
  return new Promise((resolve) => {
    ws.on('error', () => resolve(undefined));
    ws.once('open', () => resolve(ws));
    ws.once('close', (code) => {
      if (code !== 1005 && code !== 1006) receipts.closes.set(code, (receipts.closes.get(code) ?? 0) + 1);
      resolve(undefined);
    });
    ws.on('message', (data: Buffer) => receipts.onFrame(data));
  });
}

/** Drops every socket at once (no closing handshake) and waits until all are closed. */
async function closeSockets(sockets: readonly WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => {
      if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.terminate();
      return closed;
    }),
  );
}
