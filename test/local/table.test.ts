/* eslint-disable @typescript-eslint/no-unsafe-return -- documents are read as loose JSON, like the other no-unsafe-* rules the config turns off for tests */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, tableColumns, toTable } from '../../local/apiserver/http/table.js';
import { findFirst } from '../../local/apiserver/http/jsonpath.js';
import type { KubeObject, PrinterColumn, ResourceType } from '../../local/apiserver/types.js';

const NOW = new Date('2026-01-10T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function ago(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}

function newType(over: Partial<ResourceType> = {}): ResourceType {
  return {
    group: 'imring.dev',
    version: 'v1alpha1',
    kind: 'IMGateway',
    listKind: 'IMGatewayList',
    plural: 'imgateways',
    singular: 'imgateway',
    shortNames: [],
    categories: [],
    namespaced: true,
    verbs: ['get', 'list'],
    statusSubresource: true,
    printerColumns: [],
    custom: true,
    ...over,
  };
}

function newObject(over: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'imring.dev/v1alpha1',
    kind: 'IMGateway',
    metadata: { name: 'im', namespace: 'default', resourceVersion: '7', creationTimestamp: ago(3 * HOUR), ...meta },
    ...over,
  };
}

function table(type: ResourceType, objects: KubeObject[], includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata') {
  return toTable(type, objects, { includeObject, now: NOW }) as any;
}

function names(type: ResourceType): string[] {
  return tableColumns(type).map((c) => c.definition.name);
}

function cells(type: ResourceType, object: KubeObject): unknown[] {
  return table(type, [object]).rows[0].cells;
}

test('humanDuration matches apimachinery HumanDuration at every boundary', () => {
  const cases: [number, string][] = [
    [-2 * SECOND, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [5 * SECOND, '5s'],
    [119 * SECOND + 999, '119s'],
    [2 * MINUTE, '2m'],
    [2 * MINUTE + 5 * SECOND, '2m5s'],
    [9 * MINUTE + 59 * SECOND, '9m59s'],
    [10 * MINUTE + 30 * SECOND, '10m'],
    [179 * MINUTE, '179m'],
    [3 * HOUR, '3h'],
    [7 * HOUR + 59 * MINUTE, '7h59m'],
    [8 * HOUR + 30 * MINUTE, '8h'],
    [47 * HOUR, '47h'],
    [48 * HOUR, '2d'],
    [7 * DAY + 23 * HOUR, '7d23h'],
    [8 * DAY, '8d'],
    [729 * DAY, '729d'],
    [730 * DAY, '2y'],
    [(7 * 365 + 364) * DAY, '7y364d'],
    [8 * 365 * DAY, '8y'],
    [20 * 365 * DAY, '20y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('a table has the meta.k8s.io/v1 Table envelope with list metadata', () => {
  const t = toTable(newType(), [newObject()], {
    includeObject: 'Metadata',
    now: NOW,
    listMeta: { resourceVersion: '42', continue: 'abc' },
  });
  assert.equal(t['kind'], 'Table');
  assert.equal(t['apiVersion'], 'meta.k8s.io/v1');
  assert.deepEqual(t['metadata'], { resourceVersion: '42', continue: 'abc' });
  assert.deepEqual(table(newType(), [newObject()]).metadata, { resourceVersion: '7' });
});

test('a custom resource without printer columns prints Name and Age', () => {
  assert.deepEqual(names(newType()), ['Name', 'Age']);
  assert.deepEqual(cells(newType(), newObject()), ['im', '3h']);
});

test('a custom resource prints Name then exactly its printer columns, with their priority', () => {
  const printerColumns: PrinterColumn[] = [
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Version', type: 'string', jsonPath: '.status.ring.version', priority: 1 },
  ];
  const t = table(newType({ printerColumns }), [newObject()]);
  assert.deepEqual(
    t.columnDefinitions.map((c: any) => [c.name, c.type, c.priority]),
    [
      ['Name', 'string', 0],
      ['Replicas', 'integer', 0],
      ['Version', 'string', 1],
    ],
  );
  assert.equal(t.columnDefinitions[0].format, 'name');
});

test('printer column cells follow the apiserver tableconvertor rules', () => {
  const cases: { col: PrinterColumn; object: KubeObject; want: unknown }[] = [
    {
      col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: 3 } }),
      want: 3,
    },
    {
      col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: 2.7 } }),
      want: 2,
    },
    {
      col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: '3' } }),
      want: null,
    },
    { col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' }, object: newObject({}), want: null },
    {
      col: { name: 'N', type: 'number', jsonPath: '.spec.load' },
      object: newObject({ spec: { load: 0.5 } }),
      want: 0.5,
    },
    {
      col: { name: 'B', type: 'boolean', jsonPath: '.spec.on' },
      object: newObject({ spec: { on: false } }),
      want: false,
    },
    {
      col: { name: 'B', type: 'boolean', jsonPath: '.spec.on' },
      object: newObject({ spec: { on: 'yes' } }),
      want: null,
    },
    {
      col: { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      object: newObject({
        status: {
          conditions: [
            { type: 'Synced', status: 'False' },
            { type: 'Ready', status: 'True' },
          ],
        },
      }),
      want: 'True',
    },
    {
      col: { name: 'S', type: 'string', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: 3 } }),
      want: '3',
    },
    {
      col: { name: 'S', type: 'string', jsonPath: '.spec.sel' },
      object: newObject({ spec: { sel: { a: 'b' } } }),
      want: '{"a":"b"}',
    },
    {
      col: { name: 'D', type: 'date', jsonPath: '.status.at' },
      object: newObject({ status: { at: ago(5 * MINUTE) } }),
      want: '5m',
    },
    {
      col: { name: 'D', type: 'date', jsonPath: '.status.at' },
      object: newObject({ status: { at: 'yesterday-ish' } }),
      want: '<invalid>',
    },
    { col: { name: 'D', type: 'date', jsonPath: '.status.at' }, object: newObject({ status: { at: 5 } }), want: null },
  ];
  for (const { col, object, want } of cases) {
    assert.deepEqual(cells(newType({ printerColumns: [col] }), object)[1], want, `${col.type} ${col.jsonPath}`);
  }
});

