import { readFile } from 'node:fs/promises';
import { parseRingDocument, Ring } from '../ring/index.js';
import { CLUSTER_HELP, CLUSTER_OPTIONS, connect } from './cluster.js';
import { lines, NotFoundError, parseCommandArgs, readAll, UsageError, write, type CliIo } from './io.js';
import { observeRing } from './status-view.js';

export const routeHelp = `Usage: imring route --gateway NAME [-n NS] [--kubeconfig FILE] [--stats] [userID...]
       imring route --ring FILE [--stats] [userID...]

Prints the gateway that owns each user, one line per user. With --gateway, by the live ring
(the ConfigMap <NAME>-ring, read through the Kubernetes API):
  <userID><TAB><owner><TAB><host>:<ws port>[<TAB>(previous: <owner in previous>)]
the last field when the ring has a previous version (during a transition). With --ring, by a
ring document:
  <userID><TAB><owner>
The owner is "-" when the ring has no members. User IDs come from the arguments or, when
none are given, one per line on stdin (empty lines are skipped). Keys are used exactly as
given: no trimming, no case folding.

Options:
  --gateway NAME        the IMGateway whose live ring to read
${CLUSTER_HELP}
  --ring FILE           a ring document instead (the "ring.json" of a <gateway>-ring ConfigMap);
                        "-" for stdin
  --stats               print each member's share of the table instead:
                        <member><TAB><entries><TAB><share>
  -h, --help            show this help

Exit status: 0 on success; 1 when the live ring ConfigMap is not found, holds an invalid
document, or the cluster cannot be read; 2 on bad usage, an unreadable file or an invalid
document file.`;

/** User IDs answered per write: large enough to amortise the write, small enough to stream. */
const IDS_PER_WRITE = 4096;

/** How one user's line reads: `<userID><TAB><owner>…`, without the newline. */
type OwnerLine = (ring: Ring, id: string) => string;

/** `imring route`: who owns each user, by the live ring or a ring document. */
export async function route(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseRouteArgs(args);
  if (values.help) {
    await write(io.stdout, `${routeHelp}\n`);
    return 0;
  }
  const source = ringSource(values);
  const ring = source.live ? await loadLiveRing(values) : await loadRing(source.file, io);
  const line = source.live ? liveOwnerLine : fileOwnerLine;
  if (values.stats) {
    await printStats(ring, io);
  } else if (positionals.length > 0) {
    await write(io.stdout, ownerLines(ring, positionals, line));
  } else if (!source.live && source.file === '-') {
    throw new UsageError('user IDs must come from the arguments when the ring is read from stdin');
  } else {
    for await (const batch of lines(io.stdin)) await writeOwners(ring, batch, { io, line });
  }
  return 0;
}

type RouteValues = ReturnType<typeof parseRouteArgs>['values'];

/** Which ring to read: exactly one of --gateway and --ring; cluster flags only with --gateway. */
function ringSource(values: RouteValues): { live: true } | { live: false; file: string } {
  if (values.gateway !== undefined && values.ring !== undefined)
    throw new UsageError('--gateway and --ring exclude each other');
  if (values.ring !== undefined) {
    if (values.kubeconfig !== undefined || values.namespace !== undefined)
      throw new UsageError('--kubeconfig and --namespace need --gateway');
    return { live: false, file: values.ring };
  }
  if (!values.gateway) throw new UsageError('--gateway NAME (the live ring) or --ring FILE is required');
  return { live: true };
}

function parseRouteArgs(args: string[]) {
  return parseCommandArgs(args, {
    ...CLUSTER_OPTIONS,
    gateway: { type: 'string' },
    ring: { type: 'string' },
    stats: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
}

async function loadRing(file: string, io: CliIo): Promise<Ring> {
  let text: string;
  try {
    text = file === '-' ? await readAll(io.stdin) : await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ring file "${file}": ${(error as Error).message}`, { cause: error });
  }
  const parsed = parseRingDocument(text);
  if (!parsed.ok) throw new UsageError(`invalid ring document "${file}": ${parsed.error.message}`);
  return Ring.fromDocument(parsed.document);
}

/** Reads the ring ConfigMap of `--gateway` through the Kubernetes API. */
async function loadLiveRing(values: RouteValues): Promise<Ring> {
  const reader = connect(values);
  const gateway = values.gateway!;
  const configMap = await reader.ringConfigMap(gateway);
  const where = `namespace "${reader.namespace}"`;
  if (!configMap) throw new NotFoundError(`ring ConfigMap "${gateway}-ring" not found in ${where}`);
  const observed = observeRing(configMap.name, configMap.data);
  if (observed.kind === 'refused') {
    throw new NotFoundError(
      `ring ConfigMap "${configMap.name}" in ${where} holds no valid document: ${observed.error.code}: ${observed.error.message}`,
    );
  }
  return Ring.fromDocument(observed.document);
}

async function writeOwners(ring: Ring, ids: readonly string[], out: { io: CliIo; line: OwnerLine }): Promise<void> {
  const nonEmpty = ids.filter((id) => id !== '');
  for (let start = 0; start < nonEmpty.length; start += IDS_PER_WRITE) {
    await write(out.io.stdout, ownerLines(ring, nonEmpty.slice(start, start + IDS_PER_WRITE), out.line));
  }
}

function ownerLines(ring: Ring, ids: readonly string[], line: OwnerLine): string {
  let out = '';
  for (const id of ids) out += `${line(ring, id)}\n`;
  return out;
}

/** `--ring FILE`: `<userID><TAB><owner>`, as it always was. */
function fileOwnerLine(ring: Ring, id: string): string {
  return `${id}\t${ring.owner(id)?.name ?? '-'}`;
}

/** `--gateway NAME`: the owner, where to dial it, and its owner in `previous` when there is one. */
function liveOwnerLine(ring: Ring, id: string): string {
  const owner = ring.owner(id);
  const line = `${id}\t${owner ? `${owner.name}\t${owner.host}:${owner.ports.ws}` : '-\t-'}`;
  const previous = ring.previous;
  return previous ? `${line}\t(previous: ${previous.owner(id)?.name ?? '-'})` : line;
}

async function printStats(ring: Ring, io: CliIo): Promise<void> {
  const counts = ring.entryCounts();
  const rows = ring.members.map(
    (m, i) => `${m.name}\t${counts[i]}\t${((counts[i]! / ring.tableSize) * 100).toFixed(3)}%`,
  );
  await write(io.stdout, `member\tentries\tshare\n${rows.map((r) => `${r}\n`).join('')}`);
}
