/**
 * Ring benchmark: imring's Maglev ring against the npm `hashring` package (default options)
 * and the 20-point CRC32 ring of OpenIM 3.5 (Go's stathat/consistent v1.0.0), in one process,
 * over the same seeded user IDs.
 *
 * Usage: `node --expose-gc dist/bench/ring.js [--json]` (`npm run bench:ring`). Prints a
 * markdown table and PASS/FAIL lines on stdout, progress on stderr; with `--json`, the last
 * stdout line is one JSON object with every figure and check. Always exits 0.
 */
import { nextPrime, type RingMember } from '../ring/index.js';
import { randomUserIds } from '../test/support/random.js';
import { maxOverMean } from './lib/arcs.js';
import {
  checkSampleShortcuts,
  hashringContender,
  imringContender,
  sinkValue,
  stathatContender,
  type Contender,
  type ImplName,
  type Sample,
} from './lib/contenders.js';
import { buildMs, canMeasureMemory, median, progress, retainedBytes } from './lib/measure.js';
import { setFlagsFromString } from 'node:v8';
import { crc32 } from 'node:zlib';

const CONFIG = {
  sizes: [5, 50, 500, 1000],
  tableSize: 65537,
  /** The larger table whose keys-moved figures are reported at `largeTableN`. */
  largeTableSize: 655373,
  largeTableN: 500,
  seed: 0x5eed_1234,
  /** User IDs timed per lookup round (a prefix of the sampled keys). */
  lookupKeys: 200_000,
  /** Rounds per ring and N, interleaved across rings; the median is reported. */
  lookupRounds: 7,
  /** Sampled user IDs for keys moved: ideal add at N = 1000 is about 1000 keys. */
  sampledKeys: 1_000_000,
  buildRounds: 5,
  memorySamples: 5,
  /** Rings kept alive per memory sample; hashring above N = smallN keeps fewer (10 MB each). */
  memoryCopies: 8,
  memoryCopiesLarge: 2,
  smallN: 50,
  /** Keys compared between `get()` and the precomputed-hash shortcut, as a sanity check. */
  shortcutCheckKeys: 2000,
} as const;

const RETAINED_NOTE =
  `heap (code spaces excluded) + arrayBuffers per built ring, median of ${CONFIG.memorySamples} samples ` +
  `of ${CONFIG.memoryCopies} rings kept at once (hashring at N > ${CONFIG.smallN}: ${CONFIG.memoryCopiesLarge})`;

/** hashring's default points per server: 40 vnodes x 4 replicas. */
const HASHRING_POINTS = 160;

/** Limits of the issue; the bench reports them as PASS/FAIL but always exits 0. */
const LIMITS = {
  lookupNs: 150,
  speedupVsHashring: 30,
  balanceAt1000: 1.01,
  movedTimesIdeal: 1.3,
  buildMsAt1000: 25,
} as const;

interface Moved {
  /** Exact: imring from its table, baselines from arcs of the 2^32 circle; × ideal. */
  readonly exact: number;
  /** Share of sampled user IDs that moved; × ideal. */
  readonly sampled: number;
}

interface Figures {
  readonly impl: ImplName;
  readonly label: string;
  readonly n: number;
  /** imring's table size M; null for the point rings. */
  readonly tableSize: number | null;
  readonly lookupNs: number;
  readonly speedupVsHashring: number;
  readonly buildMs: number;
  readonly retainedBytes: number | null;
  /** max/mean of each member's exact share (table entries or arc lengths). */
  readonly balance: number;
  readonly moved: { readonly add: Moved; readonly remove: Moved; readonly removedMember: string };
}

type StaticFigures = Omit<Figures, 'lookupNs' | 'speedupVsHashring' | 'retainedBytes'>;

interface Prepared {
  readonly figures: StaticFigures;
  timeRound(keys: readonly string[]): number;
}

interface Scenario {
  readonly n: number;
  readonly base: readonly RingMember[];
  readonly added: readonly RingMember[];
  readonly removed: readonly RingMember[];
  readonly removedMember: string;
}

