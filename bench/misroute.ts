/**
 * The seed's incident, side by side: OpenIM 3.5.1's two rings (a pure simulation, see
 * bench/lib/misroute-sim.ts) against imring's runtimes (gateways and proxy in child processes,
 * push in this one, SDK clients through the proxy), with the same users and messages, at N = 2,
 * 5 and 10 gateways, steady and while scaling to N + 3 in the middle of the run. imring runs
 * twice with the same seed: its SDK's graceful migration (make-before-break), and plain clients
 * that do not opt in (closed with 4001, they reconnect); for each, the time users spent without
 * a connection and the CPU the gateways and the proxy spent per moved user.
 *
 * Figures are shares of (message, user) units to online users that ended offline. For imring
 * a misroute is an offline result for a user whose connection was open before the push and
 * never closed during it; required: 0.
 *
 * Usage: `node dist/bench/misroute.js [--json]` (`npm run bench:misroute`). Markdown table on
 * stdout, progress on stderr; with `--json`, the last stdout line is one JSON object. Exits 0.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUserIds } from '../test/support/random.js';
import type { MigrateMode } from '../client/index.js';
import { percentile } from '../test/support/scenario.js';
import { killChildrenOnExit } from './lib/children.js';
import { LiveSystem, type RuntimeCpu } from './lib/imring-live.js';
import { progress } from './lib/measure.js';
import { openimScalePhases, simulateImring, simulateOpenim, type PhaseCount } from './lib/misroute-sim.js';
import { TrafficDriver, type LiveCount } from './lib/misroute-traffic.js';
import { signTokens } from './lib/ws-clients.js';

export const CONFIG = {
  secret: 'bench-misroute-token-secret-0123456789',
  seed: 0x5eed_0351,
  sizes: [2, 5, 10],
  /** Gateways added in the middle of the run. */
  added: 3,
  /** Users, all online (one SDK client each through the proxy). */
  users: 300,
  recipients: 5,
  messagesPerRequest: 20,
  /** Push requests in the steady phase (the OpenIM phases send as many messages each). */
  steadyRequests: 20,
  /** Push requests after the scale has settled (migrations done, every client open). */
  afterRequests: 10,
  /** How long the Prepared ring is served, with traffic, before it is committed, in ms. */
  preparedMs: 300,
  /** Bound on the migration settling, in ms. */
  settleTimeoutMs: 15_000,
} as const;

/** What one live imring run at N came to. */
export interface LiveRun {
  readonly migrate: MigrateMode;
  /** Steady, then during and after the scale. */
  readonly phases: LiveCount[];
  /** Users whose connection moved during the scale (a move event, or a 4001 and a reconnect). */
  readonly movedUsers: number;
  readonly reconnects: number;
  /** Each user's longest time without an open connection: p50, p99 and max over the users, ms. */
  readonly withoutConnectionMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /**
   * CPU from the Prepared ring to settled, beyond what its deliveries cost at the steady phase's CPU per (message,
   * user) unit, per moved user, ms (null: none moved).
   */
  readonly cpuPerMovedUserMs: { readonly gateways: number | null; readonly proxy: number | null };
}

/** One row: N, both designs' phases, and imring's two ways to migrate. */
export interface Row {
  readonly n: number;
  readonly openim: PhaseCount[];
  readonly imringRule: PhaseCount[];
  readonly live: { readonly graceful: LiveRun; readonly hard: LiveRun };
}

async function imringLive(
  n: number,
  users: readonly string[],
  tokens: ReadonlyMap<string, string>,
  migrate: MigrateMode,
): Promise<LiveRun> {
  const system = await LiveSystem.start(n, CONFIG.secret);
  try {
    await system.connect(users, tokens, migrate);
    progress(`imring N=${n} (${migrate}): ${system.users.size} users connected through the proxy`);
    const driver = new TrafficDriver(system, {
      recipients: CONFIG.recipients,
      messagesPerRequest: CONFIG.messagesPerRequest,
      seed: CONFIG.seed + 1,
    });
    const steady = TrafficDriver.count('steady');
    const steadyCpu = await cpuOf(system, steady, () => driver.pushUntil(steady, () => true, CONFIG.steadyRequests));
    const scale = TrafficDriver.count(`scale ${n} → ${n + CONFIG.added}`);
    let after = -1;
    const traffic = driver.pushUntil(
      scale,
      () => after >= 0 && scale.units >= after + CONFIG.afterRequests * CONFIG.messagesPerRequest * CONFIG.recipients,
      1,
    );
    await system.addGateways(CONFIG.added);
    const scaleCpu = await cpuOf(system, scale, () => scaleTheImringWay(system, n));
    after = scale.units;
    await traffic;
    await driver.settleReceipts(5000);
    const moved = [...system.users.values()].filter((u) => u.moved);
    const longest = [...system.users.values()].map((u) => Math.round(Math.max(0, ...u.gapsMs)));
    const beyond = (key: keyof RuntimeCpu): number | null =>
      moved.length === 0
        ? null
        : (scaleCpu.used[key] - (steadyCpu.used[key] * scaleCpu.units) / steadyCpu.units) / 1000 / moved.length;
    progress(
      `imring N=${n} (${migrate}): steady ${steady.offline}/${steady.units} offline, scale ${scale.offline}/${scale.units} offline (${moved.length} users moved), ${scale.misroutes} misroutes, ${steady.missing + scale.missing} missing`,
    );
    return {
      migrate,
      phases: [steady, scale],
      movedUsers: moved.length,
      reconnects: [...system.users.values()].reduce((sum, u) => sum + u.gapsMs.length, 0),
      withoutConnectionMs: {
        p50: percentile(longest, 0.5),
        p99: percentile(longest, 0.99),
        max: Math.max(0, ...longest),
      },
      cpuPerMovedUserMs: { gateways: beyond('gatewaysUs'), proxy: beyond('proxyUs') },
    };
  } finally {
    await system.close();
  }
}

