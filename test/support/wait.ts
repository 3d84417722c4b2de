import { inspect } from 'node:util';
import { Watch, type KubeConfig } from '@kubernetes/client-node';

/** Tells a wait what its check saw: a wait that gives up says what it saw last. */
export type Observe = (state: unknown) => void;

/** How long a wait may take, and what besides its watch may decide it. */
export interface WaitOptions {
  /** Longest wait, ms: a bound for a broken build, not a delay. Default 60,000. */
  readonly timeoutMs?: number;
  /** Subscribes `evaluate` to something else that can decide the outcome (a process exit); returns its remover. */
  readonly wake?: (evaluate: () => void) => () => void;
}

/**
 * Resolves with the first non-undefined result of `check`, evaluated now and after every watch
 * event on `path` (e.g. `/api/v1/namespaces/default/pods`): waits on the API's own events,
 * never on a timer. `check` may `observe` what it saw, for the message of a wait that gives up.
 * It fails at once when `check` throws (a check that can tell the condition will never hold
 * says so by throwing) and when the watch ends (nothing more would be seen), and after
 * `timeoutMs`. A number for `options` is its `timeoutMs`.
 */
export async function watchUntil<T>(
  kc: KubeConfig,
  path: string,
  check: (observe: Observe) => Promise<T | undefined>,
  options: number | WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 60_000, wake } = typeof options === 'number' ? { timeoutMs: options } : options;
  const seen = new Sightings();
  let settled = false;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unwake: (() => void) | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      const evaluate = serialEvaluation(
        () => seen.check(check),
        resolve,
        (error) => reject(asError(error)),
      );
      const giveUp = (why: string, cause?: unknown): void => {
        reject(new Error(`watchUntil ${path}: ${why}; ${seen.describe()}`, { cause }));
      };
      timer = setTimeout(() => giveUp(`not met within ${timeoutMs} ms`), timeoutMs);
      unwake = wake?.(() => void evaluate());
      void new Watch(kc)
        .watch(
          path,
          {},
          () => {
            seen.events++;
            void evaluate();
          },
          (error: unknown) => {
            if (settled) return;
            if (error) giveUp('the watch failed', error);
            // A last look at what the final events brought, then nothing more can be seen.
            else void evaluate().then(() => giveUp('the watch ended'));
          },
        )
        .then((c) => {
          controller = c;
          // Settled before the watch was open (woken by `wake`): nothing else would close it.
          if (settled) c.abort();
          else void evaluate();
        }, reject);
    });
  } finally {
    settled = true;
    clearTimeout(timer);
    unwake?.();
    controller?.abort();
  }
}

/**
 * Thrown by a check that can tell its condition will never hold (a process it needs exited, a
 * spec judged invalid): every wait fails at once with it, even one that retries failed checks.
 */
export class Unreachable extends Error {
  override readonly name = 'Unreachable';
}

/** What a wait's checks saw: how often they ran, on how many events, and the last state observed. */
class Sightings {
  events = 0;
  #checks = 0;
  #last: { state: unknown } | undefined;

  check<T>(check: (observe: Observe) => Promise<T | undefined>): Promise<T | undefined> {
    this.#checks++;
    return check((state) => (this.#last = { state }));
  }

  describe(): string {
    const counts = `${this.#checks} checks on ${this.events} watch events`;
    if (this.#last === undefined) return counts;
    const { state } = this.#last;
    const text = typeof state === 'string' ? state : inspect(state, { depth: 6, breakLength: Infinity });
    return `${counts}; last seen: ${text}`;
  }
}

/**
 * Runs `check` one call at a time: a call asked for while one runs makes that one run again
 * when done (and returns when it is). `found` gets the first non-undefined result, `failed`
 * any error.
 */
export function serialEvaluation<T>(
  check: () => Promise<T | undefined>,
  found: (value: T) => void,
  failed: (error: unknown) => void,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const loop = async (): Promise<void> => {
    try {
      do {
        again = false;
        const value = await check();
        if (value !== undefined) return found(value);
      } while (again);
    } catch (error) {
      failed(error);
    } finally {
      running = undefined;
    }
  };
  return () => {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = loop();
    return running;
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** True when no process has `pid` (it exited and was reaped). */
export function isGone(pid: number): boolean {
  return !isAlive(pid);
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}
