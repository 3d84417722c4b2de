import assert from 'node:assert/strict';
import test from 'node:test';
import { Registry } from 'prom-client';
import { registryCounter, registryGauge } from '../kube/metrics.js';

test('a metric asked for twice is the same series; one registered as another kind is refused by name', async () => {
  const registry = new Registry();
  const first = registryCounter(registry, { name: 'x_total', help: 'x', labelNames: ['result'] });
  const second = registryCounter(registry, { name: 'x_total', help: 'x', labelNames: ['result'] });
  assert.equal(first, second);
  first.inc({ result: 'ok' });
  second.inc({ result: 'ok' });
  assert.match(await registry.metrics(), /x_total\{result="ok"\} 2/);
  const gauge = registryGauge(registry, { name: 'y', help: 'y' });
  assert.equal(registryGauge(registry, { name: 'y', help: 'y' }), gauge);
  assert.throws(() => registryGauge(registry, { name: 'x_total', help: 'x' }), {
    name: 'TypeError',
    message: 'metric x_total is registered, but not as a gauge',
  });
  assert.throws(() => registryCounter(registry, { name: 'y', help: 'y' }), {
    name: 'TypeError',
    message: 'metric y is registered, but not as a counter',
  });
});
