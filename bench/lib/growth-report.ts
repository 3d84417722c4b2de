/**
 * The growth bench's report: one row per figure, its value at each N with the factor from the
 * previous N, and the overall log-log slope (bench/lib/growth-fit.ts); with `--json`, every
 * figure as one JSON object on the last line.
 */
import { describeSlope, growthOf } from './growth-fit.js';
import type { RolloutFigures } from './growth-steps.js';

/** One transition (add or remove one member). */
export interface TransitionFigures {
  readonly ms: number;
  readonly operatorCpuMs: number;
  readonly operatorWrites: number;
  readonly barrierMs: number;
  readonly informerEvents: number;
  readonly virtualNodeCpuMs: number;
  readonly benchCpuMs: number;
}

/** Everything measured at one N. */
export interface SizeFigures {
  readonly n: number;
  readonly scaleMs: number;
  readonly add: TransitionFigures;
  readonly remove: TransitionFigures;
  readonly steady: {
    readonly seconds: number;
    readonly gatewayLeaseWritesPerSecond: number;
    readonly operatorWritesPerSecond: number;
    readonly leaderElectionWritesPerSecond: number;
    readonly otherWritesPerSecond: number;
    readonly operatorCpuMsPerSecond: number;
    readonly informerEventsPerSecond: number;
    /** `METHOD path` of each operator write in the window, its leader election's aside. */
    readonly operatorWrites: readonly string[];
  };
  readonly ringBytes: number;
  readonly operatorRssBytes: number;
  readonly operatorHeapUsedBytes: number;
  readonly runtimeRssBytes: number;
  readonly runtimeHeapUsedBytes: number;
  readonly virtualNodeRssBytes: number;
  readonly rollouts: readonly RolloutFigures[];
}

export interface ReportInput {
  readonly sizes: readonly number[];
  readonly figures: readonly SizeFigures[];
  readonly json: boolean;
  readonly leaseRenewSeconds: number;
  readonly steadySeconds: number;
}

const MIB = 1024 * 1024;

interface Row {
  readonly label: string;
  readonly values: readonly (number | undefined)[];
  readonly digits: number;
  /** Marks values that are extrapolated. */
  readonly marks?: readonly boolean[];
}

/** Prints the table (stdout) and, with `json`, the figures and fits on the last line. */
export function printReport(input: ReportInput): void {
  const rows = rowsOf(input.figures);
  const sizes = input.figures.map((f) => f.n);
  const header = `| figure | ${sizes.map((n) => `N=${n}`).join(' | ')} | slope (fit) |`;
  const lines = [header, `|---|${sizes.map(() => '---:|').join('')}---|`];
  const fits: Record<string, { slope: number | undefined; fit: string }> = {};
  for (const row of rows) {
    const growth = growthOf(sizes, row.values);
    const cells = row.values.map((v, i) => {
      const factor = growth.factors[i];
      const mark = row.marks?.[i] ? '*' : '';
      const value = v === undefined || Number.isNaN(v) ? 'n/a' : `${v.toFixed(row.digits)}${mark}`;
      return factor === undefined ? value : `${value} (×${factor.toFixed(2)})`;
    });
    const fit = describeSlope(growth.slope);
    fits[row.label] = { slope: growth.slope, fit };
    lines.push(`| ${row.label} | ${cells.join(' | ')} | ${growth.slope?.toFixed(2) ?? 'n/a'} (${fit}) |`);
  }
  lines.push('', '* extrapolated from the first batches (see the rollout rows).', '');
  process.stdout.write(`${lines.join('\n')}\n`);
  if (input.json) {
    const { leaseRenewSeconds, steadySeconds } = input;
    process.stdout.write(`${JSON.stringify({ leaseRenewSeconds, steadySeconds, figures: input.figures, fits })}\n`);
  }
}

function rowsOf(figures: readonly SizeFigures[]): Row[] {
  const row = (label: string, digits: number, pick: (f: SizeFigures) => number | undefined): Row => ({
    label,
    digits,
    values: figures.map(pick),
  });
  const transition = (name: 'add' | 'remove'): Row[] => [
    row(`${name} one: time to converged, ms`, 0, (f) => f[name].ms),
    row(`${name} one: barrier, ms`, 0, (f) => f[name].barrierMs),
    row(`${name} one: operator CPU, ms`, 0, (f) => f[name].operatorCpuMs),
    row(`${name} one: operator CPU per member, ms`, 2, (f) => f[name].operatorCpuMs / f.n),
    row(`${name} one: operator API writes`, 0, (f) => f[name].operatorWrites),
    row(`${name} one: operator informer events`, 0, (f) => f[name].informerEvents),
    row(`${name} one: simulated gateways' CPU, ms`, 0, (f) => f[name].virtualNodeCpuMs),
    // What one gateway spends on the transition: in parallel on a cluster, one after another here (two cores).
    row(`${name} one: CPU per simulated gateway, ms`, 2, (f) => f[name].virtualNodeCpuMs / f.n),
  ];
  return [
    ...transition('add'),
    ...transition('remove'),
    row('steady: gateway Lease writes/s', 1, (f) => f.steady.gatewayLeaseWritesPerSecond),
    row('steady: operator writes/s (leader election aside)', 2, (f) => f.steady.operatorWritesPerSecond),
    row('steady: operator leader-election writes/s', 2, (f) => f.steady.leaderElectionWritesPerSecond),
    row('steady: operator CPU, ms/s', 1, (f) => f.steady.operatorCpuMsPerSecond),
    row('steady: operator informer events/s', 1, (f) => f.steady.informerEventsPerSecond),
    row('ring document, KiB (limit 1,024)', 1, (f) => f.ringBytes / 1024),
    row('operator RSS, MiB', 1, (f) => f.operatorRssBytes / MIB),
    row('operator heap used, MiB', 1, (f) => f.operatorHeapUsedBytes / MIB),
    row('push (real runtime with the ring) RSS, MiB', 1, (f) => f.runtimeRssBytes / MIB),
    row('push heap used, MiB', 1, (f) => f.runtimeHeapUsedBytes / MIB),
    row('virtual node (all simulated gateways) RSS, MiB', 1, (f) => f.virtualNodeRssBytes / MIB),
    ...rolloutRows(figures),
  ];
}

function rolloutRows(figures: readonly SizeFigures[]): Row[] {
  const modes = figures[0]?.rollouts.map((r) => r.maxUnavailable) ?? [];
  return modes.flatMap((mode, i) => {
    const at = (f: SizeFigures): RolloutFigures | undefined => f.rollouts[i];
    return [
      {
        label: `rollout maxUnavailable ${mode}: members per batch`,
        digits: 0,
        values: figures.map((f) => at(f)?.perBatch),
      },
      {
        label: `rollout maxUnavailable ${mode}: ms per batch`,
        digits: 0,
        values: figures.map((f) => at(f)?.msPerBatch),
      },
      {
        label: `rollout maxUnavailable ${mode}: total, s`,
        digits: 1,
        values: figures.map((f) => (at(f) === undefined ? undefined : at(f)!.totalMs / 1000)),
        marks: figures.map((f) => at(f)?.extrapolated === true),
      },
      {
        label: `rollout maxUnavailable ${mode}: ring changes per measured batch`,
        digits: 1,
        values: figures.map((f) => (at(f) ? at(f)!.ringChanges / at(f)!.batchesMeasured : undefined)),
      },
      {
        label: `rollout maxUnavailable ${mode}: Events per measured batch`,
        digits: 1,
        values: figures.map((f) => (at(f) ? at(f)!.events / at(f)!.batchesMeasured : undefined)),
      },
    ];
  });
}
