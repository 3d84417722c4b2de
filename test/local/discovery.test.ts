/* eslint-disable @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument -- documents are read
   as loose JSON, like the other no-unsafe-* rules the config turns off for tests */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  servedAt,
  compareVersions,
  legacyApiVersions,
  negotiateDiscovery,
} from '../../local/apiserver/http/discovery.js';
import { openApiV3GroupVersion, openApiV3Root } from '../../local/apiserver/http/openapi.js';
import type { ResourceType } from '../../local/apiserver/types.js';

function newType(over: Partial<ResourceType> = {}): ResourceType {
  return {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    listKind: 'ConfigMapList',
    plural: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    categories: [],
    namespaced: true,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    statusSubresource: false,
    printerColumns: [],
    custom: false,
    ...over,
  };
}

const scale = { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' };

const TYPES: ResourceType[] = [
  newType(),
  newType({
    kind: 'Namespace',
    listKind: 'NamespaceList',
    plural: 'namespaces',
    singular: 'namespace',
    shortNames: ['ns'],
    namespaced: false,
    statusSubresource: true,
  }),
  newType({
    group: 'apps',
    kind: 'StatefulSet',
    listKind: 'StatefulSetList',
    plural: 'statefulsets',
    singular: 'statefulset',
    shortNames: ['sts'],
    categories: ['all'],
    statusSubresource: true,
    scale,
  }),
  newType({
    group: 'imring.dev',
    version: 'v1alpha1',
    kind: 'IMGateway',
    listKind: 'IMGatewayList',
    plural: 'imgateways',
    singular: 'imgateway',
    shortNames: [],
    custom: true,
    statusSubresource: true,
    scale,
    schema: { type: 'object', properties: { spec: { type: 'object', properties: { replicas: { type: 'integer' } } } } },
  }),
  newType({
    group: 'imring.dev',
    version: 'v1',
    kind: 'IMGateway',
    listKind: 'IMGatewayList',
    plural: 'imgateways',
    singular: 'imgateway',
    shortNames: [],
    custom: true,
  }),
  newType({
    group: 'imring.dev',
    version: 'v1beta1',
    kind: 'IMGateway',
    listKind: 'IMGatewayList',
    plural: 'imgateways',
    singular: 'imgateway',
    shortNames: [],
    custom: true,
  }),
];

/** What kubectl 1.32 (client-go discovery) sends for GET /api and /apis. */
const KUBECTL_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

test('negotiateDiscovery picks the first aggregated format the client accepts', () => {
  const v2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
  const cases: [string | undefined, ReturnType<typeof negotiateDiscovery>][] = [
    [KUBECTL_ACCEPT, { aggregated: true, version: 'v2', contentType: v2 }],
    [
      'application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io',
      { aggregated: true, version: 'v2', contentType: v2 },
    ],
    [
      'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
      {
        aggregated: true,
        version: 'v2beta1',
        contentType: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList',
      },
    ],
    ['application/json, */*', { aggregated: false }],
    ['application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', { aggregated: false }],
    ['application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', { aggregated: false }],
    ['application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList', { aggregated: false }],
    [undefined, { aggregated: false }],
    ['', { aggregated: false }],
  ];
  for (const [accept, want] of cases) assert.deepEqual(negotiateDiscovery(accept), want, String(accept));
});

test('GET /api lists v1 and the server address', () => {
  assert.deepEqual(legacyApiVersions('127.0.0.1:6443'), {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }],
  });
});

test('GET /apis lists the named groups with the kube-aware preferred version first', () => {
  const list = apiGroupList(TYPES) as any;
  assert.equal(list.kind, 'APIGroupList');
  assert.deepEqual(
    list.groups.map((g: any) => g.name),
    ['apps', 'imring.dev'],
  );
  const imring = list.groups[1];
  assert.deepEqual(
    imring.versions.map((v: any) => v.groupVersion),
    ['imring.dev/v1', 'imring.dev/v1beta1', 'imring.dev/v1alpha1'],
  );
  assert.deepEqual(imring.preferredVersion, { groupVersion: 'imring.dev/v1', version: 'v1' });
});

