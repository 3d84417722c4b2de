import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, type RingDocument } from '../ring/index.js';
import { imring, members, withStatusClusters, type StatusServer } from './support/status-cluster.js';

/**
 * `imring route --gateway` end to end: the CLI in this process routes by the live ring ConfigMap
 * of a local API server, its previous ring included. `route --ring` (a file) is test/cli.test.ts's.
 */

let withCrd: StatusServer;
let transition: RingDocument;

withStatusClusters((clusters) => ({ withCrd, transition } = clusters));

test("route --gateway prints each user's owner, its ws address and its owner in previous", async () => {
  const ring = Ring.fromDocument(transition);
  const ids = ['u1', 'alice', '中文用户', ...Array.from({ length: 50 }, (_, i) => `user-${i}`)];
  const expected = ids
    .map((id) => {
      const owner = ring.owner(id)!;
      return `${id}\t${owner.name}\t${owner.host}:10001\t(previous: ${ring.previous!.owner(id)!.name})\n`;
    })
    .join('');
  const byArgs = await imring(withCrd, ['route', '--gateway', 'im', '-n', 'chat', ...ids]);
  assert.deepEqual(byArgs, { code: 0, stdout: expected, stderr: '' });
  assert.ok(
    ids.some((id) => ring.owner(id)!.name !== ring.previous!.owner(id)!.name),
    'some user moved between the versions',
  );
  const byStdin = await imring(withCrd, ['route', '--gateway', 'im', '-n', 'chat'], `${ids.join('\r\n')}\n\n`);
  assert.deepEqual(byStdin, { code: 0, stdout: expected, stderr: '' });
});

test('route --gateway without a previous ring prints no previous owner', async () => {
  const result = await imring(withCrd, ['route', '--gateway', 'other', '-n', 'chat', 'u1']);
  assert.deepEqual(result, { code: 0, stdout: `u1\tim-0\t${members[0]!.host}:10001\n`, stderr: '' });
});

test('route --gateway of a corrupt ring ConfigMap names the error and exits 1', async () => {
  const result = await imring(withCrd, ['route', '--gateway', 'corrupt', '-n', 'chat', 'u1']);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^imring route: ring ConfigMap "corrupt-ring" in namespace "chat" holds no valid document: IMRING_RING_INVALID_JSON: .*\n$/,
  );
});
