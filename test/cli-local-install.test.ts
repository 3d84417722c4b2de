/**
 * What `imring local` creates from config/ reaches the API server as written: the IMGateway CRD keeps its schema
 * defaults and int-or-string fields, so the server defaults the sample it then creates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createManifests, sampleGateway, SAMPLE } from '../cli/local-system.js';
import { CONFIG_DIR, readKustomization } from '../cli/manifests.js';
import { IMGATEWAY, type IMGateway } from '../operator/api.js';
import { rawRequest, startLocalApi } from './support/local-api.js';

test("imring local's install creates the CRD as written: the server defaults the sample's spec.rollout.maxUnavailable to 1", async () => {
  const api = await startLocalApi();
  try {
    const objects = await readKustomization(CONFIG_DIR);
    await createManifests(
      api.kc,
      objects.filter((o) => o.kind !== 'Deployment'),
    );
    await createManifests(api.kc, [await sampleGateway({ replicas: 0 })]);
    const crd = await rawRequest(
      api,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${IMGATEWAY.plural}.${IMGATEWAY.group}`,
    );
    type Schema = { properties: Record<string, Schema> } & Record<string, unknown>;
    const crdSpec = crd.json<{ spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } }>().spec;
    const spec = crdSpec.versions[0]!.schema.openAPIV3Schema.properties.spec!.properties;
    assert.equal(spec.rollout!.properties.maxUnavailable!['x-kubernetes-int-or-string'], true);
    assert.equal(spec.rollout!.properties.maxUnavailable!.default, 1);
    const path = `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/${SAMPLE.namespace}/${IMGATEWAY.plural}`;
    const sample = (await rawRequest(api, `${path}/${SAMPLE.name}`)).json<IMGateway>();
    assert.deepEqual(sample.spec?.rollout, { maxUnavailable: 1 });
    assert.equal(sample.spec?.ring?.tableSize, 65537, 'every other default too');
    // Created again (a restarted imring local): kept, no error.
    await createManifests(api.kc, [await sampleGateway({ replicas: 0 })]);
  } finally {
    await api.close();
  }
});