/** The CPU gateways and proxy spent while `body` ran (µs), and the (message, user) units `count` gained meanwhile. */
async function cpuOf(
  system: LiveSystem,
  count: LiveCount,
  body: () => Promise<void>,
): Promise<{ used: RuntimeCpu; units: number }> {
  const before = await system.cpu();
  const units = count.units;
  await body();
  const after = await system.cpu();
  return {
    used: { gatewaysUs: after.gatewaysUs - before.gatewaysUs, proxyUs: after.proxyUs - before.proxyUs },
    units: count.units - units,
  };
}

/** Writes v2 (with the gateways started) Prepared everywhere, then Committed, and waits for migrations to end. */
async function scaleTheImringWay(system: LiveSystem, n: number): Promise<void> {
  await system.writeRing(2, 'Prepared');
  await sleep(CONFIG.preparedMs);
  await system.writeRing(2, 'Committed');
  const deadline = performance.now() + CONFIG.settleTimeoutMs;
  // Many sockets and gateways settle independently: polled, bounded.
  while (!(await system.isSettled())) {
    if (performance.now() > deadline)
      throw new Error(`N=${n}: migration did not settle in ${CONFIG.settleTimeoutMs} ms`);
    await sleep(20);
  }
}

const percent = (share: number): string => `${(share * 100).toFixed(1)} %`;
const liveShare = (c: LiveCount): number => (c.units === 0 ? 0 : c.offline / c.units);

/** The markdown table the README quotes (imring: its SDK's graceful migration). */
export function tableOf(rows: readonly Row[]): string {
  const lines = [
    '| N | OpenIM 3.5.1 offline, steady | OpenIM offline after scale to N+3 | imring offline, steady | imring offline during/after scale | imring misroutes | users moved | (message, user) units counted, OpenIM / imring |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const [steady, afterScale] = row.openim;
    const { phases, movedUsers } = row.live.graceful;
    const [live, scale] = phases;
    const openimUnits = row.openim.slice(0, 2).reduce((s, c) => s + c.units, 0);
    const imringUnits = phases.reduce((s, c) => s + c.units, 0);
    lines.push(
      `| ${row.n} | ${percent(steady!.share)} | ${percent(afterScale!.share)} | ${percent(liveShare(live!))} | ${percent(liveShare(scale!))} | ${live!.misroutes + scale!.misroutes} | ${movedUsers} | ${openimUnits} / ${imringUnits} |`,
    );
  }
  return lines.join('\n');
}

/** imring's graceful migration against plain clients (4001), at each N. */
export function migrationTableOf(rows: readonly Row[]): string {
  const lines = [
    '| N | clients | offline during/after scale | received in real time during/after scale | misroutes | users moved | reconnects | time without a connection p50 / p99 / max | CPU per moved user, gateways / proxy |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const ms = (n: number | null): string => (n === null ? '—' : `${n.toFixed(2)} ms`);
  for (const row of rows) {
    for (const run of [row.live.graceful, row.live.hard]) {
      const scale = run.phases[1]!;
      const received = scale.units === 0 ? 0 : (scale.realtime - scale.missing) / scale.units;
      const gap = run.withoutConnectionMs;
      lines.push(
        `| ${row.n} | ${run.migrate === 'graceful' ? 'graceful' : 'plain (4001)'} | ${percent(liveShare(scale))} | ${percent(received)} | ${scale.misroutes} | ${run.movedUsers} | ${run.reconnects} | ${gap.p50} / ${gap.p99} / ${gap.max} ms | ${ms(run.cpuPerMovedUserMs.gateways)} / ${ms(run.cpuPerMovedUserMs.proxy)} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  killChildrenOnExit();
  const json = process.argv.includes('--json');
  const users = randomUserIds(CONFIG.users, CONFIG.seed);
  const tokens = await signTokens(users, CONFIG.secret);
  const traffic = { users, recipients: CONFIG.recipients, seed: CONFIG.seed + 1 };
  const messagesPerPhase = CONFIG.steadyRequests * CONFIG.messagesPerRequest;
  const rows: Row[] = [];
  for (const n of CONFIG.sizes) {
    const openim = simulateOpenim(traffic, openimScalePhases(n, { added: CONFIG.added, messagesPerPhase }));
    progress(`OpenIM N=${n}: ${openim.map((c) => `${c.label} ${percent(c.share)}`).join(', ')}`);
    const imringRule = simulateImring(traffic, { n, added: CONFIG.added, messagesPerPhase });
    const graceful = await imringLive(n, users, tokens, 'graceful');
    const hard = await imringLive(n, users, tokens, 'hard');
    rows.push({ n, openim, imringRule, live: { graceful, hard } });
  }
  process.stdout.write(`${tableOf(rows)}\n\n${migrationTableOf(rows)}\n`);
  const phases = rows.flatMap((r) => [...r.live.graceful.phases, ...r.live.hard.phases]);
  const misroutes = phases.reduce((m, c) => m + c.misroutes, 0);
  const missing = phases.reduce((m, c) => m + c.missing, 0);
  process.stdout.write(
    `${misroutes === 0 ? 'PASS' : 'FAIL'} imring misroutes: ${misroutes} (required 0); realtime results never received: ${missing}\n`,
  );
  if (json)
    process.stdout.write(`${JSON.stringify({ config: CONFIG, node: process.version, rows, misroutes, missing })}\n`);
}

try {
  await main();
} catch (error) {
  progress(`failed: ${String((error as Error).stack ?? error)}`);
}
process.exit(0);
