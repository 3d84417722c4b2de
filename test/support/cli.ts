import { PassThrough } from 'node:stream';
import { main } from '../../cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `imring <argv>` in this process with `stdin` as its input, capturing its output. */
export async function runCli(argv: string[], stdin = ''): Promise<CliResult> {
  const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  let stdout = '';
  let stderr = '';
  io.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  io.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  io.stdin.end(stdin);
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
