import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tableColumns } from '../../local/apiserver/http/table.js';
import type { KubeObject, ResourceType } from '../../local/apiserver/types.js';
import { ago, cells, MINUTE, names, newObject, newType, SECOND } from './table-fixtures.js';

/** The Table columns and cells of built-in kinds, as kubectl's printers.go prints them. */

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
    [core('endpoints', 'Endpoints'), ['Name', 'Endpoints', 'Age']],
    [
      newType({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', custom: false }),
      ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age'],
    ],
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
      type: core('endpoints', 'Endpoints'),
      object: newObject({
        subsets: [
          {
            addresses: ['1', '2', '3'].map((d) => ({ ip: `127.0.0.${d}` })),
            ports: [
              { name: 'a', port: 80 },
              { name: 'b', port: 81 },
            ],
          },
        ],
      }),
      want: ['im', '127.0.0.1:80,127.0.0.2:80,127.0.0.3:80 + 3 more...', '3h'],
    },
    { type: core('endpoints', 'Endpoints'), object: newObject({}), want: ['im', '<none>', '3h'] },
    {
      type: newType({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', custom: false }),
      object: newObject({
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080 }, { name: 'grpc' }],
        endpoints: [{ addresses: ['127.0.0.1'] }, { addresses: ['127.0.0.2'] }],
      }),
      want: ['im', 'IPv4', '8080,grpc', '127.0.0.1,127.0.0.2', '3h'],
    },
    {
      type: newType({ group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', custom: false }),
      object: newObject({ addressType: 'IPv4', ports: [], endpoints: [] }),
      want: ['im', 'IPv4', '<unset>', '<unset>', '3h'],
    },
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
