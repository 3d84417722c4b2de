import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  type RequestContext,
} from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { IMGATEWAY, type IMGateway } from '../../operator/api.js';
import { Controller } from '../../operator/controller.js';
import { createOperatorMetrics } from '../../operator/metrics.js';
import { createLogger } from '../../kube/logger.js';
import { RawObjectApi } from '../../kube/raw-object-api.js';
import { repoRoot } from '../support/fixtures.js';
import { startLocalApi } from '../support/local-api.js';
import { imGateway } from '../support/operator-system.js';
import { watchUntil } from '../support/wait.js';

/** A KubeConfig whose ConfigMap lists answer only after `delayMs`: that cache syncs last. */
class SlowConfigMapLists extends KubeConfig {
  constructor(
    from: KubeConfig,
    private readonly delayMs: number,
  ) {
    super();
    this.loadFromString(from.exportConfig());
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const url = new URL(context.getUrl());
    if (url.pathname.endsWith('/configmaps') && url.searchParams.get('watch') !== 'true')
      await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return super.applySecurityAuthentication(context);
  }
}

test('a controller that starts while its ConfigMap cache is still listing does not reconcile from the partial caches', async () => {
  const api = await startLocalApi();
  const logger = createLogger({ component: 'operator', level: 'silent' });
  const controllers: Controller[] = [];
  try {
    const crd = parseYaml(readFileSync(`${repoRoot}crds/imgateway.yaml`, 'utf8')) as KubernetesObject;
    await RawObjectApi.forConfig(api.kc).createAsIs(crd);
    const custom = api.kc.makeApiClient(CustomObjectsApi);
    const created = {
      group: IMGATEWAY.group,
      version: IMGATEWAY.version,
      namespace: 'default',
      plural: IMGATEWAY.plural,
    };
    await custom.createNamespacedCustomObject({ ...created, body: imGateway('im', { replicas: 0 }) });
    // A first operator publishes the ring and the status, and stops.
    const first = new Controller({ kc: api.kc, namespace: 'default', logger, metrics: createOperatorMetrics() });
    controllers.push(first);
    await first.start();
    await watchUntil(
      api.kc,
      `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/default/${IMGATEWAY.plural}`,
      async () => {
        const gateway = (await custom.getNamespacedCustomObject({ ...created, name: 'im' })) as IMGateway;
        return gateway.status?.conditions?.some((c) => c.type === 'RingConverged' && c.status === 'True')
          ? true
          : undefined;
      },
    );
    await first.idle();
    await first.close();
    const ringBefore = (
      await api.kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'default', name: 'im-ring' })
    ).metadata?.resourceVersion;
    // The next one sees the IMGateway (and its status) before the ConfigMap: nothing has changed, so it must write
    // nothing.
    const metrics = createOperatorMetrics();
    const second = new Controller({ kc: new SlowConfigMapLists(api.kc, 300), namespace: 'default', logger, metrics });
    controllers.push(second);
    await second.start();
    await second.idle();
    const writes = (await metrics.apiWrites.get()).values.map((v) => `${v.labels.verb} ${v.labels.kind}: ${v.value}`);
    assert.deepEqual(writes, []);
    const events = (await api.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' })).items.map(
      (e) => e.reason,
    );
    assert.ok(!events.includes('RingRestored'), events.join(', '));
    assert.equal(
      (await api.kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'default', name: 'im-ring' }))
        .metadata?.resourceVersion,
      ringBefore,
    );
  } finally {
    for (const controller of controllers) await controller.close();
    await api.close();
  }
});
