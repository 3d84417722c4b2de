import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { SignJWT, UnsecuredJWT } from 'jose';
import { Registry } from 'prom-client';
import { CloseCodes, Ring } from '../ring/index.js';
import { startProxy } from '../runtime/proxy/index.js';
import { StaticRingSource } from '../runtime/ring-source.js';
import { metricValue } from './runtime/gateway-fixture.js';
import {
  ABUSE_SECRET,
  clientToken,
  destroyAll,
  flood,
  goodQuery,
  openReceiver,
  oversizeFrame,
  pushTo,
  rawStatus,
  refusedToken,
  silentClient,
  stalledReader,
  startAbuseStack,
  UPGRADE_HEADERS,
  type AbuseStack,
  type StalledReader,
} from './support/abuse.js';

/**
 * Issue 8, "Bad input", for the runtimes: every kind of bad client is refused or cut off with its
 * documented answer (DESIGN.md section 6: 1009, 4008, 4401; 400, 426, 431, 503), nothing crashes,
 * and well-behaved clients keep receiving every message. Completeness is asserted, never timing:
 * the latency figure is bench/abuse.ts's. Bad push requests are test/abuse-push.test.ts's.
 */
const LIMITS = {
  gateway: { maxPayloadBytes: 4096, maxSendBufferBytes: 64 * 1024, pingIntervalMs: 2000, maxConnections: 3000 },
  // Room for the 1 MiB frames that fill the stalled readers' buffers quickly.
  push: { maxPayloadBytes: 1024 * 1024 },
};
/**
 * Connections opened at once: two file descriptors each in this process (client and gateway side), 10,000 of the 20,000
 * allowed.
 */
const FLOOD = 5000;
const RECEIVERS = Array.from({ length: 20 }, (_, i) => `steady-${i}`);

let stack: AbuseStack;

before(async () => {
  stack = await startAbuseStack(LIMITS);
});

after(async () => {
  await stack?.close();
});

const upgrade = (target: string, headers = UPGRADE_HEADERS): string =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;

/** [what, bytes sent, status from the gateway, status from the proxy]. */
const MALFORMED: [string, string | Buffer, number, number][] = [
  ['no userID', upgrade('/ws?platform=web'), 400, 400],
  ['an empty userID', upgrade('/ws?userID=&platform=web'), 400, 400],
  ['no platform', upgrade('/ws?userID=u1'), 400, 400],
  ['a userID of 300 characters', upgrade(`/ws?userID=${'x'.repeat(300)}&platform=web`), 400, 400],
  ['a target of two slashes', upgrade('//'), 400, 404],
  ['an absolute-form target', upgrade('http://127.0.0.1/ws?userID=u1&platform=web'), 400, 404],
  ['another path', upgrade('/chat?userID=u1&platform=web'), 404, 404],
  ['a GET without Upgrade', 'GET /ws?userID=u1&platform=web HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 426, 426],
  ['a POST upgrade', upgrade('/ws?userID=u1&platform=web').replace(/^GET/, 'POST'), 405, 400],
  [
    'Upgrade: h2c',
    upgrade('/ws?userID=u1&platform=web', UPGRADE_HEADERS.replace('Upgrade: websocket', 'Upgrade: h2c')),
    400,
    400,
  ],
  [
    'no Sec-WebSocket-Key',
    upgrade('/ws?userID=u1&platform=web', UPGRADE_HEADERS.replace(/Sec-WebSocket-Key: .*\r\n/, '')),
    400,
    400,
  ],
  [
    'a head over 16 KiB',
    upgrade('/ws?userID=u1&platform=web', `${UPGRADE_HEADERS}X-Pad: ${'p'.repeat(17 * 1024)}\r\n`),
    431,
    431,
  ],
  ['garbage bytes', Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256)), 400, 400],
  ['a TLS ClientHello', Buffer.from('16030100a5010000a10303', 'hex'), 400, 400],
];

test('malformed upgrade requests get a 4xx from the gateway and the proxy, and both keep serving', async () => {
  for (const [what, bytes, fromGateway, fromProxy] of MALFORMED) {
    assert.equal(await rawStatus(stack.gateway.ports.ws, bytes), fromGateway, `gateway: ${what}`);
    assert.equal(await rawStatus(stack.proxy.port, bytes), fromProxy, `proxy: ${what}`);
  }
  const receiver = await openReceiver(stack.url(await goodQuery('after-malformed')), 'after-malformed');
  assert.deepEqual(
    await pushTo(stack.push.ports.http, {
      msgID: 'after-malformed',
      toUserIDs: ['after-malformed'],
      payload: 'still here',
    }),
    ['realtime'],
  );
  await receiver.receivedAll(['after-malformed']);
  receiver.ws.close();
});

