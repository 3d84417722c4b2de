import { EXIT_NOT_FOUND, EXIT_USAGE, NotFoundError, UsageError, type CliIo, type Subcommand } from './io.js';

const usage = `Usage: imring <command> [options]

Commands:
  gateway   a gateway: holds client websockets, delivers messages (gRPC)
  proxy     routes client websockets to the gateway that owns the user
  push      delivers messages to users through their gateways (gRPC and HTTP)
  operator  the IMGateway operator: StatefulSets, the ring ConfigMap, the transition protocol
  local     imring on a local control plane (pods as processes), with demo traffic
  status    a gateway's ring: members, version, acknowledgements, misplaced connections
  route     which gateway owns each user, by the live ring or a ring document

Run "imring <command> --help" for a command's options.`;

/** Subcommands, loaded on demand so that one command does not pay for another's imports. */
const commands: Record<string, () => Promise<Subcommand>> = {
  gateway: async () => (await import('./gateway.js')).gateway,
  proxy: async () => (await import('./proxy.js')).proxy,
  push: async () => (await import('./push.js')).push,
  operator: async () => (await import('./operator.js')).operator,
  local: async () => (await import('./local.js')).local,
  status: async () => (await import('./status.js')).status,
  route: async () => (await import('./route.js')).route,
};

/**
 * Runs the `imring` command line. Usage errors print one line, `imring <command>: <reason>`,
 * and return 2; not-found errors print one line the same way and return 1; anything
 * unexpected propagates.
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
    return await (
      await load()
    )(args, io);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof NotFoundError)) throw error;
    io.stderr.write(`imring ${name}: ${error.message}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_NOT_FOUND;
  }
}
