import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRingDocument,
  parseRingDocument,
  RingErrorCode,
  Ring,
  serializeRingDocument,
  validateRingDocument,
  MAX_DOCUMENT_BYTES,
} from '../ring/index.js';
import { newMember, newMembers, sampleGateway } from './support/fixtures.js';
import { edited, sampleDocument } from './support/ring-edits.js';

test('a built document round-trips through serialize and parse', () => {
  const doc = sampleDocument();
  const parsed = parseRingDocument(serializeRingDocument(doc));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.document, doc);
  assert.equal(doc.format, 'imring.dev/ring/v1');
  assert.match(doc.checksum, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(doc.policy, { migrateRatePerSecond: 500, handoffWindowMs: 2000, moveDeadlineMs: 10_000 });
});

test('the builder writes members sorted, and the checksum ignores listing order', () => {
  const members = [newMember('im-2'), newMember('im-0'), newMember('im-1')];
  const doc = buildRingDocument({ gateway: sampleGateway, version: 1, state: 'Committed', members });
  assert.deepEqual(
    doc.members.map((m) => m.name),
    ['im-0', 'im-1', 'im-2'],
  );
  const reordered = buildRingDocument({
    gateway: sampleGateway,
    version: 1,
    state: 'Committed',
    members: [...members].reverse(),
  });
  assert.equal(reordered.checksum, doc.checksum);
});

test('the checksum covers members, host, ports, version and table size', () => {
  const base = sampleDocument().checksum;
  const variants = [
    buildRingDocument({
      gateway: sampleGateway,
      version: 8,
      state: 'Prepared',
      members: newMembers(3),
      previous: { version: 7, members: newMembers(2) },
    }),
    buildRingDocument({
      gateway: sampleGateway,
      version: 7,
      state: 'Prepared',
      members: newMembers(4),
      previous: { version: 6, members: newMembers(2) },
    }),
    buildRingDocument({
      gateway: sampleGateway,
      version: 7,
      state: 'Prepared',
      members: [...newMembers(2), newMember('im-2', { host: 'im-2.other' })],
      previous: { version: 6, members: newMembers(2) },
    }),
    buildRingDocument({
      gateway: sampleGateway,
      version: 7,
      state: 'Prepared',
      members: [...newMembers(2), newMember('im-2', { ports: { ws: 88, grpc: 10002 } })],
      previous: { version: 6, members: newMembers(2) },
    }),
    buildRingDocument({
      gateway: sampleGateway,
      version: 7,
      state: 'Prepared',
      members: newMembers(3),
      previous: { version: 6, members: newMembers(2) },
      tableSize: 65521,
    }),
  ];
  for (const v of variants) assert.notEqual(v.checksum, base);
});

test('the builder throws on input that no reader would accept', () => {
  assert.throws(
    () =>
      buildRingDocument({
        gateway: sampleGateway,
        version: 1,
        state: 'Committed',
        members: newMembers(2),
        tableSize: 65536,
      }),
    /tableSize/,
  );
  assert.throws(
    () => buildRingDocument({ gateway: sampleGateway, version: 0, state: 'Committed', members: [] }),
    /version/,
  );
  assert.throws(
    () => buildRingDocument({ gateway: sampleGateway, version: 1, state: 'Committed', members: [newMember('IM_0')] }),
    /DNS-1123/,
  );
});

