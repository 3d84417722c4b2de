/**
 * Child-process entry of the push benchmark: starts one component (gateway, proxy, push, the
 * bench-only broadcast pusher, a plain `ws` server, or the gRPC load driver) on 127.0.0.1 with a
 * {@link StaticRingSource}
 * (never the Kubernetes API), so CPU and RSS can be measured per component.
 *
 * Usage (by bench/lib/children.ts): `node dist/bench/lib/runtime-process.js '<ComponentConfig JSON>'`
 * with an IPC channel. Answers {@link ParentMessage}s with {@link ChildMessage}s and exits when
 * told to close or when its parent goes away (IPC disconnect), so no process outlives the bench.
 */
import { WebSocketServer } from 'ws';
import { Ring, type RingDocument } from '../../ring/index.js';
import { startGateway } from '../../runtime/gateway/gateway.js';
import { startProxy } from '../../runtime/proxy/proxy.js';
import { startPush } from '../../runtime/push/push.js';
import { StaticRingSource } from '../../runtime/ring-source.js';
import { startBroadcastPush } from './broadcast-push.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { drive, type Drive, type DriveLoad, type DriveTarget, type DriveTotals } from './push-driver.js';

/** What one child runs. Ports are always 0 (any free one); the bound ones come back in `ready`. */
export type ComponentConfig =
  | { readonly role: 'gateway'; readonly host: string; readonly self: string; readonly tokenSecret: string }
  | {
      readonly role: 'proxy' | 'push' | 'broadcast-unary' | 'broadcast-batched';
      readonly host: string;
      readonly ring: RingDocument;
    }
  | { readonly role: 'ws-baseline' | 'driver'; readonly host: string };

/**
 * Messages the bench sends a child. `gc`: collect garbage (twice) before reading RSS. `drive`, `stop`: the driver's.
 */
export type ParentMessage =
  | { readonly type: 'stats'; readonly gc?: boolean }
  | { readonly type: 'ring'; readonly ring: RingDocument }
  | { readonly type: 'drive'; readonly target: DriveTarget; readonly load: DriveLoad }
  | { readonly type: 'stop' }
  | { readonly type: 'close' };

/** CPU (user + system, µs since the process started) and resident set size (bytes). */
export interface ProcessStats {
  readonly cpuUs: number;
  readonly rss: number;
  /** The longest event-loop stall since the previous stats request, in ms (a latency tail's suspect). */
  readonly loopMaxMs: number;
  /** A gateway's connections, and those of users it does not own in the ring it serves. */
  readonly gateway?: { readonly connections: number; readonly misplaced: number };
}

/** Messages a child sends the bench. */
export type ChildMessage =
  | { readonly type: 'ready'; readonly ports: Readonly<Record<string, number>> }
  | ({ readonly type: 'stats' } & ProcessStats)
  | { readonly type: 'ring-set' }
  | { readonly type: 'driving' }
  | { readonly type: 'stopped'; readonly totals: DriveTotals }
  | { readonly type: 'failed'; readonly error: string };

interface Running {
  readonly ports: Record<string, number>;
  readonly ringSource?: StaticRingSource;
  /** A gateway's counts, for {@link ProcessStats.gateway}. */
  readonly gateway?: () => { connections: number; misplaced: number };
  close(): Promise<void>;
}

async function start(config: ComponentConfig): Promise<Running> {
  switch (config.role) {
    case 'gateway': {
      const ringSource = new StaticRingSource();
      const gateway = await startGateway({
        host: config.host,
        ports: { ws: 0, grpc: 0 },
        self: config.self,
        ringSource,
        tokenSecret: config.tokenSecret,
      });
      return { ports: { ...gateway.ports }, ringSource, gateway: () => gateway.stats(), close: () => gateway.close() };
    }
    case 'proxy': {
      const ringSource = new StaticRingSource(Ring.fromDocument(config.ring));
      const proxy = await startProxy({ host: config.host, port: 0, ringSource });
      return { ports: { ws: proxy.port }, ringSource, close: () => proxy.close() };
    }
    case 'push': {
      const ringSource = new StaticRingSource(Ring.fromDocument(config.ring));
      const push = await startPush({ host: config.host, ports: { grpc: 0, http: 0 }, ringSource });
      return { ports: { ...push.ports }, ringSource, close: () => push.close() };
    }
    case 'broadcast-unary':
    case 'broadcast-batched': {
      const push = await startBroadcastPush({
        host: config.host,
        members: config.ring.members,
        mode: config.role === 'broadcast-unary' ? 'unary' : 'batched',
      });
      return { ports: { grpc: push.port }, close: () => push.close() };
    }
    case 'ws-baseline':
      return startWsBaseline(config.host);
    case 'driver':
      return { ports: {}, close: () => Promise.resolve() };
  }
}

/** A plain `ws` server with its defaults (bar compression, off as in the gateway): the RSS baseline. */
async function startWsBaseline(host: string): Promise<Running> {
  const server = new WebSocketServer({ host, port: 0, perMessageDeflate: false });
  server.on('connection', (ws) => ws.on('error', () => undefined));
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    ports: { ws: port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();

function statsNow(running: Running): ProcessStats {
  const cpu = process.cpuUsage();
  const loopMaxMs = loop.max / 1e6;
  loop.reset();
  const stats = { cpuUs: cpu.user + cpu.system, rss: process.memoryUsage().rss, loopMaxMs };
  return running.gateway ? { ...stats, gateway: running.gateway() } : stats;
}

/** Stops `driving` and waits for its last answer; a driver never told to drive made no calls. */
async function stopDriving(driving: Drive | undefined): Promise<DriveTotals> {
  return (await driving?.stop()) ?? { calls: 0, realtime: 0, offline: 0, errors: 0 };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as ComponentConfig;
  let running: Running;
  try {
    running = await start(config);
  } catch (error) {
    send({ type: 'failed', error: String((error as Error).stack ?? error) });
    process.exit(1);
  }
  let closing = false;
  const stop = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await running.close();
    process.exit(0);
  };
  let driving: Drive | undefined;
  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'stats':
        if (message.gc === true && typeof globalThis.gc === 'function') {
          globalThis.gc();
          globalThis.gc();
        }
        return send({ type: 'stats', ...statsNow(running) });
      case 'ring':
        running.ringSource?.set(Ring.fromDocument(message.ring));
        return send({ type: 'ring-set' });
      case 'drive':
        driving = drive(message.target, message.load);
        return send({ type: 'driving' });
      case 'stop':
        return void stopDriving(driving).then((totals) => send({ type: 'stopped', totals }));
      case 'close':
        return void stop();
    }
  });
  // The bench went away (crash, SIGKILL): do not outlive it.
  process.on('disconnect', () => void stop());
  send({ type: 'ready', ports: running.ports });
}

await main();
