/**
 * Measurement windows of the push benchmark: a closed-loop throughput window and a steady-rate
 * latency window, each reporting delivered messages/s and CPU per delivered message of every
 * component process (deltas of user + system CPU over the same window as the frame count).
 * The gRPC load comes from the driver process (bench/lib/push-driver.ts), one for the whole run,
 * so its code is as warm in the last window as in the first.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Component } from './children.js';
import type { DriveLoad, DriveTarget, DriveTotals } from './push-driver.js';
import type { Receipts } from './ws-clients.js';
import { median, progress } from './measure.js';

/** The processes of one configuration, by the role their CPU is reported under. */
export interface Deployment {
  /** push, or the broadcast pusher: where the driver sends. */
  readonly push: Component;
  readonly gateways: readonly Component[];
  readonly proxy: Component | undefined;
  /** The gRPC load driver (role `driver`). */
  readonly driver: Component;
}

/** CPU µs per delivered message, by role; `bench` is this process (the clients) + the driver process. */
export interface CpuPerMessage {
  readonly push: number;
  readonly gateways: number;
  readonly proxy: number | null;
  readonly bench: number;
}

/** One measured window. */
export interface WindowFigures {
  readonly label: string;
  readonly mode: 'throughput' | 'steady';
  /** Recipients per push call (one message each). */
  readonly recipients: number;
  readonly deliveredPerSecond: number;
  readonly cpuUsPerMessage: CpuPerMessage;
  /** Both cores' worth: all measured processes' CPU over wall time (2.0 = both cores busy). */
  readonly coresBusy: number;
  /** The whole machine's busy cores over the window (/proc/stat; ours and anyone else's), null off Linux. */
  readonly machineCoresBusy: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly totals: DriveTotals;
  readonly closes: Readonly<Record<string, number>>;
  /** Longest event-loop stall per process during the window, ms (bench, push, gateways, proxy). */
  readonly loopMaxMs: Readonly<Record<string, number>>;
}

/** Timings of the windows, in ms. */
export interface WindowTiming {
  readonly warmupMs: number;
  readonly windowMs: number;
}

/** What one window drives and measures. */
export interface WindowPlan {
  readonly label: string;
  readonly deployment: Deployment;
  readonly receipts: Receipts;
  readonly timing: WindowTiming;
}

interface Snapshot {
  readonly atMs: number;
  readonly frames: number;
  readonly push: number;
  readonly gateways: number;
  readonly proxy: number;
  readonly bench: number;
  /** Machine-wide CPU ticks (/proc/stat), undefined off Linux. */
  readonly machine: { readonly busy: number; readonly total: number } | undefined;
  /** Longest event-loop stall per process since the previous snapshot, ms (diagnostic). */
  readonly loopMaxMs: Readonly<Record<string, number>>;
}

const benchLoop = monitorEventLoopDelay({ resolution: 5 });
benchLoop.enable();

async function snapshot(deployment: Deployment, receipts: Receipts): Promise<Snapshot> {
  const [push, proxy, drive, ...gateways] = await Promise.all([
    deployment.push.stats(),
    deployment.proxy?.stats(),
    deployment.driver.stats(),
    ...deployment.gateways.map((g) => g.stats()),
  ]);
  const own = process.cpuUsage();
  const loopMaxMs: Record<string, number> = {
    bench: benchLoop.max / 1e6,
    driver: drive.loopMaxMs,
    push: push.loopMaxMs,
    gateways: Math.max(...gateways.map((g) => g?.loopMaxMs ?? 0)),
  };
  if (proxy) loopMaxMs.proxy = proxy.loopMaxMs;
  benchLoop.reset();
  return {
    loopMaxMs,
    atMs: performance.now(),
    frames: receipts.frames,
    push: push.cpuUs,
    gateways: gateways.reduce((sum, s) => sum + (s?.cpuUs ?? 0), 0),
    proxy: proxy?.cpuUs ?? 0,
    bench: own.user + own.system + drive.cpuUs,
    machine: machineTicks(),
  };
}

/** Busy and total CPU ticks of the whole machine since boot (first line of /proc/stat), undefined off Linux. */
function machineTicks(): Snapshot['machine'] {
  try {
    // user nice system idle iowait irq softirq steal: idle and iowait are the not-busy ones.
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    return { busy: total - ticks[3]! - ticks[4]!, total };
  } catch {
    return undefined;
  }
}