test('GET /apis/<g> answers only for served named groups', () => {
  assert.equal((apiGroup(TYPES, 'apps') as any).kind, 'APIGroup');
  assert.equal(apiGroup(TYPES, 'batch'), undefined);
  assert.equal(apiGroup(TYPES, ''), undefined);
});

test('compareVersions orders GA, then beta, then alpha, then anything else', () => {
  const sorted = ['v1alpha1', 'foo', 'v2', 'v1beta1', 'v1', 'v10', 'v1beta2', 'v2alpha1'].sort(compareVersions);
  assert.deepEqual(sorted, ['v10', 'v2', 'v1', 'v1beta2', 'v1beta1', 'v2alpha1', 'v1alpha1', 'foo']);
});

test('an APIResourceList has each resource and its status and scale subresources', () => {
  const list = apiResourceList(servedAt(TYPES, 'apps', 'v1')) as any;
  assert.equal(list.groupVersion, 'apps/v1');
  assert.deepEqual(list.resources, [
    {
      name: 'statefulsets',
      singularName: 'statefulset',
      namespaced: true,
      kind: 'StatefulSet',
      verbs: TYPES[2]!.verbs,
      shortNames: ['sts'],
      categories: ['all'],
    },
    {
      name: 'statefulsets/status',
      singularName: '',
      namespaced: true,
      kind: 'StatefulSet',
      verbs: ['get', 'patch', 'update'],
    },
    // client-go's scale client finds the Scale kind (autoscaling/v1) from this entry.
    {
      name: 'statefulsets/scale',
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    },
  ]);
  assert.equal((apiResourceList(servedAt(TYPES, '', 'v1')) as any).groupVersion, 'v1');
  assert.equal(apiResourceList(servedAt(TYPES, 'apps', 'v2')), undefined);
});

test('aggregated discovery for /api holds only the nameless core group', () => {
  const doc = aggregatedDiscovery(TYPES, 'api') as any;
  assert.equal(doc.kind, 'APIGroupDiscoveryList');
  assert.equal(doc.apiVersion, 'apidiscovery.k8s.io/v2');
  assert.equal(doc.items.length, 1);
  assert.equal(doc.items[0].metadata.name, undefined);
  const resources = doc.items[0].versions[0].resources;
  assert.deepEqual(
    resources.map((r: any) => [r.resource, r.scope]),
    [
      ['configmaps', 'Namespaced'],
      ['namespaces', 'Cluster'],
    ],
  );
});

test('aggregated discovery for /apis describes resources, subresources and freshness', () => {
  const doc = aggregatedDiscovery(TYPES, 'apis') as any;
  assert.deepEqual(
    doc.items.map((i: any) => i.metadata.name),
    ['apps', 'imring.dev'],
  );
  assert.deepEqual(
    doc.items[1].versions.map((v: any) => v.version),
    ['v1', 'v1beta1', 'v1alpha1'],
  );
  const version = doc.items[0].versions[0];
  assert.equal(version.freshness, 'Current');
  assert.deepEqual(version.resources[0], {
    resource: 'statefulsets',
    responseKind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
    scope: 'Namespaced',
    singularResource: 'statefulset',
    verbs: TYPES[2]!.verbs,
    shortNames: ['sts'],
    categories: ['all'],
    subresources: [
      {
        subresource: 'status',
        responseKind: { group: 'apps', version: 'v1', kind: 'StatefulSet' },
        verbs: ['get', 'patch', 'update'],
      },
      {
        subresource: 'scale',
        responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
        verbs: ['get', 'patch', 'update'],
      },
    ],
  });
  assert.equal((aggregatedDiscovery(TYPES, 'apis', 'v2beta1') as any).apiVersion, 'apidiscovery.k8s.io/v2beta1');
});

