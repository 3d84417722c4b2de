import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CloseCodes, Ring } from '../../ring/index.js';
import { ImringClient } from '../../client/index.js';
import { startProxyFixture, userOwnedBy } from './proxy-support.js';
import { assertDelivers, nextMove, sendMigrate } from './client-support.js';

test('a client moved with 4001 after a ring change reconnects through the proxy to its new owner', async () => {
  const f = await startProxyFixture({ gateways: 2 });
  const userID = userOwnedBy(f.ring, 'im-0');
  f.source.set(new Ring({ members: [f.members[0]!], version: 1 }));
  const client = new ImringClient({
    url: `ws://127.0.0.1:${f.proxy.port}/ws`,
    userID,
    platform: 'web',
    token: 't',
    random: () => 0,
  });
  try {
    client.connect();
    const first = await f.gateways[0]!.nextConnection();
    assert.equal(new URL(first.url, 'http://x').searchParams.get('userID'), userID);

    f.source.set(new Ring({ members: [f.members[1]!], version: 2 }));
    first.socket.close(CloseCodes.moved, 'moved');
    const second = await f.gateways[1]!.nextConnection();
    if (client.state !== 'open') await once(client, 'open');
    await assertDelivers(client, f.gateways[1]!, second, 'm9');
  } finally {
    await client.close();
    await f.close();
  }
});

test('a client asked to move opens its new connection through the proxy to its new owner, then closes the old one', async () => {
  const f = await startProxyFixture({ gateways: 2 });
  const userID = userOwnedBy(f.ring, 'im-0');
  f.source.set(new Ring({ members: [f.members[0]!], version: 1 }));
  const client = new ImringClient({ url: `ws://127.0.0.1:${f.proxy.port}/ws`, userID, platform: 'web', token: 't' });
  const events: string[] = [];
  client.on('open', () => events.push('open'));
  client.on('close', () => events.push('close'));
  try {
    client.connect();
    const first = await f.gateways[0]!.nextConnection();
    assert.equal(new URL(first.url, 'http://x').searchParams.get('migrate'), 'graceful');

    f.source.set(new Ring({ members: [f.members[1]!], version: 2 }));
    const moved = nextMove(client);
    sendMigrate(first, { reason: 'ring', deadlineMs: 10_000 });
    const second = await f.gateways[1]!.nextConnection();
    assert.equal(new URL(second.url, 'http://x').searchParams.get('userID'), userID);
    assert.deepEqual(await first.closed, { code: 1000, reason: 'moved' });
    assert.equal((await moved).outcome, 'graceful');
    assert.deepEqual(events, ['open']);
    await assertDelivers(client, f.gateways[1]!, second, 'm9');
  } finally {
    await client.close();
    await f.close();
  }
});