test('garbage after the upgrade (an unmasked frame) is closed with 1002, through the proxy too', async () => {
  for (const port of [stack.gateway.ports.ws, stack.proxy.port]) {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(upgrade(`/ws?${new URLSearchParams(await goodQuery('garbler')).toString()}`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // RFC 6455 section 5.1: a client frame must be masked; this one is not.
      if (chunks.length === 1) socket.write(Buffer.from([0x81, 0x05, ...Buffer.from('hello')]));
    });
    await once(socket, 'close');
    const received = Buffer.concat(chunks);
    assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
    // A ping may come first (pings are spread over the interval): find the close frame.
    const close = closeFrameOf(received.subarray(received.indexOf('\r\n\r\n') + 4));
    assert.deepEqual([close?.[0], close?.readUInt16BE(2)], [0x88, 1002], `port ${port}`);
  }
});

/** The first close frame (opcode 8) among unmasked server frames with short payloads, or undefined. */
function closeFrameOf(frames: Buffer): Buffer | undefined {
  for (let at = 0; at + 2 <= frames.length; at += 2 + (frames[at + 1]! & 0x7f)) {
    if ((frames[at]! & 0x0f) === 0x8) return frames.subarray(at);
  }
  return undefined;
}

test("missing, expired, forged, unsigned and other users' tokens are closed with 4401", async () => {
  const user = 'mallory';
  const key = new TextEncoder().encode(ABUSE_SECRET);
  const tokens: [string, string | undefined][] = [
    ['missing', undefined],
    ['empty', ''],
    ['expired', await clientToken(user, { expiresInSeconds: -60 })],
    ['forged (another key)', await clientToken(user, { secret: 'not-the-secret' })],
    ['unsigned (alg none)', new UnsecuredJWT({}).setSubject(user).setExpirationTime('10m').encode()],
    ['without exp', await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(user).sign(key)],
    ['for another user', await clientToken('alice')],
    ['not a JWT', 'not.a.jwt'],
  ];
  const before = await metricValue(stack.registries.gateway, 'imring_gateway_closes_total', { code: '4401' });
  for (const [what, token] of tokens) {
    const query: Record<string, string> = { userID: user, platform: 'web', ...(token === undefined ? {} : { token }) };
    assert.equal(await refusedToken(stack.url(query)), CloseCodes.unauthorized, what);
  }
  assert.equal(
    await metricValue(stack.registries.gateway, 'imring_gateway_closes_total', { code: '4401' }),
    before + tokens.length,
  );
  assert.equal(stack.gateway.stats().connections, 0);
});

/** Pushes 1 MiB frames to `readers` until the gateway reports every one of them gone; bounded. */
async function fillUntilCutOff(readers: readonly StalledReader[]): Promise<void> {
  const payload = 'f'.repeat(1024 * 1024);
  const toUserIDs = readers.map((r) => r.userID);
  // Bounded: 400 MiB per reader is far more than every buffer on the way holds.
  for (let i = 0; i < 400; i++) {
    const statuses = await pushTo(stack.push.ports.http, { msgID: `fill-${i}`, toUserIDs, payload });
    if (statuses.every((s) => s === 'offline')) return;
  }
  throw new Error('the stalled readers were never cut off');
}

