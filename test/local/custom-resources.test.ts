import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiextensionsV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  codeOf,
  createRaw,
  postRaw,
  rawRequest,
  startLocalApi,
  statusOf,
  type LocalApi,
} from '../support/local-api.js';
import { widgetCrd } from '../support/sample-crd.js';

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const group = 'example.com';
const plural = 'widgets';

async function withWidgets(body: (api: LocalApi, custom: CustomObjectsApi) => Promise<void>): Promise<void> {
  const api = await startLocalApi();
  try {
    const crd = (await createRaw(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', widgetCrd())) as {
      status?: { conditions?: { type: string; status: string }[] };
    };
    assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
    await body(api, api.kc.makeApiClient(CustomObjectsApi));
  } finally {
    await api.close();
  }
}

function widget(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name }, spec };
}

test('a CRD serves its kind at once, with schema defaults applied on create', async () => {
  await withWidgets(async (_api, custom) => {
    const created = (await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      body: widget('w1', { image: 'example/w:1' }),
    })) as { spec: Record<string, unknown>; metadata: { generation: number } };
    assert.deepEqual(created.spec, { image: 'example/w:1', replicas: 1, mode: 'safe' });
    assert.equal(created.metadata.generation, 1);
  });
});

test('every served version reads the same object', async () => {
  await withWidgets(async (_api, custom) => {
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      body: widget('w1', { image: 'x' }),
    });
    const beta = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1beta1',
      namespace: 'default',
      plural,
      name: 'w1',
    })) as { apiVersion: string };
    assert.equal(beta.apiVersion, 'example.com/v1beta1');
  });
});

test('an invalid custom resource is refused with 422 and a cause for each field', async () => {
  await withWidgets(async (_api, custom) => {
    const status = await statusOf(
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: 'default',
        plural,
        body: widget('bad', { replicas: 2000, mode: 'slow' }),
      }),
    );
    assert.equal(status.code, 422);
    assert.equal(status.reason, 'Invalid');
    const fields = (status.details?.causes ?? []).map((c) => c.field).sort();
    assert.deepEqual(fields, ['spec.image', 'spec.mode', 'spec.replicas']);
    assert.match(status.message, /^Widget\.example\.com "bad" is invalid: \[/);
    assert.match(
      status.message,
      /spec\.replicas: Invalid value: 2000: spec\.replicas in body should be less than or equal to 1000/,
    );
  });
});

test('unknown fields are pruned, refused under Strict, and warned about under Warn', async () => {
  await withWidgets(async (api, custom) => {
    const created = (await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      body: widget('w', { image: 'x', bogus: 1, extra: { kept: true } }),
    })) as { spec: Record<string, unknown> };
    assert.equal(created.spec.bogus, undefined);
    assert.deepEqual(created.spec.extra, { kept: true });
    const strict = await statusOf(
      custom.createNamespacedCustomObject({
        group,
        version: 'v1',
        namespace: 'default',
        plural,
        body: widget('w2', { image: 'x', bogus: 1 }),
        fieldValidation: 'Strict',
      }),
    );
    assert.equal(strict.code, 400);
    assert.match(strict.message, /strict decoding error: unknown field "spec.bogus"/);
    const response = await rawRequest(api, '/apis/example.com/v1/namespaces/default/widgets?fieldValidation=Warn', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(widget('w3', { image: 'x', bogus: 1 })),
    });
    assert.equal(response.status, 201);
    assert.match(String(response.headers.warning), /299 - "unknown field \\"spec.bogus\\""/);
  });
});

test('status and scale subresources of a custom resource', async () => {
  await withWidgets(async (_api, custom) => {
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      body: { ...widget('w', { image: 'x' }), status: { phase: 'ignored' } },
    });
    const read = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      name: 'w',
    })) as { status?: unknown };
    assert.equal(read.status, undefined, 'status in a create body is dropped');
    await custom.patchNamespacedCustomObjectStatus(
      {
        group,
        version: 'v1',
        namespace: 'default',
        plural,
        name: 'w',
        body: { status: { replicas: 1, selector: 'app=w', phase: 'Running' }, spec: { replicas: 7 } },
      },
      merge,
    );
    const withStatus = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      name: 'w',
    })) as { spec: { replicas: number }; status: { phase: string }; metadata: { generation: number } };
    assert.equal(withStatus.status.phase, 'Running');
    assert.equal(withStatus.spec.replicas, 1, 'a status patch leaves spec alone');
    assert.equal(withStatus.metadata.generation, 1);
    const scale = (await custom.getNamespacedCustomObjectScale({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      name: 'w',
    })) as { spec: { replicas: number }; status: { replicas: number; selector: string } };
    assert.deepEqual([scale.spec.replicas, scale.status.replicas, scale.status.selector], [1, 1, 'app=w']);
    await custom.patchNamespacedCustomObjectScale(
      { group, version: 'v1', namespace: 'default', plural, name: 'w', body: { spec: { replicas: 5 } } },
      merge,
    );
    const scaled = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      name: 'w',
    })) as { spec: { replicas: number }; metadata: { generation: number } };
    assert.deepEqual([scaled.spec.replicas, scaled.metadata.generation], [5, 2]);
    assert.equal(
      await codeOf(
        custom.patchNamespacedCustomObjectScale(
          { group, version: 'v1', namespace: 'default', plural, name: 'w', body: { spec: { replicas: 5000 } } },
          merge,
        ),
      ),
      422,
    );
  });
});

