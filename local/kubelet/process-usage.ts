/** What a container's processes use, read from /proc (Linux). */
import { readdir, readFile } from 'node:fs/promises';

/** Cumulative CPU time and resident memory of one container's processes. */
export interface ProcessUsage {
  /** User and system CPU time of the live processes and of their reaped children, in ns. */
  readonly cpuNanoseconds: number;
  /** Resident set size of the live processes, in bytes. */
  readonly memoryBytes: number;
}

/**
 * `/proc/<pid>/stat` counts CPU time in clock ticks of USER_HZ, which Linux fixes at 100 per
 * second for user space on every architecture Node runs on.
 */
const NS_PER_TICK = 10_000_000;

/** Fields of /proc/<pid>/stat after the `(comm)` field, 0-based: state is field 3 of proc(5). */
const STAT = { session: 3, utime: 11, stime: 12, cutime: 13, cstime: 14 } as const;

/**
 * The usage of each container whose process leads a session (the kubelet starts containers
 * detached: each is a session and process-group leader), summed over every process of that
 * session, so a shell's children count for its container. Leaders without live processes are
 * left out.
 */
export async function sessionUsage(leaders: readonly number[]): Promise<Map<number, ProcessUsage>> {
  const wanted = new Set(leaders);
  const totals = new Map<number, { ticks: number; members: number[] }>();
  if (wanted.size === 0) return new Map();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = await statFields(entry);
    const session = Number(fields?.[STAT.session]);
    if (!fields || !wanted.has(session)) continue;
    const total = totals.get(session) ?? { ticks: 0, members: [] };
    total.ticks += [STAT.utime, STAT.stime, STAT.cutime, STAT.cstime].reduce((s, i) => s + Number(fields[i]), 0);
    total.members.push(Number(entry));
    totals.set(session, total);
  }
  const usage = new Map<number, ProcessUsage>();
  for (const [session, total] of totals) {
    const rss = await Promise.all(total.members.map(residentBytes));
    usage.set(session, {
      cpuNanoseconds: total.ticks * NS_PER_TICK,
      memoryBytes: rss.reduce((s, b) => s + b, 0),
    });
  }
  return usage;
}

/** The fields of /proc/<pid>/stat after `(comm)`, which may hold spaces; undefined once the process is gone. */
async function statFields(pid: string): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return text
    .slice(text.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
}

/** VmRSS of /proc/<pid>/status in bytes; 0 for a process gone or without memory (a zombie). */
async function residentBytes(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(text)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}
