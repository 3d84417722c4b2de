import { EXIT_USAGE, UsageError, type CliIo, type Subcommand } from './io.js';

const usage = `Usage: imring <command> [options]

Commands:
  local     run a local control plane (API server, controllers, pods as processes)
  route     which gateway owns each user, by a ring document

Run "imring <command> --help" for a command's options.`;

/** Subcommands, loaded on demand so that one command does not pay for another's imports. */
const commands: Record<string, () => Promise<Subcommand>> = {
  local: async () => (await import('./local.js')).local,
  route: async () => (await import('./route.js')).route,
};

/**
 * Runs the `imring` command line. Usage errors print one line, `imring <command>: <reason>`,
 * and return 2; anything unexpected propagates.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(`${usage}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!load) {
    io.stderr.write(`imring: unknown command "${name}"\n${usage}\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`imring ${name}: ${error.message}\n`);
    return EXIT_USAGE;
  }
}
