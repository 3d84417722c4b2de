import { ringConfigMapName } from '../ring/index.js';
import { CLUSTER_HELP, CLUSTER_OPTIONS, connect, kubeTarget, type ClusterReader } from './cluster.js';
import { DEFAULT_LISTEN, parseListen, serveStatusWeb, stopSignals } from './status-web.js';
import { EXIT_NOT_FOUND, NotFoundError, parseCommandArgs, UsageError, write, type CliIo } from './io.js';
import {
  formatStatus,
  formatSummary,
  observeRing,
  statusView,
  type IMGatewayObject,
  type StatusView,
} from './status-view.js';

export const statusHelp = `Usage: imring status [NAME] [options]
       imring status NAME --web [--listen HOST:PORT] [options]

Shows a gateway's ring as the cluster has it: the IMGateway's phase and conditions, the ring
ConfigMap <NAME>-ring (version, state, previous version, checksum, members with their share
of the table, connections and misplaced connections), which live runtimes acknowledged the
current version (by component, laggards named), ring errors reported on Leases, and the
total of misplaced connections. Without an IMGateway (or its CRD), what the ConfigMap says.
Without NAME: one line per IMGateway of the namespace (per ring ConfigMap without the CRD),
or the only one in detail.

With --web: serves a read-only page of gateway NAME that follows it live (the ring drawn as a
ring, members' shares, connections and readiness, version, state and checksum,
acknowledgements, the current transition as a timeline, recent Events, and a "where does
this user live" lookup), from watches of what status reads, until SIGINT or SIGTERM. Prints
"serving http://HOST:PORT/ (Ctrl-C to stop)".

Options:
${CLUSTER_HELP}
  -o, --output FORMAT   text (default) or json (without NAME: {"items": [...]})
  --web                 serve the live web view of NAME instead of printing
  --listen HOST:PORT    where --web listens (default ${DEFAULT_LISTEN}; port 0: any free port)
  -h, --help            show this help

Exit status: 0 when shown (a refused ring document is shown with its error code), 1 when the
gateway or its ring ConfigMap is not found or the cluster cannot be read, 2 on bad usage.`;

const FORMATS = ['text', 'json'] as const;
type Format = (typeof FORMATS)[number];

/** `imring status [NAME]`: a gateway's ring, its acknowledgements and misplaced connections. */
export async function status(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseStatusArgs(args);
  if (values.help) {
    await write(io.stdout, `${statusHelp}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`takes at most one gateway NAME, got ${positionals.length}`);
  if (values.listen !== undefined && !values.web) throw new UsageError('--listen needs --web');
  if (values.web) return web(values, positionals[0], io);
  const format = values.output as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`--output must be text or json, got "${values.output}"`);
  const reader = connect(values);
  const name = positionals[0];
  if (name !== undefined) return showOne(reader, name, format, io);
  return showAll(reader, format, io);
}

async function showOne(reader: ClusterReader, name: string, format: Format, io: CliIo): Promise<number> {
  const view = await observe(reader, name, await reader.imGateway(name));
  if (view.source === 'ConfigMap' && view.ring.status === 'missing') {
    throw new NotFoundError(
      `gateway "${name}" not found in namespace "${reader.namespace}" (no IMGateway, no ConfigMap ${ringConfigMapName(name)})`,
    );
  }
  await write(io.stdout, format === 'json' ? `${JSON.stringify(view, null, 2)}\n` : formatStatus(view));
  return view.ring.status === 'missing' ? EXIT_NOT_FOUND : 0;
}

async function showAll(reader: ClusterReader, format: Format, io: CliIo): Promise<number> {
  const gateways = await reader.imGateways();
  const names = gateways
    ? gateways.map((g) => g.metadata?.name ?? '').filter((n) => n !== '')
    : await reader.ringGateways();
  if (names.length === 0) {
    const what = gateways ? 'IMGateways' : 'ring ConfigMaps (and no IMGateway CRD)';
    throw new NotFoundError(`no ${what} in namespace "${reader.namespace}"`);
  }
  const byName = new Map((gateways ?? []).map((g) => [g.metadata?.name, g]));
  const views: StatusView[] = [];
  for (const name of names.sort()) views.push(await observe(reader, name, byName.get(name)));
  if (format === 'json') {
    await write(io.stdout, `${JSON.stringify({ items: views }, null, 2)}\n`);
  } else {
    await write(io.stdout, views.length === 1 ? formatStatus(views[0]!) : formatSummary(views));
  }
  return 0;
}

export async function observe(
  reader: ClusterReader,
  name: string,
  imGateway: IMGatewayObject | undefined,
): Promise<StatusView> {
  const [configMap, leases] = await Promise.all([reader.ringConfigMap(name), reader.leases(name)]);
  const configMapName = ringConfigMapName(name);
  const ring = configMap
    ? observeRing(configMapName, configMap.data)
    : { kind: 'missing' as const, configMap: configMapName };
  return statusView({ gateway: name, namespace: reader.namespace, imGateway, ring, leases, now: Date.now() });
}

async function web(values: StatusValues, name: string | undefined, io: CliIo): Promise<number> {
  if (name === undefined) throw new UsageError('--web needs a gateway NAME');
  const listen = parseListen(values.listen ?? DEFAULT_LISTEN);
  const { kc, namespace } = kubeTarget(values);
  const signals = stopSignals();
  try {
    return await serveStatusWeb({ kc, namespace, name, listen, stopped: signals.stopped }, io);
  } finally {
    signals.remove();
  }
}

type StatusValues = ReturnType<typeof parseStatusArgs>['values'];

function parseStatusArgs(args: string[]) {
  return parseCommandArgs(args, {
    ...CLUSTER_OPTIONS,
    output: { type: 'string', short: 'o', default: 'text' },
    web: { type: 'boolean', default: false },
    listen: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
}
