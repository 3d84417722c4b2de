/**
 * CPU time of local processes, read from /proc (Linux only): the scenario bench measures what
 * the pod processes of the local control plane (gateways, the proxy) spend in a window, those
 * that start or exit within it included.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How often a {@link CpuWindow} reads the processes, ms: a process that exits loses at most this much of its CPU. */
export const CPU_POLL_MS = 100;

/** Clock ticks per second of the times in /proc/<pid>/stat (`getconf CLK_TCK`, 100 on Linux). */
const TICKS_PER_SECOND = ticksPerSecond();

/** User + system CPU time of `pid` so far, ms; undefined when it is gone (or off Linux). */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (in parentheses, it may hold spaces): utime and stime are the 12th and 13th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The imring CLI subcommand `pid` runs (`gateway`, `proxy`, `push`, `operator`), or undefined. */
export function imringCommandOf(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const cli = argv.findIndex((arg) => arg.endsWith('imring.js'));
    return cli >= 0 ? argv[cli + 1] : undefined;
  } catch {
    return undefined;
  }
}

/** Options of {@link CpuWindow}. */
export interface CpuWindowOptions {
  /** The processes to watch now (asked at each poll). */
  readonly pids: () => readonly number[];
  /** The group a process counts in, or undefined to leave it out. */
  readonly groupOf: (pid: number) => string | undefined;
  /** Poll period, ms. Default {@link CPU_POLL_MS}. */
  readonly periodMs?: number;
}

/**
 * The CPU the watched processes spent from start() to stop(), by group: for each process, its
 * last reading minus its reading at start() (0 for one that started later). Polled, so a
 * process that exits in the window loses what it spent after its last poll.
 */
export class CpuWindow {
  readonly #options: CpuWindowOptions;
  /** pid → group, CPU at the start, CPU at the last poll (ms). */
  readonly #seen = new Map<number, { group: string; startMs: number; lastMs: number }>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;

  constructor(options: CpuWindowOptions) {
    this.#options = options;
  }

  start(): void {
    this.#started = false;
    this.#seen.clear();
    this.#poll();
    this.#started = true;
    this.#timer = setInterval(() => this.#poll(), this.#options.periodMs ?? CPU_POLL_MS);
  }

  /** Stops polling; the CPU spent in the window by group, ms. Idempotent (later calls read nothing more). */
  stop(): Record<string, number> {
    if (this.#timer !== undefined) this.#poll();
    clearInterval(this.#timer);
    this.#timer = undefined;
    const spent: Record<string, number> = {};
    for (const { group, startMs, lastMs } of this.#seen.values())
      spent[group] = (spent[group] ?? 0) + (lastMs - startMs);
    return spent;
  }

  #poll(): void {
    for (const pid of this.#options.pids()) {
      const cpuMs = processCpuMs(pid);
      if (cpuMs === undefined) continue;
      const known = this.#seen.get(pid);
      if (known) {
        known.lastMs = cpuMs;
        continue;
      }
      const group = this.#options.groupOf(pid);
      if (group !== undefined) this.#seen.set(pid, { group, startMs: this.#started ? 0 : cpuMs, lastMs: cpuMs });
    }
  }
}

function ticksPerSecond(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}