test('the OpenAPI v3 root links every served group-version with a content hash', () => {
  const root = openApiV3Root(TYPES) as any;
  assert.deepEqual(Object.keys(root.paths).sort(), [
    'api/v1',
    'apis/apps/v1',
    'apis/imring.dev/v1',
    'apis/imring.dev/v1alpha1',
    'apis/imring.dev/v1beta1',
  ]);
  assert.match(root.paths['apis/apps/v1'].serverRelativeURL, /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
  const changed = openApiV3Root([...TYPES.slice(0, 2), newType({ ...TYPES[2]!, namespaced: false })]) as any;
  assert.equal(changed.paths['api/v1'].serverRelativeURL, root.paths['api/v1'].serverRelativeURL);
  assert.notEqual(changed.paths['apis/apps/v1'].serverRelativeURL, root.paths['apis/apps/v1'].serverRelativeURL);
});

/** kubectl's queryParamVerifierV3.supportsQueryParamV3, over the JSON document. */
function patchSupports(doc: any, gvk: Record<string, string>, param: string): boolean | 'no-path' {
  for (const item of Object.values<any>(doc.paths)) {
    const ext = item.patch?.['x-kubernetes-group-version-kind'];
    if (!ext || ext.group !== gvk['group'] || ext.version !== gvk['version'] || ext.kind !== gvk['kind']) continue;
    return item.patch.parameters.some((p: any) => p.name === param && p.in === 'query');
  }
  return 'no-path';
}

test('every kind has a PATCH operation advertising fieldValidation, as kubectl checks', () => {
  for (const t of TYPES) {
    const doc = openApiV3GroupVersion(servedAt(TYPES, t.group, t.version));
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    assert.equal(patchSupports(doc, gvk, 'fieldValidation'), true, `${t.kind} ${t.version}`);
    assert.equal(patchSupports(doc, gvk, 'dryRun'), true, `${t.kind} ${t.version}`);
  }
  const apps = openApiV3GroupVersion(servedAt(TYPES, 'apps', 'v1'));
  assert.equal(patchSupports(apps, { group: 'autoscaling', version: 'v1', kind: 'Scale' }, 'fieldValidation'), true);
});

test('a group-version document has collection, item, status and scale paths', () => {
  const doc = openApiV3GroupVersion(servedAt(TYPES, 'apps', 'v1')) as any;
  const base = '/apis/apps/v1/namespaces/{namespace}/statefulsets';
  assert.deepEqual(Object.keys(doc.paths), [base, `${base}/{name}`, `${base}/{name}/status`, `${base}/{name}/scale`]);
  assert.deepEqual(
    Object.keys(doc.paths[base]).filter((k) => k !== 'parameters'),
    ['get', 'post', 'delete'],
  );
  assert.deepEqual(
    Object.keys(doc.paths[`${base}/{name}`]).filter((k) => k !== 'parameters'),
    ['get', 'put', 'patch', 'delete'],
  );
  assert.ok(doc.paths[base].post.parameters.some((p: any) => p.name === 'fieldValidation'));
  assert.equal(doc.openapi, '3.0.0');
  const core = openApiV3GroupVersion(servedAt(TYPES, '', 'v1')) as any;
  assert.ok('/api/v1/namespaces/{name}' in core.paths, 'cluster-scoped paths have no namespace segment');
  assert.equal(openApiV3GroupVersion(servedAt(TYPES, 'batch', 'v1')), undefined);
});

test('PATCH bodies leave out strategic merge so kubectl computes patches from its own types', () => {
  const doc = openApiV3GroupVersion(servedAt(TYPES, 'apps', 'v1')) as any;
  const content = Object.keys(
    doc.paths['/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}'].patch.requestBody.content,
  );
  assert.deepEqual(content, [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
  ]);
});

test('component schemas carry their GVK, and a custom resource keeps its structural schema', () => {
  const doc = openApiV3GroupVersion(servedAt(TYPES, 'imring.dev', 'v1alpha1')) as any;
  const schema = doc.components.schemas['dev.imring.v1alpha1.IMGateway'];
  assert.deepEqual(schema['x-kubernetes-group-version-kind'], [
    { group: 'imring.dev', version: 'v1alpha1', kind: 'IMGateway' },
  ]);
  assert.equal(schema.properties.spec.properties.replicas.type, 'integer');
  assert.equal(schema.properties.kind.type, 'string');
  const apps = openApiV3GroupVersion(servedAt(TYPES, 'apps', 'v1')) as any;
  assert.deepEqual(apps.components.schemas['io.k8s.api.apps.v1.StatefulSet']['x-kubernetes-group-version-kind'], [
    { group: 'apps', version: 'v1', kind: 'StatefulSet' },
  ]);
  assert.ok(apps.components.schemas['io.k8s.api.autoscaling.v1.Scale']);
});
