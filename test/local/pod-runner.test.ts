import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startLocalApi, rawRequest } from '../support/local-api.js';
import { KUBECTL } from '../support/kubectl.js';
import {
  hasCondition,
  http,
  mainStatus,
  openFollow,
  readyPod,
  startHarness,
  testPod,
  type Harness,
} from './pod-runner-fixtures.js';

let h: Harness;
before(async () => {
  h = await startHarness({ env: { FROM_RUNNER: 'runner' } });
});
after(async () => {
  await h.close();
  await h.close();
});

const namespace = 'default';

test('a pod is bound, runs, and serves on its own loopback address; two pods share a port on different addresses', async () => {
  await h.core.createNamespacedPod({ namespace, body: testPod('web-a') });
  await h.core.createNamespacedPod({ namespace, body: testPod('web-b') });
  const a = await readyPod(h, 'web-a');
  const b = await readyPod(h, 'web-b');
  assert.equal(a.spec.nodeName, 'local');
  assert.match(String(a.status.podIP), /^127\.\d+\.\d+\.\d+$/);
  assert.notEqual(a.status.podIP, b.status.podIP);
  assert.deepEqual(a.status.podIPs, [{ ip: a.status.podIP }]);
  assert.equal(a.status.hostIP, '127.0.0.1');
  assert.equal(a.status.phase, 'Running');
  assert.ok(a.status.startTime);
  const status = mainStatus(a);
  assert.equal(status.ready, true);
  assert.equal(status.started, true);
  assert.equal(status.restartCount, 0);
  assert.match(status.containerID, /^local:\/\/\d+$/);
  assert.ok(status.state.running.startedAt);
  assert.deepEqual(a.status.conditions.map((c: any) => `${c.type}=${c.status}`).sort(), [
    'ContainersReady=True',
    'Initialized=True',
    'PodScheduled=True',
    'Ready=True',
  ]);
  for (const pod of [a, b]) assert.equal((await http(`http://${pod.status.podIP}:8080/healthz`)).status, 200);
  for (const reason of ['Scheduled', 'Pulled', 'Created', 'Started']) await h.event('web-a', reason);
  assert.ok(h.runner.pids().includes(Number(status.containerID.slice('local://'.length))));
});

test('the environment holds what the spec says, downward API and ConfigMap/Secret references included, and nothing implicit', async () => {
  await h.core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 's' },
      data: { password: Buffer.from('hunter2').toString('base64'), token: Buffer.from('t0k').toString('base64') },
    },
  });
  const body = testPod('env', {
    env: [
      { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'level' } } },
      { name: 'MISSING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope', optional: true } } },
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } },
      { name: 'URL', value: 'http://$(POD_IP):8080/$(NAME)/$(UNDEFINED)/$$(NAME)' },
    ],
    envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 's' } }],
    args: ['--name=$(NAME)'],
  });
  const created = await h.core.createNamespacedPod({ namespace, body });
  // The ConfigMap does not exist yet: the container waits, and starts once it does.
  const waiting = await h.pod('env', (p) => mainStatus(p)?.state?.waiting?.reason === 'CreateContainerConfigError');
  assert.match(String(mainStatus(waiting).state.waiting.message), /configmap "cfg" not found/);
  await h.event('env', 'Failed');
  await h.core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'cfg' }, data: { level: 'debug', mode: 'fast' } },
  });
  const pod = await readyPod(h, 'env');
  const { env, argv } = JSON.parse((await http(`http://${pod.status.podIP}:8080/env`)).body);
  delete env.PATH;
  // Node itself copies NODE_V8_COVERAGE into every child it spawns while coverage is on (c8).
  delete env.NODE_V8_COVERAGE;
  assert.deepEqual(env, {
    FROM_RUNNER: 'runner',
    CFG_level: 'debug',
    CFG_mode: 'fast',
    password: 'hunter2',
    token: 't0k',
    POD_IP: pod.status.podIP,
    NAME: 'env',
    NS: 'default',
    UID: created.metadata!.uid,
    APP: 'env',
    NODE: 'local',
    HOST_IP: '127.0.0.1',
    LEVEL: 'debug',
    PASSWORD: 'hunter2',
    URL: `http://${pod.status.podIP}:8080/env/$(UNDEFINED)/$(NAME)`,
  });
  assert.deepEqual(argv, ['--name=env']);
});

