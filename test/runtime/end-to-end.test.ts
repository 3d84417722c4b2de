import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { WebSocket } from 'ws';
import { Annotations, Ring, runtimeLeaseName } from '../../ring/index.js';
import { ImringClient, type ClientMoveEvent } from '../../client/index.js';
import { GATEWAY, ImSystem, member, tokenFor } from '../support/im-system.js';
import { watchUntil } from '../support/wait.js';

/**
 * The runtimes end to end on the local control plane: real `imring gateway` processes in a
 * StatefulSet, a proxy and a push watching the same ring ConfigMap, clients of the SDK
 * connected through the proxy. The test plays the operator's part by writing the ring.
 */
let system: ImSystem;
const clients = new Map<string, ImringClient>();
const received = new Map<string, string[]>();
const USERS = Array.from({ length: 24 }, (_, i) => `user-${i}`);

/** A user whose owner moves from v1 (2 gateways) to v2 (3): kept on a raw socket, no SDK. */
const HANDOFF_USER = (() => {
  const v1 = new Ring({ members: [member(0), member(1)] });
  const v2 = new Ring({ members: [member(0), member(1), member(2)] });
  for (let i = 0; ; i++) if (v1.owner(`handoff-${i}`)?.name !== v2.owner(`handoff-${i}`)?.name) return `handoff-${i}`;
})();
let handoffSocket: WebSocket;

before(async () => {
  system = await ImSystem.start(2);
  await Promise.all(USERS.map((user) => connect(user)));
  handoffSocket = await rawSocket(HANDOFF_USER);
});

async function rawSocket(user: string): Promise<WebSocket> {
  const ws = new WebSocket(`${system.proxyUrl}?userID=${user}&platform=web&token=${await tokenFor(user)}`);
  await once(ws, 'open');
  return ws;
}

after(async () => {
  for (const client of clients.values()) await client.close();
  await system?.close();
});

async function connect(user: string): Promise<void> {
  const client = new ImringClient({ url: system.proxyUrl, userID: user, platform: 'web', token: await tokenFor(user) });
  received.set(user, []);
  client.on('message', (m: { msgID: string }) => received.get(user)!.push(m.msgID));
  clients.set(user, client);
  const opened = once(client, 'open');
  client.connect();
  await opened;
}

/** The next `event` of `client` (unlike events.once, an 'error' meanwhile does not reject it). */
function nextEvent<T>(client: ImringClient, event: string): Promise<T> {
  return new Promise((resolve) => client.once(event, resolve));
}

/** Resolves once Lease `name` carries `value` in annotation `key`. */
async function untilLease(name: string, key: string, value: string): Promise<void> {
  const coordination = system.cluster.kc.makeApiClient(CoordinationV1Api);
  const path = `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY.namespace}/leases`;
  await watchUntil(system.cluster.kc, path, async () => {
    const lease = await coordination.readNamespacedLease({ name, namespace: GATEWAY.namespace });
    return lease.metadata?.annotations?.[key] === value ? true : undefined;
  });
}

/** Resolves once the three gateway Leases carry `value` in annotation `key`. */
async function untilGatewayLeases(key: string, value: string): Promise<void> {
  const coordination = system.cluster.kc.makeApiClient(CoordinationV1Api);
  const path = `/apis/coordination.k8s.io/v1/namespaces/${GATEWAY.namespace}/leases`;
  await watchUntil(system.cluster.kc, path, async () => {
    const { items } = await coordination.listNamespacedLease({
      namespace: GATEWAY.namespace,
      labelSelector: 'imring.dev/component=gateway',
    });
    return items.length === 3 && items.every((l) => l.metadata?.annotations?.[key] === value) ? true : undefined;
  });
}

/** Resolves once every user in `users` has received `msgID`. */
function allReceived(users: readonly string[], msgID: string): Promise<void> {
  const pending = users.filter((u) => !received.get(u)!.includes(msgID));
  return Promise.all(
    pending.map(
      (user) =>
        new Promise<void>((resolve) => {
          const client = clients.get(user)!;
          const listener = (m: { msgID: string }): void => {
            if (m.msgID !== msgID) return;
            client.off('message', listener);
            resolve();
          };
          client.on('message', listener);
        }),
    ),
  ).then(() => undefined);
}

test('messages reach every connected user through the proxy and push, in real time', async () => {
  const delivered = allReceived(USERS, 'm1');
  const { status, body } = await system.pushHttp([{ msgID: 'm1', toUserIDs: USERS, payload: 'hello' }]);
  assert.equal(status, 200);
  assert.equal(body.results.length, USERS.length);
  assert.deepEqual(new Set(body.results.map((r) => `${r.status}/${r.via}`)), new Set(['realtime/current']));
  await delivered;
});

