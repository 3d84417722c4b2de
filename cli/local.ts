import { parseArgs } from 'node:util';
import { LocalCluster } from '../local/cluster.js';
import { UsageError, write, type CliIo } from './io.js';
import { DEMO_DEFAULTS, runDemo } from './local-demo.js';
import { IMRING_CLUSTER_OPTIONS } from './local-system.js';
import { LOCAL_WEB_PORT, startLocalWebView, type LocalWebView } from './local-web.js';

export const localHelp = `Usage: imring local [--state-dir DIR] [--port N] [--no-demo | --bare] [--users N] [--rate N]
                    [--plain PERCENT] [--summary-seconds N] [--web-port N]

Runs imring on this machine, on a local control plane: an in-memory Kubernetes API server
(HTTPS on 127.0.0.1), the StatefulSet controller, the garbage collector, a DNS hosts file and
a pod runner that starts each pod as a local process on its own loopback address. On it: the
IMGateway CRD, the operator, a proxy and a push (pods), and the sample IMGateway "demo" (3
gateways), with demo traffic (simulated users, a fifth of them on two platforms, whose clients
move make-before-break, and messages) and a live view refreshed every second. kubectl works against it through DIR/kubeconfig; DIR/env holds KUBECONFIG,
IMRING_PROXY_URL, IMRING_PUSH_URL, IMRING_TOKEN_SECRET and IMRING_WEB_URL for any other client.
The web view of the sample (as \`imring status demo --web\`, with the demo's delivery rates)
is served on 127.0.0.1. Prints "imring local: ready" and the web view's URL once the control
plane is up; stops everything, and every pod process, on SIGINT, SIGTERM or SIGHUP.

Options:
  --state-dir DIR   kubeconfig, env, hosts file and pod logs (default .imring)
  --port N          API server port (default 0: any free port)
  --nodes N         Nodes local-1 … local-N, all of them this machine (default 3)
  --no-demo         everything but the traffic (the sample IMGateway is still applied)
  --bare            the control plane only: no imring, no sample, no traffic
  --users N         simulated users (default 200)
  --rate N          messages pushed per second (default 100)
  --plain PERCENT   share of the users whose clients do not opt in to graceful migration
                    (closed with 4001 and reconnecting, as before; default 0)
  --summary-seconds N
                    seconds between the summary lines printed when stdout is not a
                    terminal (default 5)
  --web-port N      port of the web view on 127.0.0.1 (default ${LOCAL_WEB_PORT}; 0: any free port; when
                    taken, any free port is used instead); not with --bare
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
    ...IMRING_CLUSTER_OPTIONS,
    // Nothing of imring in a bare cluster: kubectl goes to `default`, as on a fresh cluster.
    ...(options.mode === 'bare' ? { namespace: 'default' } : {}),
    stateDir: options.stateDir,
    port: options.port,
    nodes: options.nodes,
    onError: (component, error) => io.stderr.write(`imring local: ${component}: ${describe(error)}\n`),
  });
  // Listen before starting: a signal during start-up must still stop every pod process.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    // A closed terminal: pods run in their own process groups and would outlive us.
    process.once('SIGHUP', () => resolve('SIGHUP'));
  });
  let web: LocalWebView | undefined;
  try {
    await cluster.start();
    if (options.mode !== 'bare')
      web = await startLocalWebView(cluster.kc, options.webPort, (line) => io.stderr.write(`imring local: ${line}\n`));
    await write(io.stdout, readyText(cluster, web?.url));
    if (options.mode === 'bare') io.stderr.write(`imring local: ${await stopped}: stopping\n`);
    else {
      const traffic =
        options.mode === 'demo'
          ? { users: options.users, messagesPerSecond: options.rate, plainShare: options.plainPercent / 100 }
          : undefined;
      await runDemo({ cluster, io, stopped, traffic, summarySeconds: options.summarySeconds, web });
    }
  } finally {
    await web?.close();
    await cluster.close();
  }
  io.stderr.write('imring local: stopped\n');
  return 0;
}

interface LocalOptions {
  readonly stateDir: string;
  readonly port: number;
  readonly nodes: number;
  readonly help: boolean;
  readonly mode: 'demo' | 'no-demo' | 'bare';
  readonly users: number;
  readonly rate: number;
  /** Share of plain clients, %. */
  readonly plainPercent: number;
  readonly summarySeconds: number;
  readonly webPort: number;
}

function parseLocalArgs(args: string[]): LocalOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: {
        'state-dir': { type: 'string', default: '.imring' },
        port: { type: 'string', default: '0' },
        nodes: { type: 'string', default: '3' },
        'no-demo': { type: 'boolean', default: false },
        bare: { type: 'boolean', default: false },
        users: { type: 'string', default: '200' },
        rate: { type: 'string', default: '100' },
        plain: { type: 'string', default: '0' },
        'summary-seconds': { type: 'string', default: String(DEMO_DEFAULTS.summarySeconds) },
        'web-port': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const port = portNumber('--port', values.port);
  if (values['no-demo'] && values.bare) throw new UsageError('--no-demo and --bare exclude each other');
  if (values.bare && values['web-port'] !== undefined) throw new UsageError('--web-port and --bare exclude each other');
  const webPort = portNumber('--web-port', values['web-port'] ?? String(LOCAL_WEB_PORT));
  const nodes = positiveInteger('--nodes', values.nodes, 100);
  const users = positiveInteger('--users', values.users, 20_000);
  const rate = positiveInteger('--rate', values.rate, 20_000);
  const summarySeconds = positiveInteger('--summary-seconds', values['summary-seconds'], 3600);
  const plainPercent = Number(values.plain);
  if (!Number.isInteger(plainPercent) || plainPercent < 0 || plainPercent > 100)
    throw new UsageError(`--plain must be an integer from 0 to 100, got "${values.plain}"`);
  const mode = values.bare ? 'bare' : values['no-demo'] ? 'no-demo' : 'demo';
  return {
    stateDir: values['state-dir'],
    port,
    nodes,
    help: values.help,
    mode,
    users,
    rate,
    plainPercent,
    summarySeconds,
    webPort,
  };
}

function portNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`${flag} must be an integer from 0 to 65535, got "${value}"`);
  return n;
}

function positiveInteger(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be an integer from 1 to ${max}, got "${value}"`);
  return n;
}

function readyText(cluster: LocalCluster, webUrl: string | undefined): string {
  const kubectl = `kubectl --kubeconfig ${cluster.kubeconfigPath}`;
  return [
    'imring local: ready',
    `  API server   ${cluster.server.url}`,
    `  kubeconfig   ${cluster.kubeconfigPath}`,
    `  hosts file   ${cluster.hostsFile}`,
    `  pod logs     ${cluster.stateDir}/logs`,
    ...(webUrl ? [`  web view     ${webUrl}`] : []),
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
