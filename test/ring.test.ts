import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareUtf8,
  isPrime,
  maglevTable,
  movedEntries,
  murmur3,
  murmur3Bytes,
  nextPrime,
  Ring,
  tableShares,
} from '../ring/index.js';
import { seededRandom } from './support/random.js';
import { newMember, newMembers } from './support/fixtures.js';

test('a ring with no members has no owner for any key', () => {
  const ring = new Ring({ members: [], tableSize: 13 });
  assert.equal(ring.owner('user-1'), undefined);
  assert.deepEqual(ring.entryCounts(), []);
  assert.deepEqual(ring.tableNames(), []);
  assert.equal(ring.shareOf('im-0'), 0);
});

test('owner() maps keys byte-for-byte: no trimming, no case folding', () => {
  const ring = new Ring({ members: newMembers(50), tableSize: 65537 });
  const variants = ['User-1', 'user-1', ' user-1', 'user-1 '];
  const owners = new Set(variants.map((v) => ring.owner(v)!.name));
  assert.ok(owners.size > 1, 'distinct spellings must be hashed as distinct keys');
});

test('members are sorted by UTF-8 bytes, whatever order they are given in', () => {
  const ring = new Ring({ members: [newMember('im-10'), newMember('im-2'), newMember('im-1')] });
  assert.deepEqual(
    ring.members.map((m) => m.name),
    ['im-1', 'im-10', 'im-2'],
  );
});

test('compareUtf8 orders by code point, unlike UTF-16 code units', () => {
  const astral = '\u{1F642}'; // U+1F642, UTF-8 F0 9F 99 82
  const bmp = '\uFF21'; // U+FF21, UTF-8 EF BC A1
  assert.ok(astral < bmp, 'UTF-16 puts the surrogate pair first');
  assert.ok(compareUtf8(astral, bmp) > 0, 'UTF-8 bytes put it last');
  assert.ok(compareUtf8('a', 'ab') < 0);
  assert.equal(compareUtf8('im-1', 'im-1'), 0);
  assert.ok(compareUtf8('im-2', 'im-10') > 0);
});

test('shareOf() gives each member its table share, and 0 for a stranger', () => {
  const ring = new Ring({ members: newMembers(4), tableSize: 13 });
  const total = ring.members.reduce((sum, m) => sum + ring.shareOf(m.name), 0);
  assert.ok(Math.abs(total - 1) < 1e-12);
  assert.equal(ring.shareOf('im-9'), 0);
  assert.deepEqual(
    [...tableShares(ring).values()],
    ring.members.map((m) => ring.shareOf(m.name)),
  );
});

test('previous is built on first use and maps by the previous members', () => {
  const ring = new Ring({ version: 2, members: newMembers(3), previous: { version: 1, members: newMembers(2) } });
  const previous = ring.previous!;
  assert.equal(previous.version, 1);
  assert.deepEqual(
    previous.members.map((m) => m.name),
    ['im-0', 'im-1'],
  );
  assert.equal(ring.previous, previous, 'built once');
  assert.equal(new Ring({ members: newMembers(1) }).previous, null);
});

test('maglevTable refuses an empty member list or a table not larger than it', () => {
  assert.throws(() => maglevTable([], 13), RangeError);
  assert.throws(() => maglevTable(['a', 'b', 'c'], 3), RangeError);
  assert.equal(maglevTable(['a', 'b'], 3).length, 3);
});

test('a member index that does not fit 16 bits gets a 32-bit table', () => {
  const names = Array.from({ length: 0xffff }, (_, i) => `m${i}`);
  const table = maglevTable(names, 65537);
  assert.ok(table instanceof Uint32Array);
  assert.ok(maglevTable(['a'], 13) instanceof Uint16Array);
});

test('movedEntries refuses rings of different table sizes', () => {
  assert.throws(
    () =>
      movedEntries(
        new Ring({ members: newMembers(2), tableSize: 13 }),
        new Ring({ members: newMembers(2), tableSize: 17 }),
      ),
    RangeError,
  );
});

test('isPrime and nextPrime', () => {
  const cases: [number, boolean][] = [
    [-7, false],
    [0, false],
    [1, false],
    [2, true],
    [3, true],
    [4, false],
    [13, true],
    [65537, true],
    [65535, false],
    [655373, true],
    [1.5, false],
    [Number.NaN, false],
  ];
  for (const [n, prime] of cases) assert.equal(isPrime(n), prime, String(n));
  assert.equal(nextPrime(65536), 65537);
  assert.equal(nextPrime(0), 2);
  assert.equal(nextPrime(650_000), 650_011);
});

test('murmur3 of a string equals murmur3 of its TextEncoder bytes, lone surrogates included', () => {
  const encoder = new TextEncoder();
  const random = seededRandom(99);
  const samples = ['', 'a', '\uD800', 'x\uDC00y', '\uD83D', '\uD83D\uDE42', 'ok\uFFFD'];
  for (let i = 0; i < 500; i++) {
    const length = Math.floor(random() * 12);
    samples.push(String.fromCharCode(...Array.from({ length }, () => Math.floor(random() * 0x10000))));
  }
  for (const s of samples) {
    const bytes = encoder.encode(s);
    assert.equal(murmur3(s, 0x9747b28c), murmur3Bytes(bytes, bytes.length, 0x9747b28c), JSON.stringify(s));
  }
  assert.equal(
    murmur3('x'.repeat(1000), 0),
    murmur3Bytes(encoder.encode('x'.repeat(1000)), 1000, 0),
    'keys longer than the scratch buffer',
  );
});
