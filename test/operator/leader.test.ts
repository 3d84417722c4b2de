import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { convergedAt, NAMESPACE, OperatorSystem, type OperatorProcess } from '../support/operator-system.js';
import { watchUntil } from '../support/wait.js';

/**
 * Short leader election periods, given to every operator as its flags: a Lease not renewed
 * for 2 s may be taken; a leader stops if it could not renew for 1.5 s (slack for a loaded
 * machine, where a stalled leader would exit and fail the test); candidates retry every
 * 0.2 s × (1 + up to 1.2 jitter).
 */
const LEASE_DURATION_MS = 2000;
const RETRY_MS = 200 * 2.2;
const LEADER_ELECTION_FLAGS = [
  '--leader-elect-lease-duration',
  `${LEASE_DURATION_MS}ms`,
  '--leader-elect-renew-deadline',
  '1500ms',
  '--leader-elect-retry-period',
  '200ms',
];
/**
 * Longest takeover: a standby sees the leader's last renewal at its next poll (up to RETRY_MS
 * later), waits LEASE_DURATION_MS from that observation (observed time, as client-go), and
 * acquires at the poll after (up to RETRY_MS more); plus a margin for a loaded machine.
 */
const TAKEOVER_BOUND_MS = LEASE_DURATION_MS + 2 * RETRY_MS + 5_000;

let system: OperatorSystem;
const processes = new Map<string, OperatorProcess>();

before(async () => {
  system = await OperatorSystem.start();
  for (const identity of ['op-a', 'op-b']) {
    processes.set(identity, await system.startOperator(identity, LEADER_ELECTION_FLAGS));
  }
  await system.startRuntimes('im');
});

after(async () => {
  await system?.close();
});

async function operatorLease(): Promise<V1Lease | undefined> {
  const coordination = system.cluster.kc.makeApiClient(CoordinationV1Api);
  return coordination.readNamespacedLease({ namespace: NAMESPACE, name: 'imring-operator' }).catch(() => undefined);
}

async function holder(): Promise<string | undefined> {
  return (await operatorLease())?.spec?.holderIdentity ?? undefined;
}

async function scaleTo(replicas: number): Promise<void> {
  await system.kubectlOk(['scale', 'imgw/im', `--replicas=${replicas}`]);
  await system.untilGateway('im', convergedAt(replicas));
}

test(
  'Two operators: only the leader writes, and when it is killed the standby takes over once the Lease runs out ' +
    'and finishes a scale',
  async () => {
    await system.createGateway('im', { replicas: 1 });
    await system.untilGateway('im', convergedAt(1));
    const leader = (await holder())!;
    assert.ok(leader === 'op-a' || leader === 'op-b', `the Lease names a leader: ${leader}`);
    const duration = (await operatorLease())?.spec?.leaseDurationSeconds;
    assert.equal(duration, LEASE_DURATION_MS / 1000, 'the flag set the duration');
    const standby = leader === 'op-a' ? 'op-b' : 'op-a';
    assert.equal(await system.metric(leader, 'imring_operator_leader'), 1);
    assert.equal(await system.metric(standby, 'imring_operator_leader'), 0);

    const writesBefore = await system.metric(leader, 'imring_operator_api_writes_total');
    assert.ok(writesBefore > 0, 'the leader created the StatefulSet, Service, PDB and ring');
    await scaleTo(2);
    assert.ok(
      (await system.metric(leader, 'imring_operator_api_writes_total')) > writesBefore,
      'the leader took the scale through',
    );
    assert.equal(await system.metric(standby, 'imring_operator_api_writes_total'), 0, 'the standby wrote nothing');

    await system.stopOperator(leader, 'SIGKILL');
    // Bound, not delay: a killed leader does not release its Lease, so the standby waits out its duration.
    await watchUntil(
      system.cluster.kc,
      `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`,
      async () => ((await holder()) === standby ? true : undefined),
      TAKEOVER_BOUND_MS,
    );
    await watchUntil(
      system.cluster.kc,
      `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`,
      async () => ((await system.metric(standby, 'imring_operator_leader')) === 1 ? true : undefined),
      10_000,
    );
    await scaleTo(3);
    const gateway = await system.gateway('im');
    assert.deepEqual(gateway.status?.ring?.members, ['im-0', 'im-1', 'im-2']);
    assert.ok((await system.metric(standby, 'imring_operator_api_writes_total')) > 0, 'the new leader writes');
  },
);

test('SIGTERM stops a standby and a leader with exit code 0, and the leader gives its Lease up', async () => {
  const leader = (await holder())!;
  const standby = await system.startOperator('op-c', LEADER_ELECTION_FLAGS);
  await system.stopOperator('op-c', 'SIGTERM');
  assert.equal(await standby.exited, 0, 'a standby stops cleanly while it waits for leadership');
  await system.stopOperator(leader, 'SIGTERM');
  assert.equal(await processes.get(leader)!.exited, 0, 'a leader stopped on purpose has not lost its leadership');
  assert.equal((await holder()) ?? '', '', 'released: a standby takes over at once');
});

test('a leader that finds its Lease taken by another exits 1 rather than race the new holder', async () => {
  const leader = await system.startOperator('op-f', LEADER_ELECTION_FLAGS);
  await watchUntil(
    system.cluster.kc,
    `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases`,
    async () => ((await holder()) === 'op-f' ? true : undefined),
    TAKEOVER_BOUND_MS,
  );
  const coordination = system.cluster.kc.makeApiClient(CoordinationV1Api);
  // Read-modify-write: a renewal in between makes it 409, and it is tried again.
  for (let taken = false; !taken;) {
    const lease = await coordination.readNamespacedLease({ namespace: NAMESPACE, name: 'imring-operator' });
    lease.spec = { ...lease.spec, holderIdentity: 'intruder', renewTime: new V1MicroTime() };
    taken = await coordination
      .replaceNamespacedLease({ namespace: NAMESPACE, name: 'imring-operator', body: lease })
      .then(
        () => true,
        (error: unknown) => {
          if ((error as { code?: number }).code === 409) return false;
          throw error;
        },
      );
  }
  assert.equal(await leader.exited, 1);
  assert.equal(await holder(), 'intruder', 'the operator did not take the Lease back');
});
