import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { deliverySnapshot, startLocalWebView } from '../cli/local-web.js';
import { startLocalApi, type LocalApi } from './support/local-api.js';

/** The web view `imring local` serves: a taken port is not fatal. */

let api: LocalApi;
let blocker: Server;

before(async () => {
  api = await startLocalApi();
  blocker = createServer().listen(0, '127.0.0.1');
  await once(blocker, 'listening');
});

after(async () => {
  blocker.close();
  await api.close();
});

test('a taken port is reported and any free port used instead', async () => {
  const taken = (blocker.address() as { port: number }).port;
  const warnings: string[] = [];
  const view = await startLocalWebView(api.kc, taken, (line) => warnings.push(line));
  try {
    assert.deepEqual(warnings, [`port ${taken} is taken; serving the web view on any free port instead`]);
    const port = Number(new URL(view.url).port);
    assert.ok(port > 0 && port !== taken, view.url);
    assert.equal((await fetch(`${view.url}api/owner?user=a`)).status, 503);
  } finally {
    await view.close();
  }
});

test('without traffic there are no delivery figures', () => {
  assert.equal(deliverySnapshot(undefined), undefined);
});
