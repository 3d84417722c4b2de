import { UsageError } from './io.js';

/** Milliseconds per unit of Go's time.ParseDuration. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A duration in Go's time.ParseDuration syntax, the one kube-controller-manager's duration
 * flags take: numbers with a unit each (`ns`, `us`, `ms`, `s`, `m`, `h`), fractions allowed,
 * summed (`15s`, `500ms`, `1.5s`, `1m30s`), or a bare `0`. Pure.
 * @returns milliseconds, or undefined when `text` is not a duration (signs are refused too).
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const term = /(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  while (term.lastIndex < text.length) {
    const match = term.exec(text);
    if (match === null) return undefined;
    ms += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  // Rounded to the nanosecond, the unit's own precision: `2.2s` is 2200 ms, not 2200.0000000000005.
  return text === '' ? undefined : Math.round(ms * 1e6) / 1e6;
}

/** What a duration flag accepts besides a valid duration. */
export interface DurationFlagOptions {
  /** 0 is allowed (default: the duration must be more than 0). */
  readonly allowZero?: boolean;
  /** Only whole seconds, at least 1 s: the flag sets an integer field in seconds. */
  readonly wholeSeconds?: boolean;
}

/**
 * The value of duration flag `--<name>`, in milliseconds.
 * @throws {UsageError} naming the flag when `text` is not a duration or not one it accepts.
 */
export function durationFlag(name: string, text: string, options: DurationFlagOptions = {}): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--${name} must be a duration such as 15s, 1.5s or 500ms, got "${text}"`);
  if (options.wholeSeconds && (ms < 1000 || ms % 1000 !== 0)) {
    throw new UsageError(`--${name} must be whole seconds, at least 1s (a Lease counts in seconds), got "${text}"`);
  }
  if (ms === 0 && !options.allowZero) throw new UsageError(`--${name} must be more than 0, got "${text}"`);
  return ms;
}
