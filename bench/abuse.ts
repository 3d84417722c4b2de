/**
 * Abuse benchmark (issue 8, "Bad input"): delivery latency of well-behaved clients, undisturbed
 * and while abusers hammer the same gateway, proxy and push: a 5,000-connection flood, readers
 * that never read, clients that never answer pings, oversize frames and bad tokens
 * (bench/lib/abusers.ts). Five processes: the gateway, the proxy and push (each alone, as in
 * a cluster), the abusers, and this one (receivers and the steady pusher, so send and receive times share a clock).
 *
 * Latency = push HTTP request sent → frame received, per (message, user). A delivery is lost
 * when push answered `realtime` and the frame never arrived.
 *
 * The abusers run at nice 19: attackers are other machines, and on this 2-core box their own
 * CPU would otherwise count as the stack's latency (`--no-nice` to see it).
 *
 * Usage: `node dist/bench/abuse.js [--json] [--only=flood,stalled,silent,oversize,badToken] [--flood-at=gateway]
 * [--no-accept-limit] [--no-nice]`
 * (`npm run bench:abuse`). Markdown on stdout, progress on stderr; with `--json`, the last
 * stdout line is one JSON object. Exits 0.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { goodQuery, openReceiver, pushHttp, type Receiver, type StackLimits } from '../test/support/abuse.js';
import type { AbuseChild, AbuseChildMessage } from './lib/abuse-process.js';
import { KINDS, type AbuseKind, type AbusePlan, type AbuseReport, type StackPorts } from './lib/abusers.js';
import { progress } from './lib/measure.js';
import { DEFAULTS as PUSH_DEFAULTS } from '../runtime/push/push.js';

export const CONFIG = {
  /** Well-behaved receivers, connected through the proxy. */
  receivers: 500,
  /** Push requests per second, each one message to `recipients` random receivers. */
  pushesPerSecond: 100,
  recipients: 5,
  warmupMs: 2000,
  windowMs: 10_000,
  /** How long lost frames are waited for after a window, in ms. */
  drainMs: 3000,
  limits: {
    gateway: { maxPayloadBytes: 4096, maxSendBufferBytes: 64 * 1024, pingIntervalMs: 2000, maxConnections: 4000 },
    proxy: { acceptLimit: { ratePerSecond: 100, burst: 10 } },
  } satisfies StackLimits,
  floodConnections: 5000,
  /** The flood hits the public entry (the proxy), 5,000 at once every 2 s. */
  floodTarget: 'proxy',
  floodPeriodMs: 2000,
  /** The bound the issue sets: latency under abuse within this factor of the undisturbed run. */
  maxRatio: 2,
} as const;

const ENTRY = fileURLToPath(new URL('./lib/abuse-process.js', import.meta.url));
const children = new Set<ChildProcess>();