test('a new ring version reaches the proxy, push and every gateway Lease', async (t) => {
  await system.scaleGateways(3);
  const changed = system.watchers.map(
    (w) =>
      new Promise<Ring>((resolve) => {
        const off = w.onChange((ring) => {
          if (ring.version === 2) {
            off();
            resolve(ring);
          }
        });
      }),
  );
  const written = performance.now();
  await system.writeRing({ version: 2, state: 'Prepared', members: 3, previousMembers: 2 });
  await Promise.all(changed);
  const servedMs = performance.now() - written;
  await untilGatewayLeases(Annotations.ringVersion, '2');
  t.diagnostic(`ring v2 served by the proxy and push ${servedMs.toFixed(0)} ms after the write`);
});

test('a user not yet on its new owner is reached through the previous ring', async () => {
  const ring = system.watchers[1]!.current()!;
  const moved = USERS.filter((u) => ring.owner(u)?.name !== ring.previous?.owner(u)?.name);
  assert.ok(moved.length > 0, 'some users change owner between v1 and v2');
  const delivered = allReceived(moved, 'm2');
  const { body } = await system.pushHttp([{ msgID: 'm2', toUserIDs: moved, payload: 'via previous' }]);
  assert.deepEqual(new Set(body.results.map((r) => `${r.status}/${r.via}`)), new Set(['realtime/previous']));
  await delivered;
});

test('committing the ring moves connections to their owners, and nothing is lost', async () => {
  // The Prepared v2 has the members the Committed one will: who moves is known now, and the
  // listeners go on before the write, so no reconnection can be missed.
  const ring = system.watchers[1]!.current()!;
  const moved = USERS.filter((u) => ring.owner(u)?.name !== ring.previous?.owner(u)?.name);
  // The SDK clients opted in: they move make-before-break, each without a moment offline.
  const moves = moved.map((u) => nextEvent<ClientMoveEvent>(clients.get(u)!, 'move'));
  const handoffClosed = once(handoffSocket, 'close') as Promise<[number]>;
  const policy = { moveDeadlineMs: 2000 };
  await system.writeRing({ version: 2, state: 'Committed', members: 3, previousMembers: 2, policy });
  const outcomes = (await Promise.all(moves)).map((event) => `${event.reason}/${event.outcome}`);
  assert.deepEqual(new Set(outcomes), new Set(['ring/graceful']));

  // The raw socket does not reconnect by itself: a push to it now finds the user at neither
  // gateway (MIGRATED at the old one) and retries until it reconnects to its new owner.
  assert.equal((await handoffClosed)[0], 4001);
  const pushed = system.pushHttp([{ msgID: 'm-handoff', toUserIDs: [HANDOFF_USER], payload: 'handoff' }]);
  const again = await rawSocket(HANDOFF_USER);
  const frame = once(again, 'message') as Promise<[Buffer]>;
  const { body: handoff } = await pushed;
  assert.deepEqual(
    handoff.results.map((r) => `${r.status}/${r.via}`),
    ['realtime/handoff'],
  );
  assert.equal((JSON.parse((await frame)[0].toString()) as { msgID: string }).msgID, 'm-handoff');
  again.close();
  await untilGatewayLeases(Annotations.misplaced, '0');
  const delivered = allReceived(USERS, 'm3');
  const { body } = await system.pushHttp([{ msgID: 'm3', toUserIDs: USERS, payload: 'after commit' }]);
  assert.deepEqual(new Set(body.results.map((r) => `${r.status}/${r.via}`)), new Set(['realtime/current']));
  await delivered;
});

const BAD_DOCUMENTS: [string, (doc: Record<string, any>) => string][] = [
  ['not JSON', () => '{"format": '],
  ['an unknown format', (d) => JSON.stringify({ ...d, format: 'imring.dev/ring/v9' })],
  ['an unknown algorithm', (d) => JSON.stringify({ ...d, algorithm: { ...d.algorithm, name: 'ketama' } })],
  ['a non-prime table', (d) => JSON.stringify({ ...d, algorithm: { ...d.algorithm, tableSize: 65536 } })],
  ['duplicate members', (d) => JSON.stringify({ ...d, members: [d.members[0], d.members[0]] })],
  [
    'a bad member name',
    (d) => JSON.stringify({ ...d, members: [{ ...d.members[0], name: 'IM_0' }, ...d.members.slice(1)] }),
  ],
  [
    'a bad port',
    (d) =>
      JSON.stringify({ ...d, members: [{ ...d.members[0], ports: { ws: 0, grpc: 10002 } }, ...d.members.slice(1)] }),
  ],
  ['a wrong checksum', (d) => JSON.stringify({ ...d, checksum: `sha256:${'0'.repeat(64)}` })],
  ['a lower version', (d) => JSON.stringify({ ...d, version: 1, previous: null })],
  ['another gateway', (d) => JSON.stringify({ ...d, gateway: { ...d.gateway, name: 'other' } })],
  ['members changed without a new version', (d) => JSON.stringify({ ...d, members: d.members.slice(0, 2) })],
];

