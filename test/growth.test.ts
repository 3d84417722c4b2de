/**
 * 100 simulated gateways (bench/lib/virtual-node.ts: the real ring watcher and Lease reporter of
 * each, no websockets) through an addition (100 → 101), a removal (101 → 100) and a rollout with
 * maxUnavailable 10 %, converging each time: every gateway of every transition acknowledged its
 * Prepared version on its Lease before the ring was committed, and no barrier timed out.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VIRTUAL_NODE_LABEL, VirtualNode } from '../bench/lib/virtual-node.js';
import type { IMGateway } from '../operator/api.js';
import { isConverged, NAMESPACE, OperatorSystem } from './support/operator-system.js';
import { RingAckLog } from './support/ring-acks.js';

const N = 100;
const GATEWAY = 'im';
/** Longer than a loaded machine's stalls: a lapsed Lease would leave the barrier's set. */
const LEASE = { renewSeconds: 2, durationSeconds: 10 };
const TIMEOUT_MS = 120_000;

let system: OperatorSystem;
let node: VirtualNode;
let acks: RingAckLog;

before(async () => {
  system = await OperatorSystem.start({ gateway: GATEWAY });
  node = await VirtualNode.start({
    kc: system.cluster.kc,
    kubeconfigPath: system.cluster.kubeconfigPath,
    ...LEASE,
  });
  acks = await RingAckLog.start(system.cluster.kc, NAMESPACE);
  await system.startOperator('growth');
  await system.createGateway(GATEWAY, {
    replicas: N,
    podTemplate: { nodeSelector: VIRTUAL_NODE_LABEL },
    ring: { ackTimeoutSeconds: 60 },
  });
  await system.untilGateway(GATEWAY, (g) => isConverged(g, N), TIMEOUT_MS);
});

after(async () => {
  acks?.close();
  await node?.close();
  await system?.close();
});

/** Converged at `replicas` at a version above `version`. */
const convergedPast = (replicas: number, version: number) => (g: IMGateway) =>
  isConverged(g, replicas) && (g.status?.ring?.version ?? 0) > version;

async function ringVersion(): Promise<number> {
  return (await system.gateway(GATEWAY)).status?.ring?.version ?? 0;
}

function assertEveryAck(fromVersion: number): void {
  assert.deepEqual(acks.missingAcks(fromVersion), []);
}

async function assertNoBarrierTimeout(): Promise<void> {
  const reasons = (await system.events(GATEWAY)).map((e) => e.reason);
  assert.ok(!reasons.includes('BarrierTimeout'), reasons.join(', '));
}

test('100 → 101: every one of the 101 gateways acknowledges the Prepared ring before it is committed', async () => {
  const from = await ringVersion();
  await system.kubectlOk(['scale', `imgw/${GATEWAY}`, `--replicas=${N + 1}`]);
  const gateway = await system.untilGateway(GATEWAY, convergedPast(N + 1, from), TIMEOUT_MS);
  const committed = acks.rings.filter((r) => r.document.version > from && r.document.state === 'Committed');
  assert.equal(committed.length, 1);
  assert.equal(committed[0]!.document.members.length, N + 1);
  assert.equal(gateway.status?.ring?.members?.length, N + 1);
  assertEveryAck(from + 1);
  // The count itself: 101 gateways reported the new version before the commit.
  const version = committed[0]!.document.version;
  const acked = [...acks.reported.values()].filter((seen) => seen.has(`${version} Prepared`)).length;
  assert.equal(acked, N + 1);
  await assertNoBarrierTimeout();
});

test('101 → 100: the removal is acknowledged by all 101 gateways, the leaving one included', async () => {
  const from = await ringVersion();
  await system.kubectlOk(['scale', `imgw/${GATEWAY}`, `--replicas=${N}`]);
  await system.untilGateway(GATEWAY, convergedPast(N, from), TIMEOUT_MS);
  const committed = acks.rings.filter((r) => r.document.version > from && r.document.state === 'Committed');
  assert.equal(committed.length, 1);
  assert.equal(committed[0]!.document.members.length, N);
  assert.equal(committed[0]!.document.previous?.members.length, N + 1);
  assertEveryAck(from + 1);
  await assertNoBarrierTimeout();
});

test('a rollout with maxUnavailable 10 % replaces 10 members per ring change: 20 changes, all acknowledged', async () => {
  const from = await ringVersion();
  const spec = { rollout: { maxUnavailable: '10%' }, podTemplate: { annotations: { 'test.imring.dev/roll': '1' } } };
  await system.kubectlOk(['patch', `imgw/${GATEWAY}`, '--type', 'merge', '-p', JSON.stringify({ spec })]);
  await system.untilGateway(
    GATEWAY,
    (g) => isConverged(g, N) && (g.status?.ring?.version ?? 0) > from && g.status?.updatedReplicas === N,
    TIMEOUT_MS * 3,
  );
  const committed = acks.rings.filter((r) => r.document.version > from && r.document.state === 'Committed');
  assert.equal(committed.length, 2 * Math.ceil(N / 10));
  for (const { document } of committed) {
    const now = new Set(document.members.map((m) => m.name));
    const before = new Set((document.previous?.members ?? []).map((m) => m.name));
    const removed = [...before].filter((name) => !now.has(name)).length;
    const added = [...now].filter((name) => !before.has(name)).length;
    assert.ok(
      (removed === 10 && added === 0 && now.size === N - 10) || (added === 10 && removed === 0 && now.size === N),
      `v${document.version}: ${removed} removed, ${added} added, ${now.size} members`,
    );
  }
  assertEveryAck(from + 1);
  await assertNoBarrierTimeout();
});
