import { test } from 'node:test';
import assert from 'node:assert/strict';
import { movedEntries, movedKeys, Ring, tableShares } from '../ring/index.js';
import { newMembers } from './support/fixtures.js';
import { randomUserIds, seededRandom, shuffled } from './support/random.js';

const M = 65537;

test('every member holds floor or ceil of M/N table entries', () => {
  for (const n of [1, 2, 3, 7, 50, 333, 1000]) {
    const counts = new Ring({ members: newMembers(n), tableSize: M }).entryCounts();
    const low = Math.floor(M / n);
    const high = Math.ceil(M / n);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      M,
    );
    for (const c of counts) assert.ok(c === low || c === high, `N=${n}: ${c} entries, want ${low} or ${high}`);
  }
});

test('the table does not depend on the order the members are listed in', () => {
  const random = seededRandom(7);
  for (const n of [2, 5, 40]) {
    const members = newMembers(n);
    const reference = new Ring({ members, tableSize: 4099 }).tableNames();
    for (let round = 0; round < 5; round++) {
      assert.deepEqual(new Ring({ members: shuffled(members, random), tableSize: 4099 }).tableNames(), reference);
    }
  }
});

test('adding or removing one member moves at most 1.3x the ideal share for N up to 50', () => {
  for (const n of [2, 5, 10, 25, 50]) {
    const base = new Ring({ members: newMembers(n), tableSize: M });
    const grown = new Ring({ members: newMembers(n + 1), tableSize: M });
    const addRatio = movedEntries(base, grown) / M / (1 / (n + 1));
    assert.ok(addRatio <= 1.3, `add at N=${n}: ${addRatio.toFixed(3)}x ideal`);
    const middle = Math.floor(n / 2);
    const shrunk = new Ring({ members: base.members.filter((_, i) => i !== middle), tableSize: M });
    const removeRatio = movedEntries(base, shrunk) / M / (1 / n);
    assert.ok(removeRatio <= 1.3, `remove at N=${n}: ${removeRatio.toFixed(3)}x ideal`);
  }
});

test('only keys of the removed member move when it is the only change, for a sample of users', () => {
  const base = new Ring({ members: newMembers(5), tableSize: M });
  const shrunk = new Ring({ members: base.members.filter((m) => m.name !== 'im-2'), tableSize: M });
  const moved = movedKeys(base, shrunk, randomUserIds(20_000, 11));
  const fromRemoved = moved.filter((k) => k.from === 'im-2').length;
  // Maglev trades a little stability for balance: a few other keys move, never most of them.
  assert.ok(fromRemoved > 0.15 * 20_000 && fromRemoved < 0.25 * 20_000, `${fromRemoved} keys left im-2`);
  assert.ok(moved.length - fromRemoved < 0.1 * fromRemoved, `${moved.length - fromRemoved} other keys moved`);
  for (const k of moved.filter((x) => x.from === 'im-2')) assert.notEqual(k.to, 'im-2');
});

test('sampled user IDs spread over members like the table shares', () => {
  const ring = new Ring({ members: newMembers(8), tableSize: M });
  const counts = new Map<string, number>();
  const users = randomUserIds(80_000, 3);
  for (const u of users) {
    const name = ring.owner(u)!.name;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, share] of tableShares(ring)) {
    const observed = (counts.get(name) ?? 0) / users.length;
    assert.ok(Math.abs(observed - share) < 0.01, `${name}: observed ${observed}, table ${share}`);
  }
});

test('the owner of a user is always a current member and is stable across rebuilds', () => {
  const members = newMembers(6);
  const a = new Ring({ members, tableSize: 1031 });
  const b = new Ring({ members, tableSize: 1031 });
  for (const u of randomUserIds(2000, 5)) {
    const owner = a.owner(u);
    assert.ok(owner && members.some((m) => m.name === owner.name));
    assert.equal(b.owner(u), b.member(owner.name));
  }
});