test('abusers are cut off with their documented codes while well-behaved clients receive every message', async () => {
  const receivers = await Promise.all(
    RECEIVERS.map(async (user) => openReceiver(stack.url(await goodQuery(user)), user)),
  );
  const gateway = stack.registries.gateway;
  const before = {
    1006: await metricValue(gateway, 'imring_gateway_closes_total', { code: '1006' }),
    1009: await metricValue(gateway, 'imring_gateway_closes_total', { code: '1009' }),
    4008: await metricValue(gateway, 'imring_gateway_closes_total', { code: '4008' }),
  };
  const floodTargets = await Promise.all(
    Array.from(
      { length: FLOOD },
      async (_, i) => `/ws?${new URLSearchParams(await goodQuery(`flood-${i}`)).toString()}`,
    ),
  );

  // Well-behaved traffic: one message to every receiver after another, for as long as the abuse lasts.
  const sent: string[] = [];
  let abusing = true;
  const steady = (async () => {
    for (let i = 0; abusing || i < 10; i++) {
      const msgID = `steady-${i}`;
      sent.push(msgID);
      const statuses = await pushTo(stack.push.ports.http, { msgID, toUserIDs: RECEIVERS, payload: `message ${i}` });
      assert.deepEqual(new Set(statuses), new Set(['realtime']), `${msgID} reached every receiver in real time`);
    }
  })();

  // Stalled readers first: a reader that never reads never answers a ping either, and must be
  // cut off by its send buffer (4008) well before the ping deadline (1006) of 2–4 s.
  const readers = await Promise.all(
    ['stalled-0', 'stalled-1', 'stalled-2'].map(async (user) => stalledReader(stack.url(await goodQuery(user)), user)),
  );
  const [oversize, stalled] = await Promise.all([
    Promise.all(
      Array.from({ length: 10 }, async (_, i) => oversizeFrame(stack.url(await goodQuery(`big-${i}`)), 4097)),
    ),
    // Read again at once: the 4008 close frame waits behind the backlog, and a socket still not
    // read by the next ping deadline is terminated (1006) like any silent one.
    fillUntilCutOff(readers).then(() => Promise.all(readers.map((r) => r.resume()))),
  ]);
  // Connected before the flood: while it lasts, new connections through the proxy may get 502
  // (the gateway's accept queue is full and the proxy's connectTimeoutMs passes).
  const silentClients = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => silentClient(stack.url(await goodQuery(`silent-${i}`)))),
  );
  const [silent, floodResult] = await Promise.all([
    Promise.all(silentClients.map((c) => c.closed)),
    flood(stack.gateway.ports.ws, floodTargets),
  ]);
  abusing = false;
  await steady;
  await Promise.all(receivers.map((r) => r.receivedAll(sent)));

  assert.deepEqual(new Set(oversize), new Set([CloseCodes.tooBig]));
  assert.deepEqual(new Set(stalled), new Set([CloseCodes.tooSlow]));
  // A client that never answers a ping is terminated (no closing handshake: 1006 on both sides).
  assert.deepEqual(new Set(silent), new Set([1006]));
  // Every upgrade of the flood was answered: upgraded while there was room, else 503; nothing
  // reset. (Flood sockets answer pings, but one late under this load may be terminated and free
  // its slot: the counts are not exact.)
  assert.deepEqual([...floodResult.statuses.keys()].sort(), [101, 503]);
  assert.equal(floodResult.statuses.get(101)! + floodResult.statuses.get(503)!, FLOOD);
  assert.ok(stack.gateway.stats().connections <= LIMITS.gateway.maxConnections);
  await destroyAll(floodResult.upgraded);

  assert.equal(await metricValue(gateway, 'imring_gateway_closes_total', { code: '1009' }), before[1009] + 10);
  assert.equal(await metricValue(gateway, 'imring_gateway_closes_total', { code: '4008' }), before[4008] + 3);
  assert.ok((await metricValue(gateway, 'imring_gateway_closes_total', { code: '1006' })) >= before[1006] + 10);
  for (const r of receivers) assert.deepEqual([r.userID, r.closes, r.msgIDs.size], [r.userID, [], sent.length]);
  assert.ok(sent.length >= 10);
  for (const r of receivers) r.ws.close();
});

test('5,000 connections at once at a proxy with an accept limit: the excess is closed before a byte is read, the rest upgraded, and its established clients receive every message', async () => {
  const source = new StaticRingSource(
    new Ring({ version: 1, members: [{ name: 'im-0', host: '127.0.0.1', ports: { ...stack.gateway.ports } }] }),
  );
  const registry = new Registry();
  // Room for the receivers at once, then 100 new connections a second.
  const proxy = await startProxy({
    host: '127.0.0.1',
    port: 0,
    ringSource: source,
    registry,
    acceptLimit: { ratePerSecond: 100, burst: RECEIVERS.length },
  });
  try {
    const url = async (user: string): Promise<string> =>
      `ws://127.0.0.1:${proxy.port}/ws?${new URLSearchParams(await goodQuery(user)).toString()}`;
    const receivers = await Promise.all(RECEIVERS.map(async (user) => openReceiver(await url(user), user)));
    const targets = await Promise.all(
      Array.from(
        { length: FLOOD },
        async (_, i) => `/ws?${new URLSearchParams(await goodQuery(`shed-${i}`)).toString()}`,
      ),
    );
    const sent: string[] = [];
    let flooding = true;
    const steady = (async () => {
      for (let i = 0; flooding || i < 10; i++) {
        const msgID = `shed-steady-${i}`;
        sent.push(msgID);
        const statuses = await pushTo(stack.push.ports.http, { msgID, toUserIDs: RECEIVERS, payload: `message ${i}` });
        assert.deepEqual(new Set(statuses), new Set(['realtime']), `${msgID} reached every receiver in real time`);
      }
    })();
    const result = await flood(proxy.port, targets);
    flooding = false;
    await steady;
    await Promise.all(receivers.map((r) => r.receivedAll(sent)));
    // Closed unanswered (status 0) or upgraded; never parsed and refused.
    assert.deepEqual([...result.statuses.keys()].sort(), [0, 101]);
    assert.equal(result.statuses.get(0)! + result.statuses.get(101)!, FLOOD);
    const shed = (await registry.getSingleMetric('imring_proxy_routes_total')?.get())?.values.find(
      (v) => v.labels.result === 'shed',
    )?.value;
    assert.equal(shed, result.statuses.get(0), 'each shed connection is counted');
    await destroyAll(result.upgraded);
    for (const r of receivers) assert.deepEqual([r.userID, r.closes, r.msgIDs.size], [r.userID, [], sent.length]);
    for (const r of receivers) r.ws.close();
  } finally {
    await proxy.close();
  }
});