const refusals: [string, string, string, string][] = [
  ['not JSON', '{"format":', RingErrorCode.InvalidJson, ''],
  ['an array', '[]', RingErrorCode.InvalidField, ''],
  ['null', 'null', RingErrorCode.InvalidField, ''],
  [
    'unknown format',
    edited((d) => {
      d.format = 'imring.dev/ring/v2';
    }),
    RingErrorCode.UnknownFormat,
    'format',
  ],
  [
    'missing format',
    edited((d) => {
      delete d.format;
    }),
    RingErrorCode.UnknownFormat,
    'format',
  ],
  [
    'unknown algorithm',
    edited((d) => {
      d.algorithm.name = 'ketama';
    }),
    RingErrorCode.UnknownAlgorithm,
    'algorithm.name',
  ],
  [
    'unknown hash',
    edited((d) => {
      d.algorithm.hash = 'crc32';
    }),
    RingErrorCode.UnknownAlgorithm,
    'algorithm.hash',
  ],
  [
    'non-prime table',
    edited((d) => {
      d.algorithm.tableSize = 65536;
    }),
    RingErrorCode.InvalidTableSize,
    'algorithm.tableSize',
  ],
  [
    'table too large',
    edited((d) => {
      d.algorithm.tableSize = 16777259;
    }),
    RingErrorCode.InvalidTableSize,
    'algorithm.tableSize',
  ],
  [
    'table not larger than members',
    edited((d) => {
      d.algorithm.tableSize = 3;
    }),
    RingErrorCode.InvalidTableSize,
    'algorithm.tableSize',
  ],
  [
    'table as text',
    edited((d) => {
      d.algorithm.tableSize = '65537';
    }),
    RingErrorCode.InvalidTableSize,
    'algorithm.tableSize',
  ],
  [
    'duplicate members',
    edited((d) => {
      d.members[2].name = 'im-0';
    }),
    RingErrorCode.DuplicateMember,
    'members[2].name',
  ],
  [
    'invalid member name',
    edited((d) => {
      d.members[1].name = 'Im_1';
    }),
    RingErrorCode.InvalidMemberName,
    'members[1].name',
  ],
  [
    'member name too long',
    edited((d) => {
      d.members[1].name = 'a'.repeat(64);
    }),
    RingErrorCode.InvalidMemberName,
    'members[1].name',
  ],
  [
    'host with a port',
    edited((d) => {
      d.members[0].host = 'im-0.im-headless:88';
    }),
    RingErrorCode.InvalidHost,
    'members[0].host',
  ],
  [
    'port out of range',
    edited((d) => {
      d.members[0].ports.ws = 70000;
    }),
    RingErrorCode.InvalidPort,
    'members[0].ports.ws',
  ],
  [
    'port not an integer',
    edited((d) => {
      d.members[2].ports.grpc = 10002.5;
    }),
    RingErrorCode.InvalidPort,
    'members[2].ports.grpc',
  ],
  [
    'members not a list',
    edited((d) => {
      d.members = {};
    }),
    RingErrorCode.InvalidField,
    'members',
  ],
  [
    'version zero',
    edited((d) => {
      d.version = 0;
    }),
    RingErrorCode.InvalidVersion,
    'version',
  ],
  [
    'version fractional',
    edited((d) => {
      d.version = 7.5;
    }),
    RingErrorCode.InvalidVersion,
    'version',
  ],
  [
    'version as text',
    edited((d) => {
      d.version = '7';
    }),
    RingErrorCode.InvalidVersion,
    'version',
  ],
  [
    'unknown state',
    edited((d) => {
      d.state = 'Draft';
    }),
    RingErrorCode.InvalidState,
    'state',
  ],
  [
    'previous of another version',
    edited((d) => {
      d.previous.version = 5;
    }),
    RingErrorCode.InvalidPrevious,
    'previous.version',
  ],
  [
    'previous missing after version 1',
    edited((d) => {
      d.previous = null;
    }),
    RingErrorCode.InvalidPrevious,
    'previous',
  ],
  [
    'previous at version 1',
    edited((d) => {
      d.version = 1;
      d.previous.version = 0;
    }),
    RingErrorCode.InvalidPrevious,
    'previous',
  ],
  [
    'previous with duplicates',
    edited((d) => {
      d.previous.members[1].name = 'im-0';
    }),
    RingErrorCode.DuplicateMember,
    'previous.members[1].name',
  ],
  [
    'wrong checksum',
    edited((d) => {
      d.checksum = `sha256:${'0'.repeat(64)}`;
    }),
    RingErrorCode.ChecksumMismatch,
    'checksum',
  ],
  [
    'members changed, checksum kept',
    edited((d) => {
      d.members.pop();
    }),
    RingErrorCode.ChecksumMismatch,
    'checksum',
  ],
  [
    'gateway missing',
    edited((d) => {
      delete d.gateway;
    }),
    RingErrorCode.InvalidField,
    'gateway',
  ],
  [
    'bad policy rate',
    edited((d) => {
      d.policy.migrateRatePerSecond = -1;
    }),
    RingErrorCode.InvalidField,
    'policy.migrateRatePerSecond',
  ],
  [
    'bad handoff window',
    edited((d) => {
      d.policy.handoffWindowMs = 1e9;
    }),
    RingErrorCode.InvalidField,
    'policy.handoffWindowMs',
  ],
  [
    'bad move deadline',
    edited((d) => {
      d.policy.moveDeadlineMs = '10s';
    }),
    RingErrorCode.InvalidField,
    'policy.moveDeadlineMs',
  ],
];

for (const [what, text, code, path] of refusals) {
  test(`a document with ${what} is refused with ${code} at "${path}"`, () => {
    const result = parseRingDocument(text);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, code);
    assert.equal(result.error.path, path);
    assert.ok(result.error.message.startsWith(path), result.error.message);
  });
}

test('a document over 1 MiB is refused before it is parsed', () => {
  const result = parseRingDocument(`"${'x'.repeat(MAX_DOCUMENT_BYTES)}"`);
  assert.ok(!result.ok && result.error.code === RingErrorCode.TooLarge);
});

test('validation never throws, whatever value it is given', () => {
  const values: unknown[] = [
    undefined,
    0,
    'x',
    [],
    { format: 'imring.dev/ring/v1' },
    { format: 'imring.dev/ring/v1', version: 1, algorithm: null },
  ];
  for (const v of values) assert.equal(validateRingDocument(v).ok, false);
  assert.equal(parseRingDocument(42 as unknown as string).ok, false);
});

test('a ring built from a parsed document keeps its version, state and previous', () => {
  const parsed = parseRingDocument(serializeRingDocument(sampleDocument()));
  assert.ok(parsed.ok);
  const ring = Ring.fromDocument(parsed.document);
  assert.equal(ring.version, 7);
  assert.equal(ring.state, 'Prepared');
  assert.equal(ring.document, parsed.document);
  assert.equal(ring.previous?.version, 6);
  assert.deepEqual(
    ring.previous?.members.map((m) => m.name),
    ['im-0', 'im-1'],
  );
});
