/**
 * The abusers of bench/abuse.ts, each a loop until stopped: a 5,000-connection flood at the
 * gateway, readers that never read, clients that never answer pings, frames over the limit and
 * bad tokens through the proxy. Every outcome is tallied (HTTP status or close code).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnsecuredJWT } from 'jose';
import {
  clientToken,
  destroyAll,
  flood,
  goodQuery,
  oversizeFrame,
  pushTo,
  refusedToken,
  silentClient,
  stalledReader,
} from '../../test/support/abuse.js';

/** Where the stack listens (127.0.0.1). */
export interface StackPorts {
  readonly proxy: number;
  readonly gateway: number;
  readonly push: number;
}

export type AbuseKind = 'flood' | 'stalled' | 'silent' | 'oversize' | 'badToken';

/** Per abuser: rounds run, and outcomes (`101`, `503`, `4008`, `1006`, …, `error`) counted. */
export type AbuseReport = Record<AbuseKind, { rounds: number; outcomes: Record<string, number> }>;

/** What the abusers do; sized from the stack's limits. */
export interface AbusePlan {
  readonly floodConnections: number;
  /** Where the flood goes: the proxy (the public entry) or straight at the gateway. */
  readonly floodTarget: 'proxy' | 'gateway';
  /** A flood round starts at most this often, ms: `floodConnections` at once, every period. */
  readonly floodPeriodMs: number;
  /** Bytes of each oversize frame (the gateway's maxPayloadBytes + 1). */
  readonly oversizeBytes: number;
  /** Payload of each message that fills a stalled reader (push's maxPayloadBytes). */
  readonly fillBytes: number;
  /** The abusers to run (default all). */
  readonly kinds?: readonly AbuseKind[];
}

const STALLED_ROUND_MS = 2000;

export const KINDS: readonly AbuseKind[] = ['flood', 'stalled', 'silent', 'oversize', 'badToken'];

/** Starts every abuser; `stop()` ends each after its current round and reports. */
export function startAbusers(ports: StackPorts, plan: AbusePlan): { stop(): Promise<AbuseReport> } {
  const report = Object.fromEntries(KINDS.map((k) => [k, { rounds: 0, outcomes: {} }])) as AbuseReport;
  let stopped = false;
  const url = (query: Record<string, string>): string =>
    `ws://127.0.0.1:${ports.proxy}/ws?${new URLSearchParams(query).toString()}`;
  const loop = async (kind: AbuseKind, round: (n: number) => Promise<(number | string)[]>): Promise<void> => {
    if (plan.kinds !== undefined && !plan.kinds.includes(kind)) return;
    for (let n = 0; !stopped; n++) {
      let outcomes: (number | string)[];
      try {
        outcomes = await round(n);
      } catch {
        outcomes = ['error'];
      }
      report[kind].rounds++;
      for (const outcome of outcomes) report[kind].outcomes[outcome] = (report[kind].outcomes[outcome] ?? 0) + 1;
    }
  };
  // Signed once: an attacker's CPU is not the stack's.
  const floodTargets = Promise.all(
    Array.from(
      { length: plan.floodConnections },
      async (_, i) => `/ws?${new URLSearchParams(await goodQuery(`flood-${i}`)).toString()}`,
    ),
  );
  const loops = [
    loop('flood', async () => {
      const started = performance.now();
      const outcomes = await floodRound(plan.floodTarget === 'proxy' ? ports.proxy : ports.gateway, await floodTargets);
      const rest = plan.floodPeriodMs - (performance.now() - started);
      if (rest > 0 && !stopped) await sleep(rest);
      return outcomes;
    }),
    loop('stalled', (n) => stalledRound(ports, url, n, plan.fillBytes)),
    loop('silent', async (n) => {
      const clients = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => silentClient(url(await goodQuery(`silent-${n}-${i}`)))),
      );
      return Promise.all(clients.map((c) => c.closed));
    }),
    ...Array.from({ length: 2 }, (_, worker) =>
      loop('oversize', async (n) => [
        await oversizeFrame(url(await goodQuery(`big-${worker}-${n}`)), plan.oversizeBytes),
      ]),
    ),
    ...Array.from({ length: 2 }, (_, worker) =>
      loop('badToken', async (n) => [
        await refusedToken(url({ userID: `mallory-${worker}`, platform: 'web', token: await badToken(n) })),
      ]),
    ),
  ];
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return report;
    },
  };
}

/** Opens every upgrade of `targets` at once at `port`, then drops the upgraded ones. */
async function floodRound(port: number, targets: readonly string[]): Promise<number[]> {
  const result = await flood(port, targets);
  await destroyAll(result.upgraded);
  return [...result.statuses].flatMap(([status, times]) => Array<number>(times).fill(status));
}

/**
 * A reader that stops reading, filled with `fillBytes` frames until the gateway cuts it off
 * (about 10 MiB: the kernel buffers on the way). One round every STALLED_ROUND_MS at most, so
 * the bulk filling (traffic the bench makes, not the reader) does not become the whole load.
 */
async function stalledRound(
  ports: StackPorts,
  url: (query: Record<string, string>) => string,
  n: number,
  fillBytes: number,
): Promise<number[]> {
  const users = [`stalled-${n}`];
  const readers = await Promise.all(users.map(async (user) => stalledReader(url(await goodQuery(user)), user)));
  const payload = 'f'.repeat(fillBytes);
  const started = performance.now();
  for (let i = 0; i < (64 * 1024 * 1024) / fillBytes; i++) {
    const statuses = await pushTo(ports.push, { msgID: `fill-${n}-${i}`, toUserIDs: users, payload });
    if (statuses.every((s) => s === 'offline')) break;
  }
  // Readers resume at once (else the ping deadline terminates them first: 1006).
  const codes = await Promise.all(readers.map((r) => r.resume()));
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, STALLED_ROUND_MS - (performance.now() - started))));
  return codes;
}

/** The bad tokens, in turn: missing, expired, forged, unsigned, another user's, not a JWT. */
async function badToken(n: number): Promise<string> {
  switch (n % 6) {
    case 0:
      return '';
    case 1:
      return clientToken('mallory', { expiresInSeconds: -60 });
    case 2:
      return clientToken('mallory', { secret: 'forged' });
    case 3:
      return new UnsecuredJWT({}).setSubject('mallory').setExpirationTime('10m').encode();
    case 4:
      return clientToken('alice');
    default:
      return 'not.a.jwt';
  }
}
