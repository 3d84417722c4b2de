import type { Readable, Writable } from 'node:stream';

/** The streams a subcommand talks to; tests pass their own. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** A subcommand: takes its arguments (after its name) and returns the process exit code. */
export type Subcommand = (args: string[], io: CliIo) => Promise<number>;

/** Exit code for bad usage or bad input (unreadable file, invalid document). */
export const EXIT_USAGE = 2;

/** Thrown by subcommands for errors the user can fix; printed as one line, exit code 2. */
export class UsageError extends Error {}

/** Writes `text`, waiting for `drain` when the stream's buffer is full (backpressure). */
export function write(stream: Writable, text: string): Promise<void> {
  if (stream.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      stream.off('drain', onDrain);
      reject(error);
    };
    stream.once('drain', onDrain);
    stream.once('error', onError);
  });
}

/**
 * Yields the lines of a text stream as they arrive, without their line ending (`\n` or
 * `\r\n`), holding at most one partial line in memory.
 */
export async function* lines(input: Readable): AsyncGenerator<string[]> {
  let rest = '';
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    yield parts.map(stripCr);
  }
  if (rest !== '') yield [stripCr(rest)];
}

/** Reads a whole stream as UTF-8 text. */
export async function readAll(input: Readable): Promise<string> {
  let text = '';
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) text += chunk;
  return text;
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
