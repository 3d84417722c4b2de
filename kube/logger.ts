import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** `operator`, `gateway`, `proxy`, `push` (or any name): the `component` field of every line. */
  readonly component: string;
  /** pino level name. Default `process.env.LOG_LEVEL`, else `info`. */
  readonly level?: string;
  /** Where lines go. Default stdout. */
  readonly destination?: DestinationStream;
}

/**
 * The JSON logger of an imring process (operator or runtime): one line per record on stdout, with base fields
 * `component` and `pod` (`POD_NAME`, else the host name, which is the pod name in a pod).
 * @throws {TypeError} on an empty component; pino throws on an unknown level.
 */
export function createLogger(options: LoggerOptions): Logger {
  if (typeof options.component !== 'string' || options.component === '')
    throw new TypeError('component must be a non-empty string');
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const base = { component: options.component, pod: process.env.POD_NAME ?? hostname() };
  const settings = { level, base, timestamp: pino.stdTimeFunctions.isoTime };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