interface Check {
  readonly name: string;
  readonly pass: boolean;
  readonly value: number;
  readonly limit: string;
}

function member(i: number): RingMember {
  return { name: `im-${i}`, host: `im-${i}.im-headless.chat.svc.cluster.local`, ports: { ws: 10001, grpc: 10002 } };
}

/** N members; N + 1 (`im-N` added); N - 1 (the member at index floor(N/2) removed). */
function scenarioFor(n: number): Scenario {
  const all = Array.from({ length: n + 1 }, (_, i) => member(i));
  const base = all.slice(0, n);
  const gone = Math.floor(n / 2);
  return { n, base, added: all, removed: base.filter((_, i) => i !== gone), removedMember: member(gone).name };
}

function makeSample(): Sample {
  progress(`drawing ${CONFIG.sampledKeys} user IDs (seed ${CONFIG.seed})`);
  // Copied through bytes: a server decodes user IDs from bytes into flat strings, while the
  // template literals of randomUserIds build cons strings that every hash reads through.
  const keys = randomUserIds(CONFIG.sampledKeys, CONFIG.seed).map((id) => Buffer.from(id, 'utf8').toString('utf8'));
  progress('hashing them once for the baselines (CRC32, md5)');
  const hasher = hashringContender.build([member(0)]);
  const sample = {
    keys,
    crc32: Uint32Array.from(keys, (key) => crc32(key)),
    md5: Uint32Array.from(keys, (key) => hasher.hashValue(key)),
  };
  checkSampleShortcuts(scenarioFor(50).base, sample, CONFIG.shortcutCheckKeys);
  return sample;
}

/** The rings compared at `n`: imring (and at `largeTableN` also with the larger table), then the baselines. */
function contendersFor(n: number): readonly Contender<unknown>[] {
  const list: Contender<unknown>[] = [imringContender(CONFIG.tableSize), stathatContender, hashringContender];
  if (n === CONFIG.largeTableN) list.push(imringContender(CONFIG.largeTableSize));
  return list;
}

/** Bytes retained per ring, by `label@n`; measured first, while full collections are cheap. */
async function measureMemory(): Promise<Map<string, number | null>> {
  const memory = new Map<string, number | null>();
  for (const n of CONFIG.sizes) {
    progress(`N=${n}: retained memory`);
    const members = scenarioFor(n).base;
    for (const contender of contendersFor(n)) {
      memory.set(
        `${contender.label}@${n}`,
        await retainedBytes(() => contender.build(members), {
          samples: CONFIG.memorySamples,
          copies: contender.impl === 'hashring' && n > CONFIG.smallN ? CONFIG.memoryCopiesLarge : CONFIG.memoryCopies,
        }),
      );
    }
  }
  return memory;
}

function prepare<R>(contender: Contender<R>, scenario: Scenario, sample: Sample): Prepared {
  const build = (): R => contender.build(scenario.base);
  const time = buildMs(build, CONFIG.buildRounds);
  const base = build();
  const baseOwners = contender.owners(base, sample);
  const add = movedRatio(contender, base, contender.build(scenario.added), {
    baseOwners,
    sample,
    ideal: 1 / (scenario.n + 1),
  });
  const remove = movedRatio(contender, base, contender.build(scenario.removed), {
    baseOwners,
    sample,
    ideal: 1 / scenario.n,
  });
  const figures: StaticFigures = {
    impl: contender.impl,
    label: contender.label,
    n: scenario.n,
    tableSize: contender.tableSize,
    buildMs: time,
    balance: maxOverMean(contender.shares(base, scenario.base)),
    moved: { add, remove, removedMember: scenario.removedMember },
  };
  return { figures, timeRound: (keys) => contender.time(base, keys) };
}

interface MovedContext {
  readonly baseOwners: readonly string[];
  readonly sample: Sample;
  /** The fraction of keys an ideal ring moves. */
  readonly ideal: number;
}

function movedRatio<R>(contender: Contender<R>, before: R, after: R, context: MovedContext): Moved {
  const owners = contender.owners(after, context.sample);
  let moved = 0;
  for (let i = 0; i < owners.length; i++) if (owners[i] !== context.baseOwners[i]) moved++;
  return {
    exact: contender.movedExact(before, after) / context.ideal,
    sampled: moved / owners.length / context.ideal,
  };
}

