/**
 * Runs each benchmarked component in its own child process (bench/lib/runtime-process.ts) and
 * reads its CPU and RSS over IPC. Every child is killed when the bench exits, fails or gets
 * SIGINT/SIGTERM; children also exit on their own when the IPC channel drops.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RingDocument } from '../../ring/index.js';
import type { DriveLoad, DriveTarget, DriveTotals } from './push-driver.js';
import type { ChildMessage, ComponentConfig, ParentMessage, ProcessStats } from './runtime-process.js';

const ENTRY = fileURLToPath(new URL('./runtime-process.js', import.meta.url));
/** How long a child may take to start listening, or to answer one IPC request, in ms. */
const START_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** How long a child may take to exit after `close`, in ms, before SIGKILL. */
const EXIT_TIMEOUT_MS = 3_000;

const live = new Set<ChildProcess>();

/** Extra node flags for every child (e.g. `--cpu-prof`); set once before spawning. */
export const childFlags: string[] = (process.env.BENCH_CHILD_FLAGS ?? '').split(' ').filter(Boolean);

/** One component in its own process. */
export class Component {
  readonly name: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly #child: ChildProcess;

  private constructor(name: string, child: ChildProcess, ports: Readonly<Record<string, number>>) {
    this.name = name;
    this.#child = child;
    this.ports = ports;
  }

  /** Forks `config` as `name` and resolves once it listens. */
  static async start(name: string, config: ComponentConfig): Promise<Component> {
    const child = fork(ENTRY, [JSON.stringify(config)], {
      execArgv: ['--expose-gc', ...childFlags],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const ready = await nextMessage(child, START_TIMEOUT_MS);
    if (ready.type !== 'ready') {
      child.kill('SIGKILL');
      throw new Error(`${name} did not start: ${ready.type === 'failed' ? ready.error : ready.type}`);
    }
    return new Component(name, child, ready.ports);
  }

  /** CPU (µs, cumulative) and RSS (bytes), and a gateway's counts; with `gc`, after two full collections. */
  async stats(gc = false): Promise<ProcessStats> {
    const answer = await this.#request({ type: 'stats', gc });
    if (answer.type !== 'stats') throw new Error(`${this.name}: unexpected ${answer.type}`);
    const { cpuUs, rss, loopMaxMs, gateway } = answer;
    return gateway === undefined ? { cpuUs, rss, loopMaxMs } : { cpuUs, rss, loopMaxMs, gateway };
  }

  async setRing(ring: RingDocument): Promise<void> {
    await this.#request({ type: 'ring', ring });
  }

  /** A `driver` child: starts driving `target` with `load`. */
  async drive(target: DriveTarget, load: DriveLoad): Promise<void> {
    await this.#request({ type: 'drive', target, load });
  }

  /** A `driver` child: stops issuing calls; resolves with the totals once the last call is answered. */
  async stopDriving(): Promise<DriveTotals> {
    const answer = await this.#request({ type: 'stop' });
    if (answer.type !== 'stopped') throw new Error(`${this.name}: unexpected ${answer.type}`);
    return answer.totals;
  }

  /** Asks the child to close and exit; kills it if it does not. Idempotent. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'close' } satisfies ParentMessage);
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  #request(message: ParentMessage): Promise<ChildMessage> {
    const answer = nextMessage(this.#child, REQUEST_TIMEOUT_MS);
    this.#child.send(message);
    return answer;
  }
}

/** The next IPC message of `child`; rejects when it exits first or stays silent `timeoutMs`. */
export function nextMessage<T = ChildMessage>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`child ${child.pid} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: T): void => finish(undefined, message);
    const onExit = (code: number | null): void => finish(new Error(`child ${child.pid} exited (${code})`));
    function finish(error: Error | undefined, message?: T): void {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Closes every component (in parallel). */
export async function closeAll(components: readonly (Component | undefined)[]): Promise<void> {
  await Promise.all(components.map((c) => c?.close() ?? Promise.resolve()));
}

/** Kills whatever child is still alive (the process-exit and signal path). */
export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

/** Installs the exit and signal handlers that kill the children; call once in main(). */
export function killChildrenOnExit(): void {
  process.once('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllChildren();
      process.exit(130);
    });
  }
}
