import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { DnsController } from '../../local/controllers/dns.js';
import { GarbageCollector } from '../../local/controllers/garbage-collector.js';
import { HorizontalPodAutoscalerController } from '../../local/controllers/hpa.js';
import { StatefulSetController } from '../../local/controllers/statefulset.js';
import { PodRunner } from '../../local/kubelet/pod-runner.js';
import { startLocalApi } from '../support/local-api.js';

interface Startable {
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Every client of the API server a local cluster runs, built in `dir`. */
const COMPONENTS: { name: string; build: (kc: KubeConfig, dir: string) => Startable }[] = [
  { name: 'StatefulSetController', build: (kc) => new StatefulSetController({ kc }) },
  { name: 'GarbageCollector', build: (kc) => new GarbageCollector({ kc }) },
  { name: 'DnsController', build: (kc, dir) => new DnsController({ kc, hostsFile: join(dir, 'hosts') }) },
  { name: 'PodRunner', build: (kc, dir) => new PodRunner({ kc, logDir: dir }) },
  { name: 'HorizontalPodAutoscalerController', build: (kc) => new HorizontalPodAutoscalerController({ kc }) },
];

for (const { name, build } of COMPONENTS) {
  const behaviour = 'close() may be called three times, also before start(), and start() after close() is refused';
  test(`${name}: ${behaviour}`, async () => {
    const api = await startLocalApi();
    const dir = await mkdtemp(join(tmpdir(), 'imring-lifecycle-'));
    try {
      const controller = build(api.kc, dir);
      await controller.start();
      await Promise.all([controller.close(), controller.close()]);
      await controller.close();
      await assert.rejects(controller.start(), /closed/);
      const never = build(api.kc, dir);
      for (let i = 0; i < 3; i++) await never.close();
      await assert.rejects(never.start(), new RegExp(`^Error: ${name}: closed$`));
    } finally {
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('HorizontalPodAutoscalerController: a bad period or tolerance is refused at construction, naming the option', async () => {
  const api = await startLocalApi();
  try {
    const cases: [Record<string, number>, RegExp][] = [
      [{ syncPeriodMs: 0 }, /syncPeriodMs must be a positive number of ms, got 0/],
      [{ downscaleStabilizationMs: -1 }, /downscaleStabilizationMs must be a number of ms >= 0, got -1/],
      [{ tolerance: 1 }, /tolerance must be in \[0, 1\), got 1/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new HorizontalPodAutoscalerController({ kc: api.kc, ...options }), message);
    }
  } finally {
    await api.close();
  }
});
