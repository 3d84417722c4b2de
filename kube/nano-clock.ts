/**
 * Wall-clock time in nanoseconds, for what Kubernetes stamps finer than a millisecond: event
 * names (`<object>.<hex nanoseconds>`, as client-go names them) and container log lines
 * (RFC 3339 with nine fractional digits, as CRI log files carry them).
 */

/** The epoch in the high-resolution clock's terms: Date gives milliseconds, hrtime the rest. */
const ORIGIN_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();

let last = 0n;

/** Nanoseconds since the Unix epoch, strictly increasing within this process (so names made from it never repeat). */
export function nowNanos(): bigint {
  const now = ORIGIN_NS + process.hrtime.bigint();
  last = now > last ? now : last + 1n;
  return last;
}

/** `nanos` as RFC 3339 in UTC with exactly nine fractional digits (Go's RFC3339NanoFixed). */
export function rfc3339Nano(nanos: bigint): string {
  const ms = nanos / 1_000_000n;
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${fraction}Z`;
}

/** Parses an RFC 3339 time (any fraction, any offset) into nanoseconds; undefined when it is not one. */
export function parseRfc3339Nanos(text: string): bigint | undefined {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(text);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1]}${match[3]!.toUpperCase()}`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
