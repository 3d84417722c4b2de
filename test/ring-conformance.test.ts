import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { murmur3, ringChecksum, Ring, type RingAlgorithm, type RingMember } from '../ring/index.js';
import { fixtureText } from './support/fixtures.js';

interface Vectors {
  hashes: { input: string; seed: number; hash: number }[];
  cases: {
    members: string[];
    tableSize: number;
    table?: string[];
    tableSha256: string;
    lookups: { key: string; owner: string | null }[];
  }[];
  documents: { version: number; algorithm: RingAlgorithm; members: RingMember[]; checksum: string }[];
}

const vectors = JSON.parse(fixtureText('ring-vectors.json')) as Vectors;

function ringOf(names: readonly string[], tableSize: number): Ring {
  return new Ring({
    tableSize,
    members: names.map((name) => ({ name, host: `${name}.test`, ports: { ws: 1, grpc: 2 } })),
  });
}

test('murmur3 reproduces the published values of RING-SPEC.md section 1', () => {
  assert.equal(murmur3('', 0), 0);
  assert.equal(murmur3('', 1), 0x514e28b7);
  assert.equal(murmur3('abc', 0), 0xb3dd93fa);
  assert.equal(murmur3('Hello, world!', 0x9747b28c), 0x24884cba);
});

test('murmur3 reproduces every hash vector, including multi-byte UTF-8 keys', () => {
  assert.ok(vectors.hashes.length >= 30);
  for (const v of vectors.hashes) {
    assert.equal(murmur3(v.input, v.seed), v.hash, `h(${JSON.stringify(v.input)}, ${v.seed})`);
  }
});

test('every case builds the same table, table digest and lookups as the vectors', () => {
  assert.equal(vectors.cases.length, 8);
  for (const c of vectors.cases) {
    const ring = ringOf(c.members, c.tableSize);
    // RING-SPEC.md leaves the digest of an empty ring open; the vectors write each empty
    // entry as the text `undefined` (how the generator rendered a missing member).
    const names = c.members.length > 0 ? ring.tableNames() : new Array<string>(c.tableSize).fill('undefined');
    const label = `${c.members.length} members, M=${c.tableSize}`;
    if (c.table) assert.deepEqual(names, c.table, label);
    const digest = createHash('sha256')
      .update(names.map((n) => `${n}\n`).join(''), 'utf8')
      .digest('hex');
    assert.equal(digest, c.tableSha256, label);
    for (const { key, owner } of c.lookups) {
      assert.equal(ring.owner(key)?.name ?? null, owner, `${label}: owner(${JSON.stringify(key)})`);
    }
  }
});

test('every document vector has the checksum RING-SPEC.md section 5 defines', () => {
  assert.equal(vectors.documents.length, 3);
  for (const d of vectors.documents) {
    assert.equal(ringChecksum(d.version, d.algorithm, d.members), d.checksum, `version ${d.version}`);
  }
});
