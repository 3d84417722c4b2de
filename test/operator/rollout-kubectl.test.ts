/**
 * Rollouts through kubectl with the real operator process and gateway processes on the local
 * control plane: `kubectl rollout restart sts/<name>` replaces each pod once and the next scale
 * restarts none (the operator keeps kubectl's template annotation), and `kubectl set image
 * sts/<name>` is reverted with a Warning naming the field, without replacing a pod.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AppsV1Api } from '@kubernetes/client-node';
import type { IMGateway } from '../../operator/api.js';
import { convergedAt, NAMESPACE, OperatorSystem } from '../support/operator-system.js';
import { watchUntil } from '../support/wait.js';

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';

let system: OperatorSystem;

before(async () => {
  system = await OperatorSystem.start();
  await system.startOperator('op-a');
  await system.startRuntimes('im');
  await system.createGateway('im', { replicas: 2 });
  await system.untilGateway('im', convergedAt(2));
});

after(async () => {
  await system?.close();
});

/** Gateway pod name → uid. */
async function podUids(): Promise<Record<string, string>> {
  const { items } = await system.core.listNamespacedPod({ namespace: NAMESPACE });
  const gateways = items.filter((p) => /^im-\d+$/.test(p.metadata?.name ?? ''));
  return Object.fromEntries(gateways.map((p): [string, string] => [p.metadata!.name!, p.metadata!.uid!]).sort());
}

function rolledOut(replicas: number): (gateway: IMGateway) => boolean {
  return (gateway) => convergedAt(replicas)(gateway) && gateway.status?.updatedReplicas === replicas;
}

test('kubectl rollout restart replaces each pod once; a scale afterwards restarts none and keeps restartedAt', async () => {
  const before = await podUids();
  await system.kubectlOk(['rollout', 'restart', 'statefulset/im']);
  // The restart changes the template: wait for the operator to see a rollout, then for its end.
  await system.untilGateway('im', (g) => (g.status?.updatedReplicas ?? 2) < 2 || g.status?.phase === 'RollingUpdate');
  await system.untilGateway('im', rolledOut(2));
  const after = await podUids();
  assert.deepEqual(Object.keys(after), ['im-0', 'im-1']);
  for (const name of Object.keys(before)) assert.notEqual(after[name], before[name], `${name} replaced`);
  const reasons = (await system.events('im')).map((e) => e.reason);
  assert.deepEqual(
    reasons.filter((r) => r === 'RolloutPodReplaced').length,
    2,
    `one replacement per pod: ${reasons.join(', ')}`,
  );

  await system.kubectlOk(['scale', 'imgw/im', '--replicas=3']);
  await system.untilGateway('im', rolledOut(3));
  const scaled = await podUids();
  assert.equal(scaled['im-0'], after['im-0'], 'im-0 kept');
  assert.equal(scaled['im-1'], after['im-1'], 'im-1 kept');
  const set = await system.cluster.kc
    .makeApiClient(AppsV1Api)
    .readNamespacedStatefulSet({ name: 'im', namespace: NAMESPACE });
  assert.ok(set.spec?.template.metadata?.annotations?.[RESTARTED_AT], 'kubectl rollout restart annotation kept');
  assert.equal(set.spec?.replicas, 3);
});

test('kubectl set image on the StatefulSet is reverted with a Warning naming the field, and no pod is replaced', async () => {
  const before = await podUids();
  const apps = system.cluster.kc.makeApiClient(AppsV1Api);
  const image = (await apps.readNamespacedStatefulSet({ name: 'im', namespace: NAMESPACE })).spec?.template.spec
    ?.containers[0]?.image;
  await system.kubectlOk(['set', 'image', 'statefulset/im', 'gateway=ghcr.io/someone/else:1']);
  const warned = await watchUntil(system.cluster.kc, `/api/v1/namespaces/${NAMESPACE}/events`, async () =>
    (await system.events('im')).find((e) => e.reason === 'OwnedFieldReverted'),
  );
  assert.equal(warned.type, 'Warning');
  assert.match(warned.message ?? '', /spec\.template\.spec\.containers\[gateway\]\.image/);
  // The Warning is recorded before the reverting write is sent: wait for the write.
  await watchUntil(system.cluster.kc, `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`, async () => {
    const set = await apps.readNamespacedStatefulSet({ name: 'im', namespace: NAMESPACE });
    return set.spec?.template.spec?.containers[0]?.image === image ? true : undefined;
  });
  await system.untilGateway('im', rolledOut(3));
  assert.deepEqual(await podUids(), before, 'no pod replaced');
});

test('a podTemplate annotation removed from the IMGateway is removed from the StatefulSet too', async () => {
  const apps = system.cluster.kc.makeApiClient(AppsV1Api);
  const templateAnnotations = async (): Promise<Record<string, string>> =>
    (await apps.readNamespacedStatefulSet({ name: 'im', namespace: NAMESPACE })).spec?.template.metadata?.annotations ??
    {};
  const setsPath = `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`;
  await system.kubectlOk([
    'patch',
    'imgw/im',
    '--type=merge',
    '-p',
    JSON.stringify({ spec: { podTemplate: { annotations: { 'example.com/team': 'chat' } } } }),
  ]);
  await watchUntil(system.cluster.kc, setsPath, async () =>
    (await templateAnnotations())['example.com/team'] === 'chat' ? true : undefined,
  );
  await system.kubectlOk(['patch', 'imgw/im', '--type=json', '-p', '[{"op":"remove","path":"/spec/podTemplate"}]']);
  await watchUntil(system.cluster.kc, setsPath, async () =>
    (await templateAnnotations())['example.com/team'] === undefined ? true : undefined,
  );
  assert.ok((await templateAnnotations())[RESTARTED_AT], 'kubectl rollout restart annotation still kept');
  await system.untilGateway('im', rolledOut(3));
});
