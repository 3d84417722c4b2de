import { Watch, type KubeConfig } from '@kubernetes/client-node';

/**
 * Resolves with the first non-undefined result of `check`, evaluated now and after every watch
 * event on `path` (e.g. `/api/v1/namespaces/default/pods`): waits on the API's own events,
 * never on a timer. Rejects after `timeoutMs` (a bound for a broken build, not a delay).
 */
export async function watchUntil<T>(kc: KubeConfig, path: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      const evaluate = serialEvaluation(check, resolve, (error) => reject(asError(error)));
      timer = setTimeout(() => reject(new Error(`watchUntil ${path}: not met within ${timeoutMs} ms`)), timeoutMs);
      void new Watch(kc)
        .watch(path, {}, () => void evaluate(), (error: unknown) => {
          if (error) reject(asError(error));
        })
        .then((c) => {
          controller = c;
          void evaluate();
        }, reject);
    });
  } finally {
    clearTimeout(timer);
    controller?.abort();
  }
}

/**
 * Runs `check` one call at a time: a call asked for while one runs makes that one run again
 * when done. `found` gets the first non-undefined result, `failed` any error.
 */
export function serialEvaluation<T>(check: () => Promise<T | undefined>, found: (value: T) => void, failed: (error: unknown) => void): () => Promise<void> {
  let running = false;
  let again = false;
  return async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const value = await check();
        if (value !== undefined) return found(value);
      } while (again);
    } catch (error) {
      failed(error);
    } finally {
      running = false;
    }
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
