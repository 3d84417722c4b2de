import type { Logger } from 'pino';

/** Something a runtime command started and must stop, in reverse order of starting. */
export interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Runs until SIGINT or SIGTERM, then stops `parts` in reverse order (logging, never
 * throwing, for each). Handlers are attached before start-up finishes, so a signal during
 * start-up still stops whatever had started.
 * @returns the exit code: 0.
 */
export async function runUntilSignal(logger: Logger, start: (parts: Stoppable[]) => Promise<void>): Promise<number> {
  const parts: Stoppable[] = [];
  const signalled = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  try {
    await Promise.race([start(parts), signalled]);
    logger.info({ signal: await signalled }, 'stopping');
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
  return 0;
}
