import type { KubeConfig } from '@kubernetes/client-node';
import { UsageError, write, type CliIo } from './io.js';
import { StatusServer } from './web/status-server.js';

/** Where `imring status --web` listens unless `--listen` says otherwise. */
export const DEFAULT_LISTEN = '127.0.0.1:8090';

/** `--listen HOST:PORT` (IPv6 hosts in brackets), checked; port 0 = any free one. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65_535)
    throw new UsageError(`--listen must be HOST:PORT (e.g. ${DEFAULT_LISTEN}, port 0 for any), got "${text}"`);
  return { host: match[1] ?? match[2]!, port };
}

/** What {@link serveStatusWeb} serves, and until when. */
export interface StatusWebOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly name: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** Resolves (with the signal's name) when the command is to stop. */
  readonly stopped: Promise<string>;
}

/** `imring status NAME --web`: serves the web view until `stopped`. */
export async function serveStatusWeb(options: StatusWebOptions, io: CliIo): Promise<number> {
  const server = new StatusServer({
    kc: options.kc,
    namespace: options.namespace,
    name: options.name,
    host: options.listen.host,
    port: options.listen.port,
  });
  try {
    const { url } = await server.start();
    await write(io.stdout, `serving ${url} (Ctrl-C to stop)\n`);
    const signal = await options.stopped;
    io.stderr.write(`imring status: ${signal}: stopping\n`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES')
      throw new UsageError(`cannot listen on ${options.listen.host}:${options.listen.port}: ${code}`, { cause: error });
    throw error;
  } finally {
    await server.close();
  }
  return 0;
}

/** Resolves with the name of the first of SIGINT and SIGTERM; `remove()` detaches the listeners. */
export function stopSignals(): { stopped: Promise<string>; remove: () => void } {
  let remove = (): void => undefined;
  const stopped = new Promise<string>((resolve) => {
    const onInt = (): void => resolve('SIGINT');
    const onTerm = (): void => resolve('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    remove = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
  });
  return { stopped, remove };
}
