import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { nowNanos } from '../../kube/nano-clock.js';
import { CriLineEncoder, type LogStreamName } from './cri-log.js';

/**
 * One run of a container: a local process in its own process group (its own session, like a
 * container's PID namespace), stdin a pipe this process never writes (so a child that watches
 * stdin exits with us), stdout and stderr read by this process and appended to the log file as
 * CRI records, each line stamped with when it was read, as a container runtime's shim does.
 * Signals go to the whole group; when the leader exits the group is SIGKILLed, as the kernel
 * kills a PID namespace whose init exits, so no grandchild is left behind.
 */

/** How a run ended. */
export interface ExitStatus {
  /** The exit code, or 128 + the signal number when killed by a signal (as runtimes report it). */
  readonly exitCode: number;
  /** The signal number, when killed by one. */
  readonly signal?: number;
  readonly finishedAt: Date;
}

/** What to run. */
export interface ContainerProcessOptions {
  readonly argv: readonly string[];
  /** The whole environment (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** Appended to (CRI records, see cri-log.ts); created when missing. */
  readonly logFile: string;
  /** Told when output cannot be written to the log (it is then dropped). */
  readonly onLogError: (error: unknown) => void;
}

/** Output read but not yet written to the log beyond which reading pauses, in bytes. */
export const MAX_UNWRITTEN_LOG_BYTES = 1024 * 1024;

/** Longest wait after the process exits for its output pipes to close (a descendant may hold them), in ms. */
export const OUTPUT_DRAIN_MS = 2_000;

/** A started container process. */
export class ContainerProcess {
  readonly pid: number;
  readonly startedAt: Date;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  #status: ExitStatus | undefined;

  private constructor(child: ChildProcess, pid: number, logged: Promise<void>) {
    this.pid = pid;
    this.startedAt = new Date();
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        signalGroup(pid, 'SIGKILL');
        child.stdin?.destroy();
        const number = signal ? constants.signals[signal] : undefined;
        this.#status = {
          exitCode: number !== undefined ? 128 + number : (code ?? 0),
          ...(number !== undefined ? { signal: number } : {}),
          finishedAt: new Date(),
        };
        const drain = setTimeout(() => [child.stdout, child.stderr].forEach((s) => s?.destroy()), OUTPUT_DRAIN_MS);
        // Exited only once its last output is in the log, so a reader following it misses none.
        void logged.finally(() => {
          clearTimeout(drain);
          resolve(this.#status!);
        });
      });
    });
  }

  /**
   * Starts `argv`. @throws Error (with the spawn error as cause) when it cannot start, e.g. an
   * executable that does not exist.
   */
  static async start(options: ContainerProcessOptions): Promise<ContainerProcess> {
    const [command, ...args] = options.argv;
    if (command === undefined) throw new TypeError('argv must not be empty');
    const log = await open(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env: { ...options.env }, stdio: 'pipe', detached: true });
    } catch (error) {
      await log.close();
      throw new Error(`failed to start ${command}: ${(error as Error).message}`, { cause: error });
    }
    // The pipe is never written; a write error (EPIPE after exit) is not ours to report.
    child.stdin?.on('error', () => undefined);
    if (child.pid === undefined) {
      await log.close();
      const [error] = (await once(child, 'error')) as [Error];
      throw new Error(`failed to start ${command}: ${error.message}`, { cause: error });
    }
    return new ContainerProcess(child, child.pid, recordOutput(child, log, options.onLogError));
  }

  /** Whether the process is still running. */
  get running(): boolean {
    return this.#status === undefined;
  }

  /** Sends `signal` to the process group (no-op once exited). */
  signal(signal: NodeJS.Signals): void {
    if (this.#status === undefined) signalGroup(this.pid, signal);
  }

  /** SIGTERM, then SIGKILL after `graceMs` unless it has exited; resolves with how it ended. */
  async stop(graceMs: number): Promise<ExitStatus> {
    if (this.#status) return this.#status;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(
        () => {
          this.signal('SIGKILL');
          resolve();
        },
        Math.max(0, graceMs),
      );
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is already empty.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Appends the child's stdout and stderr to `log` as CRI records, in the order read; resolves
 * (and closes `log`) once both pipes have closed and everything read is written.
 */
function recordOutput(child: ChildProcess, log: FileHandle, onError: (error: unknown) => void): Promise<void> {
  const pipes: [LogStreamName, Readable][] = [
    ['stdout', child.stdout!],
    ['stderr', child.stderr!],
  ];
  let written: Promise<void> = Promise.resolve();
  let unwritten = 0;
  let failed = false;
  const append = (records: Buffer): void => {
    if (records.length === 0 || failed) return;
    unwritten += records.length;
    if (unwritten > MAX_UNWRITTEN_LOG_BYTES) for (const [, pipe] of pipes) pipe.pause();
    written = written
      .then(async () => {
        if (!failed) await log.write(records);
      })
      .catch((error: unknown) => {
        failed = true;
        onError(error);
      })
      .finally(() => {
        unwritten -= records.length;
        if (unwritten <= MAX_UNWRITTEN_LOG_BYTES) for (const [, pipe] of pipes) pipe.resume();
      });
  };
  const closed = pipes.map(([name, pipe]) => {
    const encoder = new CriLineEncoder(name);
    pipe.on('data', (chunk: Buffer) => append(encoder.encode(chunk, nowNanos())));
    return new Promise<void>((resolve) =>
      pipe.once('close', () => {
        append(encoder.flush(nowNanos()));
        resolve();
      }),
    );
  });
  return Promise.all(closed)
    .then(() => written)
    .finally(() => log.close().catch(onError));
}