/** One measured window. */
interface Window {
  readonly phase: string;
  readonly pushes: number;
  readonly deliveries: number;
  readonly received: number;
  readonly lost: number;
  readonly notRealtime: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

async function startChild(
  config: AbuseChild,
): Promise<{ child: ChildProcess; ports: { main: number; grpc?: number } | undefined }> {
  const child = fork(ENTRY, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const [message] = (await once(child, 'message')) as [AbuseChildMessage];
  if (message.type !== 'ready')
    throw new Error(`${config.role} did not start: ${message.type === 'failed' ? message.error : message.type}`);
  return { child, ports: message.ports };
}

/** Pushes at the steady rate for `ms`, recording each realtime (message, user) and its send time. */
async function steadyWindow(
  phase: string,
  port: number,
  receivers: readonly Receiver[],
  latencies: Map<string, number>,
): Promise<Window> {
  const expected = new Map<string, number>();
  let pushes = 0;
  let notRealtime = 0;
  const started = performance.now();
  const calls: Promise<void>[] = [];
  for (let i = 0; performance.now() - started < CONFIG.windowMs; i++) {
    const due = started + (i * 1000) / CONFIG.pushesPerSecond;
    if (due > performance.now()) await sleep(due - performance.now());
    const msgID = `${phase}-${i}`;
    const users = pick(receivers, CONFIG.recipients, i).map((r) => r.userID);
    const sentAt = performance.now();
    pushes++;
    calls.push(
      pushHttp(port, JSON.stringify({ messages: [{ msgID, toUserIDs: users, payload: String(sentAt) }] })).then(
        ({ json }) => {
          json.results.forEach((r) =>
            r.status === 'realtime' ? expected.set(`${msgID}/${r.userID}`, sentAt) : notRealtime++,
          );
        },
      ),
    );
  }
  await Promise.all(calls);
  await sleep(CONFIG.drainMs);
  const measured = [...expected.keys()].map((key) => latencies.get(key)).filter((ms): ms is number => ms !== undefined);
  const sorted = measured.sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
  const window = {
    phase,
    pushes,
    deliveries: expected.size + notRealtime,
    received: sorted.length,
    lost: expected.size - sorted.length,
    notRealtime,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: sorted.at(-1) ?? NaN,
  };
  progress(
    `  ${phase}: ${window.received}/${window.deliveries} received, p50 ${window.p50Ms.toFixed(2)} ms, p99 ${window.p99Ms.toFixed(2)} ms`,
  );
  return window;
}

/**
 * `open()`, made again after 100 ms when it fails (a connection shed by the proxy's accept limit), at most 50 times.
 */
async function withRetries<T>(open: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open();
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

/** `count` distinct receivers, spread by `i` (deterministic). */
function pick(receivers: readonly Receiver[], count: number, i: number): Receiver[] {
  return Array.from({ length: count }, (_, k) => receivers[(i * 7919 + k * 104_729) % receivers.length]!);
}

function reportOf(
  windows: readonly Window[],
  abuse: AbuseReport,
  run: { floodTarget: string; acceptLimit: boolean; niceAbusers: boolean },
): string {
  const quiet = windows[0]!;
  const abused = windows[1]!;
  const ratio = { p50: abused.p50Ms / quiet.p50Ms, p99: abused.p99Ms / quiet.p99Ms };
  const lines = [
    `### Abuse: ${CONFIG.receivers} receivers, ${CONFIG.pushesPerSecond} pushes/s × ${CONFIG.recipients} recipients, ${CONFIG.windowMs / 1000} s windows; abusers at ${run.niceAbusers ? 'nice 19' : 'normal priority'}; flood at the ${run.floodTarget}, proxy accept limit ${run.acceptLimit ? `${CONFIG.limits.proxy.acceptLimit.ratePerSecond}/s, burst ${CONFIG.limits.proxy.acceptLimit.burst}` : 'off'}`,
    '',
    '| phase | deliveries | received | lost | not realtime | p50 ms | p99 ms | max ms |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...windows.map(
      (w) =>
        `| ${w.phase} | ${w.deliveries} | ${w.received} | ${w.lost} | ${w.notRealtime} | ${w.p50Ms.toFixed(2)} | ${w.p99Ms.toFixed(2)} | ${w.maxMs.toFixed(1)} |`,
    ),
    `| **under abuse ÷ undisturbed** | | | | | **${ratio.p50.toFixed(2)}×** | **${ratio.p99.toFixed(2)}×** | |`,
    '',
    '| abuser | rounds | outcomes (HTTP status or close code: count) |',
    '|---|---:|---|',
    ...Object.entries(abuse)
      .filter(([, r]) => r.rounds > 0)
      .map(
        ([kind, r]) =>
          `| ${kind} | ${r.rounds} | ${Object.entries(r.outcomes)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')} |`,
      ),
    '',
    `${ratio.p50 <= CONFIG.maxRatio && ratio.p99 <= CONFIG.maxRatio ? 'PASS' : 'FAIL'} p50 and p99 under abuse within ${CONFIG.maxRatio}× of the undisturbed run`,
    `${windows.every((w) => w.lost === 0 && w.notRealtime === 0) ? 'PASS' : 'FAIL'} every delivery to a well-behaved receiver arrived`,
  ];
  return lines.join('\n');
}

/** What the command line asks for: the run reported with the figures, the stack's limits, `--json`. */
interface RunOptions {
  readonly json: boolean;
  readonly limits: StackLimits;
  readonly run: {
    kinds: AbuseKind[];
    floodTarget: AbusePlan['floodTarget'];
    acceptLimit: boolean;
    niceAbusers: boolean;
  };
}

/** The options `argv` names; unknown abuser kinds in `--only` are ignored. */
function runOptions(argv: readonly string[]): RunOptions {
  const only = argv
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const kinds = (only ?? KINDS).filter((k): k is AbuseKind => (KINDS as readonly string[]).includes(k));
  const floodTarget = argv.includes('--flood-at=gateway') ? 'gateway' : CONFIG.floodTarget;
  const acceptLimit = !argv.includes('--no-accept-limit');
  const limits = acceptLimit ? CONFIG.limits : { ...CONFIG.limits, proxy: {} };
  const run: RunOptions['run'] = { kinds, floodTarget, acceptLimit, niceAbusers: !argv.includes('--no-nice') };
  return { json: argv.includes('--json'), limits, run };
}

/** The gateway, then the proxy and push in front of it, each in its own process. */
async function startStack(limits: StackLimits): Promise<{ processes: ChildProcess[]; ports: StackPorts }> {
  const gateway = await startChild({ role: 'gateway', limits });
  const gatewayPorts = { ws: gateway.ports!.main, grpc: gateway.ports!.grpc! };
  const [proxy, push] = await Promise.all([
    startChild({ role: 'proxy', limits, gateway: gatewayPorts }),
    startChild({ role: 'push', limits, gateway: gatewayPorts }),
  ]);
  const ports: StackPorts = { gateway: gatewayPorts.ws, proxy: proxy.ports!.main, push: push.ports!.main };
  return { processes: [gateway.child, proxy.child, push.child], ports };
}

/** The well-behaved receivers, through the proxy, 50 at a time; each frame's latency goes into `latencies`. */
async function openReceivers(proxyPort: number, latencies: Map<string, number>): Promise<Receiver[]> {
  const receivers: Receiver[] = [];
  for (let i = 0; i < CONFIG.receivers; i += 50) {
    const batch = Array.from({ length: Math.min(50, CONFIG.receivers - i) }, (_, k) => `steady-${i + k}`);
    receivers.push(
      ...(await Promise.all(
        batch.map(async (user) =>
          withRetries(async () =>
            openReceiver(
              `ws://127.0.0.1:${proxyPort}/ws?${new URLSearchParams(await goodQuery(user)).toString()}`,
              user,
              (f) => latencies.set(`${f.msgID}/${user}`, performance.now() - Number(f.payload)),
            ),
          ),
        ),
      )),
    );
  }
  return receivers;
}

/** The abusers started, a steady window measured while they run, and their report once stopped. */
async function abusedWindow(
  run: RunOptions['run'],
  steady: { ports: StackPorts; receivers: readonly Receiver[]; latencies: Map<string, number> },
): Promise<{ window: Window; report: AbuseReport }> {
  const { child: abusers } = await startChild({
    role: 'abusers',
    ports: steady.ports,
    plan: {
      floodConnections: CONFIG.floodConnections,
      floodTarget: run.floodTarget,
      floodPeriodMs: CONFIG.floodPeriodMs,
      oversizeBytes: CONFIG.limits.gateway.maxPayloadBytes + 1,
      fillBytes: PUSH_DEFAULTS.maxPayloadBytes,
      kinds: run.kinds,
    },
  });
  // Attackers are other machines; here they share two cores with the stack, and would bill it their own CPU.
  if (run.niceAbusers) setPriority(abusers.pid!, 19);
  await sleep(CONFIG.warmupMs);
  const window = await steadyWindow('under abuse', steady.ports.push, steady.receivers, steady.latencies);
  const reported = once(abusers, 'message') as Promise<[AbuseChildMessage]>;
  abusers.send({ type: 'stop' });
  const [message] = await reported;
  abusers.kill();
  if (message.type !== 'report') throw new Error(`the abusers answered ${message.type}`);
  return { window, report: message.report };
}

async function main(): Promise<void> {
  const { json, limits, run } = runOptions(process.argv);
  progress(
    `abusers: ${run.kinds.join(', ')}${run.niceAbusers ? ' (nice 19)' : ''}; flood at the ${run.floodTarget}; proxy accept limit ${run.acceptLimit ? JSON.stringify(CONFIG.limits.proxy.acceptLimit) : 'off'}`,
  );
  process.once('exit', () => children.forEach((c) => c.kill('SIGKILL')));
  const { processes, ports } = await startStack(limits);
  const latencies = new Map<string, number>();
  progress(`opening ${CONFIG.receivers} receivers through the proxy`);
  const receivers = await openReceivers(ports.proxy, latencies);
  await steadyWindow('warmup', ports.push, receivers, latencies);
  const windows = [await steadyWindow('undisturbed', ports.push, receivers, latencies)];
  progress('starting the abusers');
  const abused = await abusedWindow(run, { ports, receivers, latencies });
  windows.push(abused.window);
  windows.push(await steadyWindow('after', ports.push, receivers, latencies));
  const closedReceivers = receivers.filter((r) => r.closes.length > 0).length;
  for (const r of receivers) r.ws.terminate();
  await Promise.all(
    processes.map(async (child) => {
      child.send({ type: 'close' });
      await once(child, 'exit');
    }),
  );
  process.stdout.write(
    `${reportOf(windows, abused.report, run)}\n${closedReceivers === 0 ? 'PASS' : 'FAIL'} no well-behaved receiver was disconnected (${closedReceivers})\n`,
  );
  if (json)
    process.stdout.write(
      `${JSON.stringify({ config: CONFIG, run, node: process.version, windows, abuse: abused.report, closedReceivers })}\n`,
    );
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
}
process.exit(0);
