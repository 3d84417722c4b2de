import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import {
  desiredEndpoints,
  endpointGroups,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  planSlices,
  SERVICE_NAME_LABEL,
} from '../../local/controllers/endpoint-slice-plan.js';
import { proxyPlan } from '../../local/controllers/service-proxy-plan.js';

interface PodInit {
  ip?: string;
  ready?: boolean;
  terminating?: boolean;
  phase?: string;
  app?: string;
  port?: number;
}

function newPod(name: string, init: PodInit = {}): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: { app: init.app ?? 'web' },
      ...(init.terminating ? { deletionTimestamp: new Date(0) } : {}),
    },
    spec: {
      nodeName: 'local-1',
      containers: [{ name: 'main', ports: [{ name: 'http', containerPort: init.port ?? 8080, protocol: 'TCP' }] }],
    },
    status: {
      phase: init.phase ?? 'Running',
      ...(init.ip === '' ? {} : { podIP: init.ip ?? `127.16.0.${name.length}` }),
      conditions: [{ type: 'Ready', status: init.ready === false ? 'False' : 'True' }],
    },
  };
}

function newService(spec: Partial<NonNullable<V1Service['spec']>> = {}): V1Service {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'svc-uid', labels: { tier: 'front' } },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }], ...spec },
  };
}

test('endpoint groups: selected pods with IPs, conditions as a cluster sets them, named ports resolved per pod', () => {
  const pods = [
    newPod('a', { ip: '127.16.0.2' }),
    newPod('b', { ip: '127.16.0.1', ready: false }),
    newPod('c', { ip: '127.16.0.3', terminating: true }),
    newPod('d', { ip: '' }),
    newPod('e', { phase: 'Succeeded' }),
    newPod('f', { app: 'other' }),
    newPod('g', { ip: '127.16.0.9', port: 9090 }),
  ];
  const groups = endpointGroups(newService(), pods);
  assert.deepEqual(
    groups.map((g) => [g.ports, g.endpoints.map((e) => [e.addresses[0], e.conditions])]),
    [
      [
        [{ name: 'http', port: 8080, protocol: 'TCP' }],
        [
          ['127.16.0.1', { ready: false, serving: false, terminating: false }],
          ['127.16.0.2', { ready: true, serving: true, terminating: false }],
          ['127.16.0.3', { ready: false, serving: true, terminating: true }],
        ],
      ],
      [
        [{ name: 'http', port: 9090, protocol: 'TCP' }],
        [['127.16.0.9', { ready: true, serving: true, terminating: false }]],
      ],
    ],
  );
  assert.deepEqual(groups[0]!.endpoints[1]!.targetRef, { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' });
  assert.equal(groups[0]!.endpoints[1]!.nodeName, 'local-1');
  const published = endpointGroups(newService({ publishNotReadyAddresses: true }), pods.slice(0, 3));
  assert.deepEqual(
    published[0]!.endpoints.map((e) => e.conditions?.ready),
    [true, true, true],
  );
  assert.deepEqual(endpointGroups(newService(), []), [{ ports: [], endpoints: [] }], 'the placeholder slice');
  const unresolved = endpointGroups(newService({ ports: [{ port: 80, targetPort: 'grpc' }] }), pods);
  assert.deepEqual(unresolved, [{ ports: [], endpoints: [] }], 'a pod without the named port is no endpoint');
});

test('slice plan: create with generateName, owner and labels; update in place; delete what no group needs', () => {
  const service = newService();
  const groups = endpointGroups(service, [newPod('a', { ip: '127.16.0.2' })]);
  const first = planSlices(service, groups, []);
  assert.equal(first.create.length, 1);
  const created = first.create[0]!;
  assert.equal(created.metadata?.generateName, 'web-');
  assert.deepEqual(created.metadata?.labels, {
    tier: 'front',
    [SERVICE_NAME_LABEL]: 'web',
    [MANAGED_BY_LABEL]: MANAGED_BY,
  });
  assert.deepEqual(created.metadata?.ownerReferences?.[0], {
    apiVersion: 'v1',
    kind: 'Service',
    name: 'web',
    uid: 'svc-uid',
    controller: true,
    blockOwnerDeletion: true,
  });
  assert.equal(created.addressType, 'IPv4');
  const stored: V1EndpointSlice = {
    ...created,
    metadata: { ...created.metadata, name: 'web-abcde', resourceVersion: '7' },
  };
  assert.deepEqual(planSlices(service, groups, [stored]), { create: [], update: [], delete: [] });
  const moved = endpointGroups(service, [newPod('a', { ip: '127.16.0.2' }), newPod('b', { ip: '127.16.0.4' })]);
  const second = planSlices(service, moved, [stored]);
  assert.deepEqual(
    [second.create.length, second.update.map((s) => s.metadata?.name), second.delete],
    [0, ['web-abcde'], []],
  );
  const stale: V1EndpointSlice = { ...stored, metadata: { ...stored.metadata, name: 'web-zzzzz' }, ports: [] };
  assert.deepEqual(planSlices(service, groups, [stored, stale]).delete, ['web-zzzzz']);
});

test('Endpoints: ready addresses, not-ready ones apart, terminating ones left out', () => {
  const service = newService();
  const pods = [
    newPod('a', { ip: '127.16.0.2' }),
    newPod('b', { ip: '127.16.0.1', ready: false }),
    newPod('c', { ip: '127.16.0.3', terminating: true }),
  ];
  const endpoints = desiredEndpoints(service, endpointGroups(service, pods));
  assert.deepEqual(
    endpoints.subsets?.map((s) => [s.addresses?.map((a) => a.ip), s.notReadyAddresses?.map((a) => a.ip), s.ports]),
    [[['127.16.0.2'], ['127.16.0.1'], [{ name: 'http', port: 8080, protocol: 'TCP' }]]],
  );
  assert.equal(desiredEndpoints(service, endpointGroups(service, [])).subsets, undefined);
});

test('proxy plan: a route per TCP port of a ClusterIP Service, to ready endpoints only; UDP skipped, headless none', () => {
  const ports = [
    { name: 'http', port: 80, targetPort: 'http' },
    { name: 'dns', port: 53, protocol: 'UDP' },
  ];
  const service = newService({ clusterIP: '127.250.0.9', type: 'ClusterIP', ports });
  const pods = [newPod('a', { ip: '127.16.0.2' }), newPod('b', { ip: '127.16.0.1', ready: false })];
  const slices = planSlices(service, endpointGroups(service, pods), []).create;
  const headless = newService({ clusterIP: 'None', ports });
  headless.metadata!.name = 'db';
  assert.deepEqual(proxyPlan([service, headless], slices), {
    routes: [
      {
        address: '127.250.0.9:80',
        host: '127.250.0.9',
        port: 80,
        service: 'default/web',
        backends: ['127.16.0.2:8080'],
      },
    ],
    skipped: [{ service: 'default/web', port: 53, protocol: 'UDP' }],
  });
});
