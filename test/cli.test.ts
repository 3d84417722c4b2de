import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildRingDocument, Ring, serializeRingDocument } from '../ring/index.js';
import { runCli } from './support/cli.js';
import { newMembers, repoRoot, sampleGateway } from './support/fixtures.js';
import { randomUserIds } from './support/random.js';

const document = buildRingDocument({ gateway: sampleGateway, version: 1, state: 'Committed', members: newMembers(4) });
const ring = Ring.fromDocument(document);

async function withRingFile(text: string, body: (file: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-route-'));
  try {
    await writeFile(join(dir, 'ring.json'), text);
    await body(join(dir, 'ring.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('route prints <userID><TAB><owner> for each user ID argument', async () => {
  await withRingFile(serializeRingDocument(document), async (file) => {
    const result = await runCli(['route', '--ring', file, 'alice', 'Bob', '中文用户']);
    assert.equal(result.code, 0);
    const expected = ['alice', 'Bob', '中文用户'].map((id) => `${id}\t${ring.owner(id)!.name}\n`).join('');
    assert.equal(result.stdout, expected);
    assert.equal(result.stderr, '');
  });
});

test('route reads user IDs from stdin, one per line, CRLF or LF, skipping empty lines', async () => {
  const ids = randomUserIds(20_000, 21);
  await withRingFile(serializeRingDocument(document), async (file) => {
    const input = `${ids.slice(0, 10).join('\r\n')}\r\n\n${ids.slice(10).join('\n')}`;
    const result = await runCli(['route', '--ring', file], input);
    assert.equal(result.code, 0);
    const out = result.stdout.trimEnd().split('\n');
    assert.equal(out.length, ids.length);
    out.forEach((line, i) => assert.equal(line, `${ids[i]}\t${ring.owner(ids[i]!)!.name}`));
  });
});

test('route reads the ring from stdin with --ring -', async () => {
  const result = await runCli(['route', '--ring', '-', 'u1'], serializeRingDocument(document));
  assert.equal(result.stdout, `u1\t${ring.owner('u1')!.name}\n`);
});

test('route prints "-" as the owner when the ring has no members', async () => {
  const empty = buildRingDocument({ gateway: sampleGateway, version: 1, state: 'Committed', members: [] });
  const result = await runCli(['route', '--ring', '-', 'u1', 'u2'], serializeRingDocument(empty));
  assert.equal(result.stdout, 'u1\t-\nu2\t-\n');
});

test('route --stats prints each member with its table entries and share', async () => {
  const result = await runCli(['route', '--ring', '-', '--stats'], serializeRingDocument(document));
  const rows = result.stdout.trimEnd().split('\n');
  assert.equal(rows[0], 'member\tentries\tshare');
  const counts = ring.entryCounts();
  assert.deepEqual(
    rows.slice(1),
    ring.members.map((m, i) => `${m.name}\t${counts[i]}\t${((counts[i]! / 65537) * 100).toFixed(3)}%`),
  );
});

const failures: [string, string[], string, RegExp][] = [
  [
    'neither --gateway nor --ring',
    ['route', 'u1'],
    '',
    /^imring route: --gateway NAME \(the live ring\) or --ring FILE is required/,
  ],
  [
    'an unreadable file',
    ['route', '--ring', '/nonexistent/ring.json', 'u1'],
    '',
    /^imring route: cannot read ring file "\/nonexistent\/ring.json": ENOENT/,
  ],
  ['invalid JSON', ['route', '--ring', '-', 'u1'], '{', /^imring route: invalid ring document "-": not valid JSON/],
  [
    'a wrong checksum',
    ['route', '--ring', '-', 'u1'],
    serializeRingDocument({ ...document, checksum: 'sha256:00' }),
    /invalid ring document "-": checksum: is "sha256:00", computed sha256:/,
  ],
  ['an unknown option', ['route', '--frob'], '', /^imring route: Unknown option '--frob'/],
  [
    'ring and IDs both on stdin',
    ['route', '--ring', '-'],
    serializeRingDocument(document),
    /user IDs must come from the arguments/,
  ],
  ['an unknown command', ['frob'], '', /^imring: unknown command "frob"/],
];

for (const [what, argv, stdin, message] of failures) {
  test(`route with ${what} prints one clear line to stderr and exits 2`, async () => {
    const result = await runCli(argv, stdin);
    assert.equal(result.code, 2);
    assert.match(result.stderr, message);
    assert.equal(result.stdout, '');
  });
}

test('help is printed on request and exits 0', async () => {
  const result = await runCli(['route', '--help']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /^Usage: imring route --gateway NAME .*\n {7}imring route --ring FILE/);
  assert.equal((await runCli(['--help'])).code, 0);
  assert.equal((await runCli([])).code, 2);
});

test('the imring executable routes from a file and exits 2 on an invalid document', async () => {
  const run = promisify(execFile);
  const bin = join(repoRoot, 'dist/cli/imring.js');
  const ok = await run(process.execPath, [bin, 'route', '--ring', join(repoRoot, 'examples/ring.json'), 'alice']);
  assert.match(ok.stdout, /^alice\tim-\d\n$/);
  await withRingFile('{"format":"imring.dev/ring/v1"}', async (file) => {
    const failed = await run(process.execPath, [bin, 'route', '--ring', file, 'u1']).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    assert.ok('code' in failed);
    assert.equal(failed.code, 2);
    assert.match(
      failed.stderr,
      /^imring route: invalid ring document ".*": version: is missing, want a positive integer\n$/,
    );
  });
});

test('runtime commands refuse a missing gateway or token key before starting anything', async () => {
  const saved = { gateway: process.env.IMRING_GATEWAY, secret: process.env.IMRING_TOKEN_SECRET };
  delete process.env.IMRING_GATEWAY;
  delete process.env.IMRING_TOKEN_SECRET;
  try {
    const noGateway = await runCli(['push']);
    assert.deepEqual(
      [noGateway.code, noGateway.stderr],
      [2, 'imring push: --gateway (or IMRING_GATEWAY) is required\n'],
    );
    const noKey = await runCli(['gateway', '--gateway', 'im']);
    assert.deepEqual(
      [noKey.code, noKey.stderr],
      [2, 'imring gateway: --token-secret (or IMRING_TOKEN_SECRET) is required\n'],
    );
    const badPort = await runCli(['proxy', '--gateway', 'im', '--port', '70000']);
    assert.match(badPort.stderr, /--port must be a port from 0 to 65535, got "70000"/);
    for (const bad of ['-1', '1.5', 'lots']) {
      const badLimit = await runCli(['proxy', '--gateway', 'im', `--max-accepts-per-second=${bad}`]);
      assert.deepEqual(
        [badLimit.code, badLimit.stderr],
        [2, `imring proxy: --max-accepts-per-second must be a whole number (0: no limit), got "${bad}"\n`],
      );
    }
    const help = await runCli(['gateway', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--token-secret\s+HS256 key of client tokens .*\(env IMRING_TOKEN_SECRET\)/);
  } finally {
    if (saved.gateway !== undefined) process.env.IMRING_GATEWAY = saved.gateway;
    if (saved.secret !== undefined) process.env.IMRING_TOKEN_SECRET = saved.secret;
  }
});
