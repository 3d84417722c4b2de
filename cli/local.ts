import { parseArgs } from 'node:util';
import { LocalCluster } from '../local/cluster.js';
import { UsageError, write, type CliIo } from './io.js';

export const localHelp = `Usage: imring local [--state-dir DIR] [--port N]

Runs a local control plane on this machine: an in-memory Kubernetes API server (HTTPS on
127.0.0.1), the StatefulSet controller, the garbage collector, a DNS hosts file and a pod
runner that starts each pod as a local process on its own loopback address. kubectl works
against it through DIR/kubeconfig. Prints "imring local: ready" once everything is up; stops
everything, and every pod process, on SIGINT or SIGTERM.

Options:
  --state-dir DIR   kubeconfig, hosts file and pod logs (default .imring)
  --port N          API server port (default 0: any free port)
  -h, --help        show this help

Environment:
  IMRING_LOCAL_IMAGES  JSON object mapping more images to commands, e.g.
                       {"example/server": ["node", "server.js"]}; images named imring run
                       this project's CLI.`;

/** `imring local`: the local control plane, until a signal stops it. */
export async function local(args: string[], io: CliIo): Promise<number> {
  const options = parseLocalArgs(args);
  if (options.help) {
    await write(io.stdout, `${localHelp}\n`);
    return 0;
  }
  const cluster = new LocalCluster({
    stateDir: options.stateDir,
    port: options.port,
    onError: (component, error) => io.stderr.write(`imring local: ${component}: ${describe(error)}\n`),
  });
  // Listen before starting: a signal during start-up must still stop every pod process.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  try {
    await cluster.start();
    await write(io.stdout, readyText(cluster));
    io.stderr.write(`imring local: ${await stopped}: stopping\n`);
  } finally {
    await cluster.close();
  }
  io.stderr.write('imring local: stopped\n');
  return 0;
}

function parseLocalArgs(args: string[]): { stateDir: string; port: number; help: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        'state-dir': { type: 'string', default: '.imring' },
        port: { type: 'string', default: '0' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer from 0 to 65535, got "${values.port}"`);
  return { stateDir: values['state-dir'], port, help: values.help };
}

function readyText(cluster: LocalCluster): string {
  const kubectl = `kubectl --kubeconfig ${cluster.kubeconfigPath}`;
  return [
    'imring local: ready',
    `  API server   ${cluster.server.url}`,
    `  kubeconfig   ${cluster.kubeconfigPath}`,
    `  hosts file   ${cluster.hostsFile}`,
    `  pod logs     ${cluster.stateDir}/logs`,
    '',
    'Try:',
    `  ${kubectl} get namespaces`,
    `  ${kubectl} apply -f <statefulset.yaml>`,
    `  ${kubectl} scale sts/<name> --replicas=3`,
    `  ${kubectl} get pods -o wide`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n');
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
