import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  exited,
  http,
  isAlive,
  mainStatus,
  openFollow,
  pidOf,
  readyPod,
  startHarness,
  testPod,
  TEST_IMAGE,
  type Harness,
} from './pod-runner-fixtures.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const namespace = 'default';

test('a crashed container is restarted after a backoff, shown as CrashLoopBackOff with its last state', async () => {
  await h.core.createNamespacedPod({ namespace, body: testPod('crash') });
  const pod = await readyPod(h, 'crash');
  const firstPid = pidOf(mainStatus(pod));
  await http(`http://${pod.status.podIP}:8080/crash`, 'POST');
  const backoff = await h.seen('crash', (p) => mainStatus(p)?.state.waiting?.reason === 'CrashLoopBackOff');
  const status = mainStatus(backoff);
  assert.equal(status.restartCount, 1);
  assert.equal(status.ready, false);
  assert.equal(status.lastState.terminated.exitCode, 1);
  assert.equal(status.lastState.terminated.reason, 'Error');
  assert.match(
    String(status.state.waiting.message),
    /back-off 300ms restarting failed container=main pod=crash_default/,
  );
  await h.event('crash', 'BackOff');
  const again = await h.pod(
    'crash',
    (p) => mainStatus(p).state.running !== undefined && mainStatus(p).restartCount === 1,
  );
  assert.notEqual(pidOf(mainStatus(again)), firstPid);
  assert.equal(isAlive(firstPid), false);
  // The previous run's log is kept.
  assert.match(await h.core.readNamespacedPodLog({ name: 'crash', namespace, previous: true }), /crashing\n$/);
});

test('a failing liveness probe kills and restarts the container', async () => {
  const probe = {
    httpGet: { path: '/ready', port: 'http' },
    initialDelaySeconds: 1,
    periodSeconds: 1,
    failureThreshold: 1,
  };
  await h.core.createNamespacedPod({ namespace, body: testPod('live', { livenessProbe: probe }) });
  const pod = await readyPod(h, 'live');
  await http(`http://${pod.status.podIP}:8080/unready`, 'POST');
  const restarted = await h.seen('live', (p) => mainStatus(p)?.restartCount === 1);
  assert.equal(mainStatus(restarted).lastState.terminated.reason, 'Completed', 'the test server exits 0 on SIGTERM');
  await h.event('live', 'Unhealthy', /^Liveness probe failed: HTTP probe failed with statuscode: 503/);
  await h.event('live', 'Killing', /^Container main failed liveness probe, will be restarted$/);
  await h.pod('live', (p) => mainStatus(p).state.running !== undefined && mainStatus(p).ready);
});

test('a graceful delete sends SIGTERM, and the kubelet removes the pod once the container exited', async () => {
  await h.core.createNamespacedPod({
    namespace,
    body: testPod('bye', { env: [{ name: 'TERM_DELAY_MS', value: '200' }] }),
  });
  const pod = await readyPod(h, 'bye');
  const pid = pidOf(mainStatus(pod));
  const log = await openFollow(h.api, '/api/v1/namespaces/default/pods/bye/log?follow=true');
  await h.core.deleteNamespacedPod({ name: 'bye', namespace });
  const deleting = await h.seen('bye', (p) => p.metadata.deletionTimestamp !== undefined);
  assert.equal(deleting.spec.nodeName, 'local');
  await log.line(/terminating/);
  assert.equal(isAlive(pid), true, 'still running for TERM_DELAY_MS: the pod stays until it exits');
  await h.event('bye', 'Killing');
  await h.gone('bye');
  await log.ended;
  assert.equal(isAlive(pid), false);
});

test('a container that ignores SIGTERM is SIGKILLed after the grace period', async () => {
  await h.core.createNamespacedPod({
    namespace,
    body: testPod('stubborn', { env: [{ name: 'IGNORE_SIGTERM', value: '1' }] }, { terminationGracePeriodSeconds: 1 }),
  });
  const pod = await readyPod(h, 'stubborn');
  const pid = pidOf(mainStatus(pod));
  const log = await openFollow(h.api, '/api/v1/namespaces/default/pods/stubborn/log?follow=true');
  await h.core.deleteNamespacedPod({ name: 'stubborn', namespace });
  await log.line(/ignoring SIGTERM/);
  assert.equal(isAlive(pid), true, 'SIGTERM alone does not stop it');
  await h.gone('stubborn');
  assert.equal(isAlive(pid), false, 'SIGKILL did, after the grace period');
});

test('an unknown image leaves the container waiting in ErrImagePull, naming IMRING_LOCAL_IMAGES', async () => {
  await h.core.createNamespacedPod({ namespace, body: testPod('unknown', { image: 'example.com/nothing:2' }) });
  const pod = await h.pod('unknown', (p) => mainStatus(p)?.state.waiting?.reason === 'ErrImagePull');
  assert.equal(pod.status.phase, 'Pending');
  assert.match(String(mainStatus(pod).state.waiting.message), /IMRING_LOCAL_IMAGES/);
  await h.event('unknown', 'Failed', /Failed to pull image "example.com\/nothing:2"/);
  await h.core.deleteNamespacedPod({ name: 'unknown', namespace });
  await h.gone('unknown');
});

test('restartPolicy Never: a command that exits 0 succeeds, one that fails fails; a command runs as a local executable', async () => {
  const run = (name: string, script: string): Promise<unknown> =>
    h.core.createNamespacedPod({
      namespace,
      body: testPod(
        name,
        { image: TEST_IMAGE, command: ['sh', '-c', script], readinessProbe: undefined },
        { restartPolicy: 'Never' },
      ),
    });
  await run('ok', 'echo done');
  await run('ko', 'exit 3');
  const ok = await h.pod('ok', (p) => p.status?.phase === 'Succeeded');
  assert.equal(mainStatus(ok).state.terminated.reason, 'Completed');
  assert.equal(await h.core.readNamespacedPodLog({ name: 'ok', namespace }), 'done\n');
  const ko = await h.pod('ko', (p) => p.status?.phase === 'Failed');
  assert.equal(mainStatus(ko).state.terminated.exitCode, 3);
  assert.equal(mainStatus(ko).restartCount, 0);
});

test('a pod removed from the API while running is stopped', async () => {
  await h.core.createNamespacedPod({ namespace, body: testPod('forced') });
  const pod = await readyPod(h, 'forced');
  const pid = pidOf(mainStatus(pod));
  await h.core.deleteNamespacedPod({ name: 'forced', namespace, gracePeriodSeconds: 0 });
  await exited(pid);
});