test('readiness follows the readiness probe', async () => {
  await h.core.createNamespacedPod({
    namespace,
    body: testPod('ready', {
      readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
    }),
  });
  const pod = await readyPod(h, 'ready');
  const url = `http://${pod.status.podIP}:8080`;
  await http(`${url}/unready`, 'POST');
  const unready = await h.pod('ready', (p) => hasCondition(p, 'Ready', 'False'));
  assert.equal(mainStatus(unready).ready, false);
  assert.equal(mainStatus(unready).state.running !== undefined, true);
  await h.event('ready', 'Unhealthy');
  await http(`${url}/ready`, 'POST');
  await readyPod(h, 'ready');
});

test('logs are served to client-node and kubectl, with tailLines, follow and the API server errors', async () => {
  // A TCP readiness probe: it writes no log line.
  await h.core.createNamespacedPod({
    namespace,
    body: testPod('logs', { readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 1 } }),
  });
  const pod = await readyPod(h, 'logs');
  await http(`http://${pod.status.podIP}:8080/healthz`);
  const all = await h.core.readNamespacedPodLog({ name: 'logs', namespace });
  assert.match(all, /^listening on 127\.\d+\.\d+\.\d+:8080\nGET \/healthz\n$/);
  assert.equal(await h.core.readNamespacedPodLog({ name: 'logs', namespace, tailLines: 1 }), 'GET /healthz\n');
  assert.equal(await h.core.readNamespacedPodLog({ name: 'logs', namespace, limitBytes: 9 }), 'listening');

  const kubeconfig = join(h.logDir, 'kubeconfig');
  await h.api.server.writeKubeconfig(kubeconfig);
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', kubeconfig, '--cache-dir', join(h.logDir, 'cache'), 'logs', 'logs', '--tail=1'],
      { env: { PATH: process.env.PATH, HOME: h.logDir }, timeout: 20_000 },
      (error, out, err) => (error ? reject(new Error(err, { cause: error })) : resolve(out)),
    );
  });
  assert.equal(stdout, 'GET /healthz\n');

  // Follow: new lines arrive as they are written; the stream ends when the container stops.
  const follow = await openFollow(h.api, '/api/v1/namespaces/default/pods/logs/log?follow=true&tailLines=0');
  await http(`http://${pod.status.podIP}:8080/ready`);
  await follow.line(/GET \/ready/);
  await h.core.deleteNamespacedPod({ name: 'logs', namespace });
  await follow.line(/terminating/);
  await follow.ended;

  assert.equal((await rawRequest(h.api, '/api/v1/namespaces/default/pods/nope/log')).status, 404);
  await h.core.createNamespacedPod({ namespace, body: testPod('logs2') });
  await readyPod(h, 'logs2');
  const badContainer = await rawRequest(h.api, '/api/v1/namespaces/default/pods/logs2/log?container=x');
  assert.equal(badContainer.status, 400);
  assert.match(String(badContainer.json<{ message: string }>().message), /container x is not valid for pod logs2/);
  assert.equal((await rawRequest(h.api, '/api/v1/namespaces/default/pods/logs2/log?previous=true')).status, 400);
});

test('without a log source the API server answers a known pod 400 and an unknown one 404', async () => {
  const api = await startLocalApi();
  try {
    await rawRequest(api, '/api/v1/namespaces/default/pods', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(testPod('p')),
    });
    const none = await rawRequest(api, '/api/v1/namespaces/default/pods/p/log');
    assert.equal(none.status, 400);
    assert.match(String(none.json<{ message: string }>().message), /container "main" in pod "p" is waiting to start/);
    assert.equal((await rawRequest(api, '/api/v1/namespaces/default/pods/q/log')).status, 404);
    assert.equal((await rawRequest(api, '/api/v1/namespaces/default/pods/p/log?tailLines=-1')).status, 400);
  } finally {
    await api.close();
  }
});
