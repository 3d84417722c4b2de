/**
 * The seed's incident, side by side: OpenIM 3.5.1's two rings (a pure simulation, see
 * bench/lib/misroute-sim.ts) against imring's runtimes in this process (gateways, proxy, push,
 * SDK clients through the proxy), with the same users and messages, at N = 2, 5 and 10
 * gateways, steady and while scaling to N + 3 in the middle of the run.
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
import { LiveSystem } from './lib/imring-live.js';
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

/** One row: N, both designs' phases. */
export interface Row {
  readonly n: number;
  readonly openim: PhaseCount[];
  readonly imringRule: PhaseCount[];
  readonly imring: LiveCount[];
  /** Users moved with 4001 during the scale, who reconnected through the proxy. */
  readonly movedUsers: number;
}

async function imringLive(
  n: number,
  users: readonly string[],
  tokens: ReadonlyMap<string, string>,
): Promise<{ imring: LiveCount[]; movedUsers: number }> {
  const system = await LiveSystem.start(n, CONFIG.secret);
  try {
    await system.connect(users, tokens);
    progress(`imring N=${n}: ${system.users.size} users connected through the proxy`);
    const driver = new TrafficDriver(system, {
      recipients: CONFIG.recipients,
      messagesPerRequest: CONFIG.messagesPerRequest,
      seed: CONFIG.seed + 1,
    });
    const steady = TrafficDriver.count('steady');
    await driver.pushUntil(steady, () => true, CONFIG.steadyRequests);
    const scale = TrafficDriver.count(`scale ${n} → ${n + CONFIG.added}`);
    let after = -1;
    const traffic = driver.pushUntil(
      scale,
      () => after >= 0 && scale.units >= after + CONFIG.afterRequests * CONFIG.messagesPerRequest * CONFIG.recipients,
      1,
    );
    await scaleTheImringWay(system, n);
    after = scale.units;
    await traffic;
    await driver.settleReceipts(5000);
    const movedUsers = [...system.users.values()].filter((u) => u.closes > 0).length;
    progress(
      `imring N=${n}: steady ${steady.offline}/${steady.units} offline, scale ${scale.offline}/${scale.units} offline (${movedUsers} users moved), ${scale.misroutes} misroutes, ${steady.missing + scale.missing} missing`,
    );
    return { imring: [steady, scale], movedUsers };
  } finally {
    await system.close();
  }
}

/** Starts the new gateways, writes v2 Prepared everywhere, then Committed, and waits for migrations to end. */
async function scaleTheImringWay(system: LiveSystem, n: number): Promise<void> {
  await system.addGateways(CONFIG.added);
  system.writeRing(2, 'Prepared');
  await sleep(CONFIG.preparedMs);
  system.writeRing(2, 'Committed');
  const deadline = performance.now() + CONFIG.settleTimeoutMs;
  // Many sockets and gateways settle independently: polled, bounded.
  while (!system.isSettled()) {
    if (performance.now() > deadline)
      throw new Error(`N=${n}: migration did not settle in ${CONFIG.settleTimeoutMs} ms`);
    await sleep(20);
  }
}

const percent = (share: number): string => `${(share * 100).toFixed(1)} %`;
const liveShare = (c: LiveCount): number => (c.units === 0 ? 0 : c.offline / c.units);

/** The markdown table the README quotes. */
export function tableOf(rows: readonly Row[]): string {
  const lines = [
    '| N | OpenIM 3.5.1 offline, steady | OpenIM offline after scale to N+3 | imring offline, steady | imring offline during/after scale | imring misroutes | users moved (4001) | (message, user) units counted, OpenIM / imring |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const [steady, afterScale] = row.openim;
    const [live, scale] = row.imring;
    const openimUnits = row.openim.slice(0, 2).reduce((s, c) => s + c.units, 0);
    const imringUnits = row.imring.reduce((s, c) => s + c.units, 0);
    lines.push(
      `| ${row.n} | ${percent(steady!.share)} | ${percent(afterScale!.share)} | ${percent(liveShare(live!))} | ${percent(liveShare(scale!))} | ${live!.misroutes + scale!.misroutes} | ${row.movedUsers} | ${openimUnits} / ${imringUnits} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
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
    rows.push({ n, openim, imringRule, ...(await imringLive(n, users, tokens)) });
  }
  process.stdout.write(`${tableOf(rows)}\n`);
  const misroutes = rows.reduce((s, r) => s + r.imring.reduce((m, c) => m + c.misroutes, 0), 0);
  const missing = rows.reduce((s, r) => s + r.imring.reduce((m, c) => m + c.missing, 0), 0);
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
