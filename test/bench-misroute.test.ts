import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../ring/index.js';
import {
  imringMember,
  isReachedByImring,
  openimAddresses,
  openimScalePhases,
  podOf,
  simulateImring,
  simulateOpenim,
  type OpenimPhase,
} from '../bench/lib/misroute-sim.js';
import { randomUserIds } from './support/random.js';

const TRAFFIC = { users: randomUserIds(200, 7), recipients: 3, seed: 11 };

function steady(n: number): OpenimPhase {
  return { label: 'steady', proxyReplicas: n, pushReplicas: n, runningReplicas: n, messages: 300 };
}

test('OpenIM push addresses carry :88 and the proxy addresses do not, naming the same pods', () => {
  const push = openimAddresses(2, 88);
  const proxy = openimAddresses(2);
  assert.deepEqual(push, [
    'openim-msggateway-0.openim-msggateway-headless.openim.svc.cluster.local:88',
    'openim-msggateway-1.openim-msggateway-headless.openim.svc.cluster.local:88',
  ]);
  assert.deepEqual(proxy.map(podOf), push.map(podOf));
});

test('with one gateway, OpenIM loses no message to an online user', () => {
  const [count] = simulateOpenim(TRAFFIC, [steady(1)]);
  assert.equal(count!.units, 900);
  assert.equal(count!.offline, 0);
});

test('with five gateways, OpenIM sends a share of the messages to online users offline', () => {
  const [count] = simulateOpenim(TRAFFIC, [steady(5)]);
  assert.equal(count!.units, 900);
  assert.ok(count!.share > 0, `share ${count!.share}`);
});

test('scaling OpenIM from one gateway with push restarted first sends messages offline', () => {
  const [before, after] = simulateOpenim(TRAFFIC, openimScalePhases(1, { added: 3, messagesPerPhase: 300 }));
  assert.equal(before!.offline, 0);
  assert.ok(after!.offline > 0, `offline ${after!.offline}`);
});

test("imring's rule reaches every connected user before, while and after scaling 5 to 8", () => {
  const counts = simulateImring(TRAFFIC, { n: 5, added: 3, messagesPerPhase: 300 });
  assert.deepEqual(
    counts.map((c) => c.label),
    ['steady', 'v2 prepared', 'v2 committed, migrating'],
  );
  for (const count of counts) {
    assert.equal(count.units, 900);
    assert.equal(count.offline, 0, count.label);
  }
});

test("imring's rule does not reach a user connected to a member that owns it in neither ring", () => {
  const ring = new Ring({
    members: [imringMember(0), imringMember(1), imringMember(2)],
    version: 2,
    previous: { version: 1, members: [imringMember(0), imringMember(1)] },
  });
  const user = TRAFFIC.users.find((u) => ring.owner(u)?.name === 'im-0' && ring.previous?.owner(u)?.name === 'im-0')!;
  assert.equal(isReachedByImring(ring, user, 'im-0'), true);
  assert.equal(isReachedByImring(ring, user, 'im-2'), false);
});