/** Median ns per lookup of each prepared ring, rounds interleaved so noise hits all alike. */
function interleavedLookups(runs: readonly Prepared[], keys: readonly string[]): number[] {
  for (const run of runs) run.timeRound(keys.slice(0, 10_000)); // warm-up
  const rounds = runs.map((): number[] => []);
  for (let r = 0; r < CONFIG.lookupRounds; r++) {
    runs.forEach((run, i) => rounds[i]!.push(run.timeRound(keys)));
  }
  return rounds.map((times) => median(times));
}

function measureSize(n: number, sample: Sample, memory: ReadonlyMap<string, number | null>): Figures[] {
  const scenario = scenarioFor(n);
  const runs = contendersFor(n).map((contender) => {
    progress(`N=${n}: ${contender.label}: build time, balance, keys moved`);
    return prepare(contender, scenario, sample);
  });
  const lookupKeys = sample.keys.slice(0, CONFIG.lookupKeys);
  progress(`N=${n}: timing lookups (${CONFIG.lookupRounds} rounds x ${lookupKeys.length} keys, interleaved)`);
  const lookupNs = interleavedLookups(runs, lookupKeys);
  const hashringNs = lookupNs[runs.findIndex((run) => run.figures.impl === 'hashring')]!;
  return runs.map((run, i) => ({
    ...run.figures,
    lookupNs: lookupNs[i]!,
    speedupVsHashring: hashringNs / lookupNs[i]!,
    retainedBytes: memory.get(`${run.figures.label}@${n}`) ?? null,
  }));
}

function checks(results: readonly Figures[]): Check[] {
  const imring = results.filter((f) => f.impl === 'imring' && f.tableSize === CONFIG.tableSize);
  const out: Check[] = [];
  for (const f of imring) {
    out.push(check(`imring lookup <= ${LIMITS.lookupNs} ns at N=${f.n}`, f.lookupNs, LIMITS.lookupNs));
    out.push({
      name: `imring >= ${LIMITS.speedupVsHashring}x faster than hashring at N=${f.n}`,
      pass: f.speedupVsHashring >= LIMITS.speedupVsHashring,
      value: f.speedupVsHashring,
      limit: `>= ${LIMITS.speedupVsHashring}`,
    });
  }
  const at1000 = imring.find((f) => f.n === 1000);
  if (at1000) {
    out.push(
      check(
        `imring balance max/mean <= ${LIMITS.balanceAt1000} at N=1000, M=${CONFIG.tableSize}`,
        at1000.balance,
        LIMITS.balanceAt1000,
      ),
    );
    out.push(
      check(
        `imring build <= ${LIMITS.buildMsAt1000} ms at N=1000, M=${CONFIG.tableSize}`,
        at1000.buildMs,
        LIMITS.buildMsAt1000,
      ),
    );
  }
  // The issue requires <= 1.3x for N <= 50; at N = 500 (M = 655373) it asks for the figure,
  // which the moved-keys table reports: Maglev's movement grows with N at a fixed M/N.
  for (const f of imring.filter((x) => x.n <= 50)) {
    const where = `N=${f.n}, M=${f.tableSize ?? '-'}`;
    out.push(
      check(
        `imring keys moved on add <= ${LIMITS.movedTimesIdeal}x ideal at ${where}`,
        f.moved.add.exact,
        LIMITS.movedTimesIdeal,
      ),
    );
    out.push(
      check(
        `imring keys moved on remove <= ${LIMITS.movedTimesIdeal}x ideal at ${where}`,
        f.moved.remove.exact,
        LIMITS.movedTimesIdeal,
      ),
    );
  }
  return out;
}

function check(name: string, value: number, max: number): Check {
  return { name, pass: value <= max, value, limit: `<= ${max}` };
}