test('bad ring documents are refused while the last good ring keeps serving', async () => {
  const good = system.watchers[1]!.current()!.document!;
  for (const [what, make] of BAD_DOCUMENTS) {
    const refused = errorsBecome((error) => error !== undefined);
    await system.writeRingText(make(structuredClone(good)));
    await refused;
    for (const watcher of system.watchers) assert.equal(watcher.current()?.version, 2, `${what}: still serving v2`);
    const { body } = await system.pushHttp([{ msgID: `bad-${what}`, toUserIDs: USERS.slice(0, 4), payload: what }]);
    assert.ok(
      body.results.every((r) => r.status === 'realtime'),
      `${what}: still delivering`,
    );
    const cleared = errorsBecome((error) => error === undefined);
    await system.writeRingText(JSON.stringify(good));
    await cleared;
  }
});

/** Resolves once every watcher's lastError() satisfies `predicate`, told by their events. */
function errorsBecome(predicate: (error: unknown) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const check = (): void => {
      if (!system.watchers.every((w) => predicate(w.lastError()))) return;
      offs.forEach((off) => off());
      resolve();
    };
    for (const watcher of system.watchers) offs.push(watcher.onErrorChange(check));
    check();
  });
}

test('a client with a token for another user is refused with 4401 through the proxy', async () => {
  const client = new ImringClient({
    url: system.proxyUrl,
    userID: 'mallory',
    platform: 'web',
    token: await tokenFor('alice'),
  });
  const closed = once(client, 'close') as Promise<[{ code: number; willReconnect: boolean }]>;
  client.connect();
  const [event] = await closed;
  assert.deepEqual([event.code, event.willReconnect], [4401, false]);
  await client.close();
});

test('a frame over the gateway limit is closed with 1009', async () => {
  const ws = new WebSocket(`${system.proxyUrl}?userID=big&platform=web&token=${await tokenFor('big')}`);
  await once(ws, 'open');
  const closed = once(ws, 'close') as Promise<[number]>;
  ws.send('x'.repeat(70 * 1024));
  const [code] = await closed;
  assert.equal(code, 1009);
});

test('a reader that stops reading is cut off with 4008 while others keep receiving', async () => {
  const slow = await rawSocket('slow-reader');
  slow.pause(); // stops reading its socket: the proxy, then the gateway, buffer its frames
  const steady = USERS[0]!;
  const payload = 'x'.repeat(60 * 1024);
  let sent = 0;
  // Bounded: 1,000 frames of 60 KiB (60 MiB) is far more than every buffer on the way holds.
  for (; sent < 1000; sent++) {
    const { body } = await system.pushHttp([{ msgID: `slow-${sent}`, toUserIDs: ['slow-reader', steady], payload }]);
    const [toSlow, toSteady] = body.results;
    assert.equal(toSteady?.status, 'realtime', `message ${sent} reached the steady reader`);
    if (toSlow?.status !== 'realtime') break;
  }
  assert.ok(sent < 1000, 'the slow reader was cut off');
  const closed = once(slow, 'close') as Promise<[number]>;
  slow.resume();
  assert.equal((await closed)[0], 4008);
  await allReceived([steady], `slow-${sent}`);
});

test('a gateway pod deleted gracefully says draining at once, keeps delivering, and moves its users once out of the ring', async () => {
  const ring = system.watchers[1]!.current()!;
  const onLast = USERS.filter((u) => ring.owner(u)?.name === 'im-2');
  assert.ok(onLast.length > 0);
  const moves = onLast.map((u) => nextEvent<ClientMoveEvent>(clients.get(u)!, 'move'));
  const closes: string[] = [];
  for (const user of onLast) clients.get(user)!.on('close', () => closes.push(user));
  await system.cluster.kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ name: 'im-2', namespace: GATEWAY.namespace });
  await untilLease(runtimeLeaseName(GATEWAY.name, 'gateway', 'im-2'), Annotations.draining, 'true');
  // Still in the ring (this test plays the operator): its users are served where they are.
  const delivered = allReceived(onLast, 'm-draining');
  const { body } = await system.pushHttp([{ msgID: 'm-draining', toUserIDs: onLast, payload: 'draining' }]);
  assert.deepEqual(new Set(body.results.map((r) => `${r.status}/${r.via}`)), new Set(['realtime/current']));
  await delivered;
  const version = ring.version + 1;
  await system.writeRing({ version, state: 'Prepared', members: 2, previousMembers: 3 });
  await system.writeRing({ version, state: 'Committed', members: 2, previousMembers: 3 });
  const outcomes = (await Promise.all(moves)).map((event) => `${event.reason}/${event.outcome}`);
  assert.deepEqual(new Set(outcomes), new Set(['shutdown/graceful']));
  assert.deepEqual(closes, [], 'a graceful client is never without a connection');
});
