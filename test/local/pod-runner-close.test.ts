import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  exited,
  isAlive,
  mainStatus,
  openFollow,
  pidOf,
  readyPod,
  startHarness,
  testPod,
  TEST_IMAGE,
} from './pod-runner-fixtures.js';

test('close() stops every container process and its children, and is idempotent', async () => {
  const h = await startHarness();
  try {
    await h.core.createNamespacedPod({
      namespace: 'default',
      body: testPod('one', {}, { terminationGracePeriodSeconds: 30 }),
    });
    await h.core.createNamespacedPod({
      namespace: 'default',
      body: testPod(
        'stubborn',
        { env: [{ name: 'IGNORE_SIGTERM', value: '1' }] },
        { terminationGracePeriodSeconds: 1 },
      ),
    });
    // A shell whose child (a grandchild of the runner) would outlive it without process groups.
    await h.core.createNamespacedPod({
      namespace: 'default',
      body: testPod('shell', {
        image: TEST_IMAGE,
        command: ['sh', '-c', 'sleep 300 & echo "child $!"; wait'],
        readinessProbe: undefined,
      }),
    });
    const pids = [
      pidOf(mainStatus(await readyPod(h, 'one'))),
      pidOf(mainStatus(await readyPod(h, 'stubborn'))),
      pidOf(mainStatus(await readyPod(h, 'shell'))),
    ];
    const log = await openFollow(h.api, '/api/v1/namespaces/default/pods/shell/log?follow=true');
    const childLine = await log.line(/child \d+/);
    const grandchild = Number(/child (\d+)/.exec(childLine)![1]);
    assert.deepEqual(h.runner.pids().sort(), [...pids].sort());
    for (const pid of [...pids, grandchild]) assert.equal(isAlive(pid), true);
    await Promise.all([h.runner.close(), h.runner.close()]);
    await h.runner.close();
    await log.ended;
    for (const pid of pids) assert.equal(isAlive(pid), false, `container ${pid} stopped`);
    await exited(grandchild, 2_000);
    assert.deepEqual(h.runner.pids(), []);
  } finally {
    await h.close();
  }
});