function markdown(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c < 2 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

function kib(bytes: number | null): string {
  return bytes === null ? 'n/a' : (bytes / 1024).toFixed(1);
}

function report(results: readonly Figures[], list: readonly Check[], notes: readonly string[]): string {
  const main = markdown(
    ['N', 'ring', 'lookup ns', 'hashring ns ÷ ns', 'build ms', 'retained KiB', 'balance max/mean'],
    results.map((f) => [
      String(f.n),
      f.label,
      f.lookupNs.toFixed(1),
      f.speedupVsHashring.toFixed(1),
      f.buildMs.toFixed(2),
      kib(f.retainedBytes),
      f.balance.toFixed(3),
    ]),
  );
  const moved = markdown(
    ['N', 'ring', 'add exact', 'add sampled', 'remove', 'remove exact', 'remove sampled'],
    results.map((f) => [
      String(f.n),
      f.label,
      f.moved.add.exact.toFixed(3),
      f.moved.add.sampled.toFixed(3),
      f.moved.removedMember,
      f.moved.remove.exact.toFixed(3),
      f.moved.remove.sampled.toFixed(3),
    ]),
  );
  return [
    `## Ring lookup, build, memory, balance (node ${process.version}, ${CONFIG.lookupKeys} user IDs x ${CONFIG.lookupRounds} rounds, median)`,
    '',
    main,
    '',
    `## Keys moved, as a multiple of the ideal (add im-N: 1/(N+1) of keys; remove: 1/N)`,
    '',
    moved,
    '',
    `Balance and "exact" moved figures are exact: imring from its table entries, stathat and hashring from`,
    `arc lengths on the 2^32 circle. "sampled" counts ${CONFIG.sampledKeys} seeded user IDs. Baselines hash`,
    `member addresses host:88; hashring uses its defaults (md5, 160 points per server, 5000-key LRU cache).`,
    `A removal's ideal assumes the removed member held 1/N: with unbalanced rings it may move less.`,
    `retained: ${canMeasureMemory() ? RETAINED_NOTE : 'n/a, run node with --expose-gc'}.`,
    ...notes,
    '',
    ...list.map((c) => `${c.pass ? 'PASS' : 'FAIL'} ${c.name} (${round(c.value)}, limit ${c.limit})`),
  ].join('\n');
}

/**
 * hashring gives each of n equal servers floor((1 / n) * 40 * n) vnodes in continuum(), which
 * float rounding makes 39 for some n (7, 49, ...): then every server loses points at once.
 * Observed on real rings, for the server counts this run builds.
 */
function hashringVnodeNotes(): string[] {
  const counts = [...new Set(CONFIG.sizes.flatMap((n) => [n - 1, n, n + 1]))];
  return counts.flatMap((n) => {
    const points = hashringContender.build(scenarioFor(n).base).size;
    return points === n * HASHRING_POINTS
      ? []
      : [
          `Note: hashring with ${n} servers builds ${points / n} points per server, not ${HASHRING_POINTS} ` +
            `(floor((1/${n})*40*${n}) rounds down in its continuum()), so every server loses points.`,
        ];
  });
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const json = process.argv.includes('--json');
  if (!canMeasureMemory()) progress('global.gc missing: retained memory is n/a (run node with --expose-gc)');
  if (nextPrime(CONFIG.largeTableSize) !== CONFIG.largeTableSize) throw new RangeError('largeTableSize must be prime');
  // Bytecode flushing of idle functions would count as negative retained memory.
  if (canMeasureMemory()) setFlagsFromString('--no-flush-bytecode');
  const memory = await measureMemory();
  const sample = makeSample();
  const results = CONFIG.sizes.flatMap((n) => measureSize(n, sample, memory));
  const list = checks(results);
  const notes = hashringVnodeNotes();
  process.stdout.write(`${report(results, list, notes)}\n`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  progress(`done in ${seconds.toFixed(1)} s (lookup checksum ${sinkValue()})`);
  if (json) {
    const summary = { config: CONFIG, limits: LIMITS, node: process.version, seconds, results, notes, checks: list };
    process.stdout.write(`${JSON.stringify({ ...summary, allPass: list.every((c) => c.pass) })}\n`);
  }
}

await main();
