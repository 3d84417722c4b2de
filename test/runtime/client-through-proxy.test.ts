import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CloseCodes, Ring } from '../../ring/index.js';
import { ImringClient } from '../../client/index.js';
import { startProxyFixture, userOwnedBy } from './proxy-support.js';

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
    const received = once(client, 'message');
    f.gateways[1]!.sendMessage(second, { msgID: 'm9', payload: 'after the move' });
    assert.deepEqual(await received, [{ msgID: 'm9', payload: 'after the move' }]);
  } finally {
    await client.close();
    await f.close();
  }
});
