import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseRingDocument, Ring } from '../ring/index.js';
import { lines, readAll, UsageError, write, type CliIo } from './io.js';

export const routeHelp = `Usage: imring route --ring FILE [--stats] [userID...]

Prints the gateway that owns each user in a ring document, one line per user:
  <userID><TAB><owner>        (owner "-" when the ring has no members)
User IDs come from the arguments or, when none are given, one per line on stdin
(empty lines are skipped). Keys are used exactly as given: no trimming, no case folding.

Options:
  --ring FILE   the ring document (the "ring.json" of a <gateway>-ring ConfigMap); "-" for stdin
  --stats       print each member's share of the table instead: <member><TAB><entries><TAB><share>
  -h, --help    show this help

Exit status: 0 on success, 2 on bad usage, an unreadable file or an invalid document.`;

/** User IDs answered per write: large enough to amortise the write, small enough to stream. */
const IDS_PER_WRITE = 4096;

/** `imring route`: who owns each user, by a ring document. */
export async function route(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseRouteArgs(args);
  if (values.help) {
    await write(io.stdout, `${routeHelp}\n`);
    return 0;
  }
  if (values.ring === undefined) {
    throw new UsageError('--ring FILE is required (reading the live ring from a cluster arrives with the operator)');
  }
  const ring = await loadRing(values.ring, io);
  if (values.stats) {
    await printStats(ring, io);
  } else if (positionals.length > 0) {
    await write(io.stdout, ownerLines(ring, positionals));
  } else if (values.ring === '-') {
    throw new UsageError('user IDs must come from the arguments when the ring is read from stdin');
  } else {
    for await (const batch of lines(io.stdin)) await writeOwners(ring, batch, io);
  }
  return 0;
}

function parseRouteArgs(args: string[]): ReturnType<typeof parseArgsStrict> {
  try {
    return parseArgsStrict(args);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

function parseArgsStrict(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      ring: { type: 'string' },
      stats: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
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

async function writeOwners(ring: Ring, ids: readonly string[], io: CliIo): Promise<void> {
  const nonEmpty = ids.filter((id) => id !== '');
  for (let start = 0; start < nonEmpty.length; start += IDS_PER_WRITE) {
    await write(io.stdout, ownerLines(ring, nonEmpty.slice(start, start + IDS_PER_WRITE)));
  }
}

function ownerLines(ring: Ring, ids: readonly string[]): string {
  let out = '';
  for (const id of ids) {
    out += `${id}\t${ring.owner(id)?.name ?? '-'}\n`;
  }
  return out;
}

async function printStats(ring: Ring, io: CliIo): Promise<void> {
  const counts = ring.entryCounts();
  const rows = ring.members.map((m, i) => `${m.name}\t${counts[i]}\t${((counts[i]! / ring.tableSize) * 100).toFixed(3)}%`);
  await write(io.stdout, `member\tentries\tshare\n${rows.map((r) => `${r}\n`).join('')}`);
}
