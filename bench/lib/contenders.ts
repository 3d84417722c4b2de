/**
 * The three rings the ring benchmark compares, behind one interface: imring's Maglev ring,
 * the npm `hashring` package (default options) and the stathat/consistent ring of OpenIM 3.5.
 *
 * Each contender has its own lookup loop, so every timed call site sees one ring class only
 * (a shared loop over a callback would time a megamorphic call instead of the lookup).
 */
import HashRing from 'hashring';
import { Ring, movedEntries, type RingMember } from '../../ring/index.js';
import { StathatConsistent } from './stathat-consistent.js';
import { arcMovedFraction, arcShares, type Circle } from './arcs.js';
import { elapsedNs } from './measure.js';

export type ImplName = 'imring' | 'stathat' | 'hashring';

/** The port in the addresses OpenIM hashes (`im-3.im-headless.chat.svc.cluster.local:88`). */
export const ADDRESS_PORT = 88;

/** Sampled user IDs with their hashes under each baseline, computed once per run. */
export interface Sample {
  readonly keys: readonly string[];
  /** CRC32-IEEE of each key (stathat). */
  readonly crc32: Uint32Array;
  /** hashring's `hashValue` of each key (first 4 bytes of md5). */
  readonly md5: Uint32Array;
}

export interface Contender<R> {
  readonly impl: ImplName;
  /** How the report names it. */
  readonly label: string;
  /** imring's table size M; null for the point rings. */
  readonly tableSize: number | null;
  build(members: readonly RingMember[]): R;
  /** Nanoseconds per lookup, hashing included, over one pass of `keys`. */
  time(ring: R, keys: readonly string[]): number;
  /** Each member's exact share of the key space. */
  shares(ring: R, members: readonly RingMember[]): number[];
  /** Exact fraction of the key space whose owner differs. */
  movedExact(before: R, after: R): number;
  /** The owner identity of each sampled key. */
  owners(ring: R, sample: Sample): string[];
}

/** Results accumulate here so the JIT cannot drop a lookup whose result is unused. */
let sink = 0;

/** The accumulated lookup results (printed once, to keep them observable). */
export function sinkValue(): number {
  return sink;
}

/** The address a baseline hashes for a member (OpenIM hashes `host:port`). */
export function address(member: RingMember): string {
  return `${member.host}:${ADDRESS_PORT}`;
}

/** imring's ring with table size `tableSize`. */
export function imringContender(tableSize: number): Contender<Ring> {
  return {
    impl: 'imring',
    label: `imring M=${tableSize}`,
    tableSize,
    build: (members) => new Ring({ members, tableSize, version: 1 }),
    time: timeImring,
    shares: (ring) => ring.entryCounts().map((count) => count / ring.tableSize),
    movedExact: (before, after) => movedEntries(before, after) / before.tableSize,
    owners: (ring, sample) => sample.keys.map((key) => ring.owner(key)!.name),
  };
}

function timeImring(ring: Ring, keys: readonly string[]): number {
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < keys.length; i++) acc += ring.owner(keys[i]!)!.ports.ws;
  const ns = elapsedNs(start);
  sink += acc;
  return ns / keys.length;
}

/** OpenIM 3.5's ring: stathat/consistent v1.0.0 defaults over member addresses. */
export const stathatContender: Contender<StathatConsistent> = {
  impl: 'stathat',
  label: 'stathat (OpenIM 3.5)',
  tableSize: null,
  build: (members) => new StathatConsistent(members.map(address)),
  time: timeStathat,
  shares: (ring, members) => arcShares(stathatCircle(ring), members.map(address)),
  movedExact: (before, after) => arcMovedFraction(stathatCircle(before), stathatCircle(after)),
  owners: (ring, sample) => Array.from(sample.crc32, (hash) => ring.getByHash(hash)!),
};

// One timing loop per ring on purpose: a shared loop taking `get` as a callback would be a
// polymorphic call site in the measured loop, adding nanoseconds to one side only.
function timeStathat(ring: StathatConsistent, keys: readonly string[]): number {
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < keys.length; i++) acc += ring.get(keys[i]!)!.length;
  const ns = elapsedNs(start);
  sink += acc;
  return ns / keys.length;
}

function stathatCircle(ring: StathatConsistent): Circle {
  const { hashes, owners } = ring.points();
  return { points: hashes, owners: Array.from(owners, (index) => ring.elements[index]!) };
}

/** The npm `hashring` package with its default options, over member addresses. */
export const hashringContender: Contender<HashRing> = {
  impl: 'hashring',
  label: 'hashring',
  tableSize: null,
  build: (members) => new HashRing(members.map(address)),
  time: timeHashring,
  shares: (ring, members) => arcShares(hashringCircle(ring), members.map(address)),
  movedExact: (before, after) => arcMovedFraction(hashringCircle(before), hashringCircle(after)),
  // `get(key)` is `ring[find(hashValue(key))].server` behind an LRU cache that changes no owner.
  owners: (ring, sample) => Array.from(sample.md5, (hash) => ring.ring[ring.find(hash)]!.server),
};

function timeHashring(ring: HashRing, keys: readonly string[]): number {
  let acc = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < keys.length; i++) acc += ring.get(keys[i]!)!.length;
  const ns = elapsedNs(start);
  sink += acc;
  return ns / keys.length;
}

function hashringCircle(ring: HashRing): Circle {
  return { points: ring.ring.map((node) => node.value), owners: ring.ring.map((node) => node.server) };
}

/**
 * Throws unless the shortcuts `owners` takes (precomputed hashes) agree with each baseline's
 * public `get` on the first `count` sampled keys.
 */
export function checkSampleShortcuts(members: readonly RingMember[], sample: Sample, count: number): void {
  const hashring = hashringContender.build(members);
  const stathat = stathatContender.build(members);
  const keys = sample.keys.slice(0, count);
  const viaHash = { keys, crc32: sample.crc32.subarray(0, count), md5: sample.md5.subarray(0, count) };
  const hr = hashringContender.owners(hashring, viaHash);
  const st = stathatContender.owners(stathat, viaHash);
  keys.forEach((key, i) => {
    if (hashring.get(key) !== hr[i] || stathat.get(key) !== st[i]) {
      throw new Error(`sample shortcut disagrees with get() for key ${key}`);
    }
  });
}
