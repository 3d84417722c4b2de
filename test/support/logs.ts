import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';

/** A logger's lines as objects. */
export type LogLine = Record<string, unknown>;

/** Captured log lines of a pino logger (level `debug` and above), and a way to await one. */
export interface CapturedLogs {
  readonly logger: Logger;
  readonly lines: LogLine[];
  /** Resolves with the first line from now on that `match` accepts. */
  readonly next: (match: (line: LogLine) => boolean) => Promise<LogLine>;
}

export function captureLogs(): CapturedLogs {
  const events = new EventEmitter();
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (text: string) => {
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        events.emit('line', line);
      },
    },
  );
  const next = (match: (line: LogLine) => boolean): Promise<LogLine> =>
    new Promise((resolve) => {
      const listener = (line: LogLine): void => {
        if (!match(line)) return;
        events.off('line', listener);
        resolve(line);
      };
      events.on('line', listener);
    });
  return { logger, lines, next };
}