async function measureWindow(plan: WindowPlan, target: DriveTarget, load: DriveLoad): Promise<WindowFigures> {
  const { deployment, receipts, timing } = plan;
  const { driver } = deployment;
  try {
    await driver.drive(target, load);
    await sleep(timing.warmupMs);
    receipts.latenciesMs = [];
    receipts.closes.clear();
    const before = await snapshot(deployment, receipts);
    await sleep(timing.windowMs);
    const after = await snapshot(deployment, receipts);
    const latencies = receipts.latenciesMs;
    receipts.latenciesMs = [];
    const totals = await driver.stopDriving();
    const mode = load.kind === 'closed' ? 'throughput' : 'steady';
    return figures({
      label: plan.label,
      mode,
      before,
      after,
      latencies,
      totals,
      closes: Object.fromEntries(receipts.closes),
      hasProxy: deployment.proxy !== undefined,
    });
  } finally {
    await driver.stopDriving();
  }
}

function figures(init: {
  label: string;
  mode: WindowFigures['mode'];
  before: Snapshot;
  after: Snapshot;
  latencies: number[];
  totals: DriveTotals;
  closes: Record<string, number>;
  hasProxy: boolean;
}): WindowFigures {
  const { before, after } = init;
  const frames = Math.max(1, after.frames - before.frames);
  const per = (key: 'push' | 'gateways' | 'proxy' | 'bench'): number => (after[key] - before[key]) / frames;
  const seconds = (after.atMs - before.atMs) / 1000;
  const cpuSeconds =
    (['push', 'gateways', 'proxy', 'bench'] as const).reduce((sum, key) => sum + (after[key] - before[key]), 0) / 1e6;
  const sorted = init.latencies.sort((a, b) => a - b);
  const measured = sorted.length > 0;
  return {
    label: init.label,
    mode: init.mode,
    recipients: 0,
    deliveredPerSecond: (after.frames - before.frames) / seconds,
    cpuUsPerMessage: {
      push: per('push'),
      gateways: per('gateways'),
      proxy: init.hasProxy ? per('proxy') : null,
      bench: per('bench'),
    },
    coresBusy: cpuSeconds / seconds,
    machineCoresBusy:
      before.machine && after.machine
        ? ((after.machine.busy - before.machine.busy) / (after.machine.total - before.machine.total)) *
          availableParallelism()
        : null,
    p50Ms: measured ? median(sorted) : null,
    p99Ms: measured ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : null,
    totals: init.totals,
    closes: init.closes,
    loopMaxMs: after.loopMaxMs,
  };
}

/** Closed loop: `concurrency` push calls in flight, each carrying `target.recipients` recipients. */
export async function throughputWindow(
  plan: WindowPlan,
  target: DriveTarget,
  concurrency: number,
): Promise<WindowFigures> {
  progress(`${plan.label}: throughput, ${concurrency} calls in flight`);
  plan.receipts.timing = false;
  const result = {
    ...(await measureWindow(plan, target, { kind: 'closed', concurrency })),
    recipients: target.recipients,
  };
  progress(`  ${Math.round(result.deliveredPerSecond)} delivered/s`);
  return result;
}

/** The open-loop load: calls per second, and recipients per call (one message each). */
export interface SteadyLoad {
  readonly callsPerSecond: number;
  readonly recipients: number;
}

/** Open loop at `load.callsPerSecond`, frames timed by the clients (payload = send time). */
export async function steadyWindow(plan: WindowPlan, target: DriveTarget, load: SteadyLoad): Promise<WindowFigures> {
  progress(`${plan.label}: steady ${load.callsPerSecond} calls/s x ${load.recipients} recipients, latency`);
  plan.receipts.timing = true;
  try {
    const result = {
      ...(await measureWindow(plan, target, { kind: 'steady', callsPerSecond: load.callsPerSecond })),
      recipients: load.recipients,
    };
    progress(
      `  p50 ${result.p50Ms?.toFixed(2)} ms, p99 ${result.p99Ms?.toFixed(2)} ms; cores busy: ours ${result.coresBusy.toFixed(2)}, machine ${result.machineCoresBusy?.toFixed(2)}; longest event-loop stall: ${Object.entries(
        result.loopMaxMs,
      )
        .map(([k, v]) => `${k} ${v.toFixed(1)} ms`)
        .join(', ')}`,
    );
    return result;
  } finally {
    plan.receipts.timing = false;
  }
}