test('strategic merge patch on a custom resource is refused with 415', async () => {
  await withWidgets(async (api) => {
    const response = await rawRequest(api, '/apis/example.com/v1/namespaces/default/widgets/w', {
      method: 'PATCH',
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: '{}',
    });
    assert.equal(response.status, 415);
  });
});

test('tables use the CRD printer columns', async () => {
  await withWidgets(async (api, custom) => {
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      body: widget('w', { image: 'x', replicas: 3 }),
    });
    const response = await rawRequest(api, '/apis/example.com/v1/namespaces/default/widgets', {
      headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' },
    });
    const table = response.json<{
      kind: string;
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[] }[];
    }>();
    assert.equal(table.kind, 'Table');
    assert.deepEqual(
      table.columnDefinitions.map((c) => c.name),
      ['Name', 'Desired', 'Phase', 'Age'],
    );
    assert.equal(table.rows[0]?.cells[0], 'w');
    assert.equal(table.rows[0]?.cells[1], 3);
  });
});

test('deleting the CRD stops serving its kind and removes its objects', async () => {
  await withWidgets(async (api, custom) => {
    await custom.createNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: 'default',
      plural,
      body: widget('w', { image: 'x' }),
    });
    await api.kc.makeApiClient(ApiextensionsV1Api).deleteCustomResourceDefinition({ name: 'widgets.example.com' });
    assert.equal(
      await codeOf(custom.listNamespacedCustomObject({ group, version: 'v1', namespace: 'default', plural })),
      404,
    );
    assert.deepEqual(api.store.list('example.com/widgets'), []);
  });
});

test('a CRD with a bad name or no storage version is refused with 422', async () => {
  const api = await startLocalApi();
  const ext = api.kc.makeApiClient(ApiextensionsV1Api);
  try {
    const crd = widgetCrd();
    const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
    const badName = await postRaw(api, path, { ...crd, metadata: { name: 'widgets.wrong.com' } });
    assert.equal(badName.status, 422);
    const causes = (badName.body.details as { causes: { field: string }[] }).causes;
    assert.ok(causes.some((c) => c.field === 'metadata.name'));
    const noStorage = structuredClone(crd);
    for (const v of noStorage.spec.versions) v.storage = false;
    assert.equal((await postRaw(api, path, noStorage)).status, 422);
    assert.equal(await codeOf(ext.listCustomResourceDefinition()), 200);
    assert.equal((await ext.listCustomResourceDefinition()).items.length, 0, 'nothing refused was stored');
  } finally {
    await api.close();
  }
});

test('a cluster-scoped custom resource is served without a namespace', async () => {
  const api = await startLocalApi();
  try {
    const crd = widgetCrd();
    crd.metadata.name = 'gadgets.example.com';
    crd.spec.scope = 'Cluster';
    crd.spec.names = { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' };
    await createRaw(api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    const custom = api.kc.makeApiClient(CustomObjectsApi);
    const created = (await custom.createClusterCustomObject({
      group,
      version: 'v1',
      plural: 'gadgets',
      body: { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' }, spec: { image: 'x' } },
    })) as { metadata: { namespace?: string } };
    assert.equal(created.metadata.namespace, undefined);
    const list = (await custom.listClusterCustomObject({ group, version: 'v1', plural: 'gadgets' })) as {
      items: unknown[];
    };
    assert.equal(list.items.length, 1);
    const namespaced = await rawRequest(api, '/apis/example.com/v1/namespaces/default/gadgets/g');
    assert.equal(namespaced.status, 404);
  } finally {
    await api.close();
  }
});
