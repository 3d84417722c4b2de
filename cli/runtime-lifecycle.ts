import type { Logger } from 'pino';

/** Something a runtime command started and must stop, in reverse order of starting. */
export interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Runs until SIGINT or SIGTERM, then stops `parts` in reverse order (logging, never
 * throwing, for each). Handlers are attached before start-up finishes, so a signal during
 * start-up still stops whatever had started. `start` may also call `stop(reason, code)` (a
 * leader that lost its Lease must stop reconciling at once).
 * @returns the exit code: 0 after a signal, else the code given to `stop`.
 */
export async function runUntilSignal(
  logger: Logger,
  start: (parts: Stoppable[], stop: (reason: string, code: number) => void) => Promise<void>,
): Promise<number> {
  const parts: Stoppable[] = [];
  let exitCode = 0;
  let stop: (reason: string, code: number) => void = () => undefined;
  const stopped = new Promise<string>((resolve) => {
    stop = (reason, code) => {
      exitCode = Math.max(exitCode, code);
      resolve(reason);
    };
    process.once('SIGINT', () => stop('SIGINT', 0));
    process.once('SIGTERM', () => stop('SIGTERM', 0));
  });
  try {
    await Promise.race([start(parts, stop), stopped]);
    logger.info({ reason: await stopped }, 'stopping');
  } finally {
    for (const part of [...parts].reverse()) {
      try {
        await part.stop();
      } catch (error) {
        logger.error({ err: error, part: part.name }, 'error while stopping');
      }
    }
  }
  logger.info('stopped');
  return exitCode;
}