test('includeObject chooses between no object, PartialObjectMetadata and the full object', () => {
  const object = newObject({ spec: { replicas: 1 } }, { labels: { app: 'im' } });
  assert.equal('object' in table(newType(), [object], 'None').rows[0], false);
  assert.deepEqual(table(newType(), [object], 'Metadata').rows[0].object, {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: object.metadata,
  });
  assert.deepEqual(table(newType(), [object], 'Object').rows[0].object, object);
});

const core = (plural: string, kind: string): ResourceType =>
  newType({ group: '', version: 'v1', plural, kind, custom: false, statusSubresource: false });

test('built-in kinds print the columns of kubernetes printers.go', () => {
  const cases: [ResourceType, string[]][] = [
    [
      core('pods', 'Pod'),
      ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'],
    ],
    [
      newType({ group: 'apps', version: 'v1', plural: 'statefulsets', custom: false }),
      ['Name', 'Ready', 'Age', 'Containers', 'Images'],
    ],
    [core('services', 'Service'), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']],
    [core('configmaps', 'ConfigMap'), ['Name', 'Data', 'Age']],
    [core('secrets', 'Secret'), ['Name', 'Type', 'Data', 'Age']],
    [core('namespaces', 'Namespace'), ['Name', 'Status', 'Age']],
    [
      core('events', 'Event'),
      ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name'],
    ],
    [
      newType({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', custom: false }),
      ['Name', 'Holder', 'Age'],
    ],
    [
      newType({ group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', custom: false }),
      ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age'],
    ],
    [core('serviceaccounts', 'ServiceAccount'), ['Name', 'Secrets', 'Age']],
    [
      newType({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', custom: false }),
      ['Name', 'Created At'],
    ],
    [core('endpoints', 'Endpoints'), ['Name', 'Age']],
  ];
  for (const [type, want] of cases) assert.deepEqual(names(type), want, type.plural);
});

test('wide-only built-in columns have priority 1', () => {
  const wide = tableColumns(core('pods', 'Pod'))
    .filter((c) => c.definition.priority === 1)
    .map((c) => c.definition.name);
  assert.deepEqual(wide, ['IP', 'Node', 'Nominated Node', 'Readiness Gates']);
});

function pod(status: Record<string, unknown>, meta: Record<string, unknown> = {}): KubeObject {
  return newObject({ spec: { containers: [{ name: 'a' }, { name: 'b' }], nodeName: 'n1' }, status }, meta);
}

const running = { running: {} };

test('pod cells summarise readiness, status and restarts like kubectl', () => {
  const cases: { name: string; object: KubeObject; want: unknown[] }[] = [
    {
      name: 'running and ready',
      object: pod({
        phase: 'Running',
        podIP: '10.0.0.1',
        containerStatuses: [
          { ready: true, state: running, restartCount: 0 },
          { ready: true, state: running, restartCount: 0 },
        ],
      }),
      want: ['im', '2/2', 'Running', '0', '3h', '10.0.0.1', 'n1', '<none>', '<none>'],
    },
    {
      name: 'crash looping with a recent restart',
      object: pod({
        phase: 'Running',
        containerStatuses: [
          { ready: true, state: running, restartCount: 0 },
          {
            ready: false,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            restartCount: 4,
            lastState: { terminated: { finishedAt: ago(90 * SECOND) } },
          },
        ],
      }),
      want: ['im', '1/2', 'CrashLoopBackOff', '4 (90s ago)', '3h', '<none>', 'n1', '<none>', '<none>'],
    },
    {
      name: 'pending',
      object: pod({ phase: 'Pending' }),
      want: ['im', '0/2', 'Pending', '0', '3h', '<none>', 'n1', '<none>', '<none>'],
    },
    {
      name: 'initialising',
      object: newObject({
        spec: { containers: [{ name: 'a' }], initContainers: [{ name: 'i' }, { name: 'j' }] },
        status: {
          phase: 'Pending',
          initContainerStatuses: [{ state: { terminated: { exitCode: 0 } } }, { state: running }],
        },
      }),
      want: ['im', '0/1', 'Init:1/2', '0', '3h', '<none>', '<none>', '<none>', '<none>'],
    },
    {
      name: 'terminating',
      object: pod({ phase: 'Running', containerStatuses: [] }, { deletionTimestamp: ago(SECOND) }),
      want: ['im', '0/2', 'Terminating', '0', '3h', '<none>', 'n1', '<none>', '<none>'],
    },
  ];
  for (const { name, object, want } of cases) assert.deepEqual(cells(core('pods', 'Pod'), object), want, name);
});

test('built-in cells render like printers.go', () => {
  const sts = newType({ group: 'apps', version: 'v1', plural: 'statefulsets', custom: false });
  const cases: { type: ResourceType; object: KubeObject; want: unknown[] }[] = [
    {
      type: sts,
      object: newObject({
        spec: {
          replicas: 3,
          template: {
            spec: {
              containers: [
                { name: 'gw', image: 'im:1' },
                { name: 'side', image: 'sc:2' },
              ],
            },
          },
        },
        status: { readyReplicas: 2 },
      }),
      want: ['im', '2/3', '3h', 'gw,side', 'im:1,sc:2'],
    },
    {
      type: core('services', 'Service'),
      object: newObject({
        spec: {
          type: 'NodePort',
          clusterIP: '10.96.0.5',
          clusterIPs: ['10.96.0.5'],
          ports: [
            { port: 80, nodePort: 30080, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
          selector: { b: '2', a: '1' },
        },
      }),
      want: ['im', 'NodePort', '10.96.0.5', '<none>', '80:30080/TCP,53/UDP', '3h', 'a=1,b=2'],
    },
    {
      type: core('services', 'Service'),
      object: newObject({ spec: { type: 'LoadBalancer', clusterIP: 'None', ports: [] } }),
      want: ['im', 'LoadBalancer', 'None', '<pending>', '<none>', '3h', '<none>'],
    },
    {
      type: core('configmaps', 'ConfigMap'),
      object: newObject({ data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }),
      want: ['im', 3, '3h'],
    },
    {
      type: core('secrets', 'Secret'),
      object: newObject({ type: 'Opaque', data: { a: 'MQ==' } }),
      want: ['im', 'Opaque', 1, '3h'],
    },
    {
      type: core('namespaces', 'Namespace'),
      object: newObject({ status: { phase: 'Active' } }),
      want: ['im', 'Active', '3h'],
    },
    { type: core('serviceaccounts', 'ServiceAccount'), object: newObject({}), want: ['im', 0, '3h'] },
    {
      type: newType({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', custom: false }),
      object: newObject({ spec: { holderIdentity: 'pod-0' } }),
      want: ['im', 'pod-0', '3h'],
    },
    {
      type: newType({ group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', custom: false }),
      object: newObject({ spec: { minAvailable: '50%' }, status: { disruptionsAllowed: 1 } }),
      want: ['im', '50%', 'N/A', 1, '3h'],
    },
    {
      type: newType({
        group: 'apiextensions.k8s.io',
        version: 'v1',
        plural: 'customresourcedefinitions',
        custom: false,
      }),
      object: newObject({}, { creationTimestamp: '2026-01-10T09:00:00Z' }),
      want: ['im', '2026-01-10T09:00:00Z'],
    },
    {
      type: core('events', 'Event'),
      object: newObject({
        type: 'Warning',
        reason: 'BackOff',
        message: ' restarting \n',
        count: 3,
        involvedObject: { kind: 'Pod', name: 'web-0', fieldPath: 'spec.containers{c}' },
        source: { component: 'kubelet', host: 'n1' },
        firstTimestamp: ago(10 * MINUTE),
        lastTimestamp: ago(30 * SECOND),
      }),
      want: [
        '30s',
        'Warning',
        'BackOff',
        'pod/web-0',
        'spec.containers{c}',
        'kubelet, n1',
        'restarting',
        '10m',
        3,
        'im',
      ],
    },
  ];
  for (const { type, object, want } of cases) assert.deepEqual(cells(type, object), want, type.plural);
});

test('a missing creationTimestamp prints as <unknown>', () => {
  assert.deepEqual(cells(newType(), newObject({}, { creationTimestamp: undefined })), ['im', '<unknown>']);
});

test('findFirst evaluates the printer-column JSONPath subset', () => {
  const doc = {
    spec: { replicas: 3, items: [{ name: 'a' }, { name: 'b' }] },
    metadata: { labels: { app: 'im', 'app.kubernetes.io/name': 'gw' } },
    status: {
      ring: { version: 9 },
      conditions: [
        { type: 'Ready', status: 'False' },
        { type: 'Synced', status: 'True' },
      ],
    },
    a: { 'b.c': 'dotted' },
  };
  const cases: [string, unknown][] = [
    ['.spec.replicas', 3],
    ['.status.ring.version', 9],
    ['.metadata.labels.app', 'im'],
    ["{.metadata.labels['app.kubernetes.io/name']}", 'gw'],
    ['.status.conditions[?(@.type=="Synced")].status', 'True'],
    [".status.conditions[?(@.type!='Ready')].type", 'Synced'],
    ['.spec.items[0].name', 'a'],
    ['.spec.items[-1].name', 'b'],
    ['.spec.items[*].name', 'a'],
    [".a['b.c']", 'dotted'],
    ['.a["b.c"]', 'dotted'],
    ['.spec.items[5].name', undefined],
    ['.spec.missing.deeper', undefined],
    ['.status.conditions[?(@.type=="Gone")].status', undefined],
    ['spec.replicas', undefined],
    ['.spec.items[', undefined],
  ];
  for (const [path, want] of cases) assert.deepEqual(findFirst(doc, path), want, path);
});

test('findFirst never throws, whatever the object holds', () => {
  const odd: unknown[] = [
    null,
    undefined,
    5,
    'text',
    [],
    [null],
    { spec: null },
    { spec: [1, 2] },
    Object.create(null),
  ];
  const paths = ['.spec.replicas', '.spec[0]', '.spec[?(@.x==1)].y', ".spec['a']", '.[*]', '', '{}', '[?(@.a=="b")]'];
  for (const [i, o] of odd.entries())
    for (const p of paths) assert.doesNotThrow(() => findFirst(o, p), `case ${i}: ${p}`);
});
