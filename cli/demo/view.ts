/**
 * The live terminal view of `imring local`: the ring (from `imring status`), the demo
 * traffic's figures, the last events, and what to try. Pure formatting.
 */
import type { LedgerTotals } from './ledger.js';
import type { Rates } from './traffic.js';

export interface ViewInput {
  /** `imring status` text of the sample gateway. */
  readonly status: string;
  /** Undefined with --no-demo. */
  readonly traffic?: {
    readonly rates: Rates;
    readonly totals: LedgerTotals;
    readonly messages: number;
    readonly connected: number;
    readonly users: number;
    readonly pushErrors: number;
  };
  /** Newest last: `type reason: message`. */
  readonly events: readonly string[];
  readonly kubeconfig: string;
  readonly gateway: string;
  readonly elapsedSeconds: number;
}

/** Clears the screen and moves home (ANSI). */
export const CLEAR = '\u001b[2J\u001b[H';

export function formatView(input: ViewInput): string {
  const lines = [
    `imring local: up ${formatDuration(input.elapsedSeconds)}          (Ctrl-C stops everything)`,
    '',
    input.status.trimEnd(),
    '',
  ];
  if (input.traffic) lines.push(...trafficLines(input.traffic), '');
  lines.push(
    'Last events:',
    ...(input.events.length > 0 ? input.events.slice(-6).map((e) => `  ${e}`) : ['  (none yet)']),
    '',
  );
  const kubectl = `kubectl --kubeconfig ${input.kubeconfig}`;
  lines.push(
    'Try:',
    `  ${kubectl} scale imgw/${input.gateway} --replicas=5`,
    `  ${kubectl} get imgw,pods`,
    `  ${kubectl} describe imgw/${input.gateway}`,
  );
  return `${lines.join('\n')}\n`;
}

function trafficLines(t: NonNullable<ViewInput['traffic']>): string[] {
  const settled = t.totals;
  const share = settled.pairs > 0 ? (100 * settled.received) / settled.pairs : 0;
  const reasons = Object.entries(settled.offlineByReason)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    `Demo traffic: ${t.connected}/${t.users} users connected, ${t.messages} messages pushed`,
    `  now:      ${t.rates.realtimePerSecond.toFixed(0)} delivered realtime/s, ${t.rates.offlinePerSecond.toFixed(0)} offline/s`,
    `  settled:  ${settled.pairs} (message, user) pairs, ${share.toFixed(2)}% received in real time; offline ${settled.offline}${reasons ? ` (${reasons})` : ''}`,
    `  misrouted ${settled.misrouted}   lost ${settled.lost}   duplicates ${settled.duplicates}   push errors ${t.pushErrors}`,
    `  ${movesText(settled)} (now ${t.rates.movesPerSecond.toFixed(0)}/s)`,
  ];
}

/**
 * `moves: graceful N, deadline N, closed N`: clients moved make-before-break, moved clients the gateway closed at the
 * move deadline (forced), and plain clients closed with 4001/4002 (they reconnect).
 */
export function movesText(totals: Pick<LedgerTotals, 'moves'>): string {
  const { graceful, forced, closed } = totals.moves;
  return `moves: graceful ${graceful}, deadline ${forced}, closed ${closed}`;
}

function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}
