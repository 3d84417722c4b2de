import type { Readable, Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The `options` of `parseArgs` (not exported by @types/node). */
type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

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

/** Exit code when what was asked for is not there (no such gateway, no ring) or cannot be read. */
export const EXIT_NOT_FOUND = 1;

/**
 * Thrown by subcommands when the command line is right but the cluster cannot answer it: the
 * object does not exist, or the API server refused or could not be reached. Printed as one
 * line, exit code 1.
 */
export class NotFoundError extends Error {}

/** The options and positionals of a command line, as `parseArgs` types them. */
export type ParsedCommandArgs<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>
>;

/** `parseArgs`, strict, positionals allowed; an unknown or malformed option is a {@link UsageError}. */
export function parseCommandArgs<const T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
): ParsedCommandArgs<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

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
