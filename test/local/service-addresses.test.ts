import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type V1Service } from '@kubernetes/client-node';
import { randomFirstServiceAddress, ServiceAddresses } from '../../local/apiserver/store/service-addresses.js';
import { addressesInUse, serviceCauses } from '../../local/apiserver/store/service-spec.js';
import type { KubeObject } from '../../local/apiserver/types.js';
import { AddressPool } from '../../local/kubelet/address-pool.js';
import { statusOf, startLocalApi } from '../support/local-api.js';

const FIRST = '127.250.7.1';

function service(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'ClusterIP', ports: [{ port: 80 }], ...spec },
  };
}

function addressOf(object: KubeObject): unknown {
  return (object.spec as { clusterIP?: unknown }).clusterIP;
}

test('a Service range holds its addresses, picks a free one from a random start, and stops at 127.255.255.254', () => {
  const range = new ServiceAddresses({ first: FIRST, size: 4, random: () => 0.5 });
  assert.equal(range.range, '127.250.7.1-127.250.7.4');
  assert.equal(range.contains('127.250.7.4'), true);
  assert.equal(range.contains('127.250.7.5'), false);
  assert.equal(range.contains('not-an-ip'), false);
  assert.equal(range.pick(new Set()), '127.250.7.3');
  assert.equal(range.pick(new Set(['127.250.7.3', '127.250.7.4'])), '127.250.7.1');
  assert.equal(range.pick(new Set(['127.250.7.1', '127.250.7.2', '127.250.7.3', '127.250.7.4'])), undefined);
  assert.equal(new ServiceAddresses({ first: '127.255.255.253' }).range, '127.255.255.253-127.255.255.254');
  assert.throws(() => new ServiceAddresses({ first: '10.96.0.1' }), /firstServiceAddress/);
  assert.throws(() => new ServiceAddresses({ first: FIRST, size: 0 }), /serviceAddressCount/);
});

test('default Service ranges lie above 127.239.255.254, where pod ranges starting below 127.240.0.0 end', () => {
  for (const r of [0, 0.5, 0.999_999]) {
    const range = new ServiceAddresses({ first: randomFirstServiceAddress(() => r) });
    const [first, last] = range.range.split('-');
    assert.ok(Number(first!.split('.')[1]) >= 240, range.range);
    assert.equal(last!.split('.')[0], '127');
  }
  const pods = new AddressPool('127.239.255.253');
  assert.deepEqual([pods.allocate(), pods.allocate()], ['127.239.255.253', '127.239.255.254']);
  assert.throws(() => pods.allocate(), RangeError);
});

test('serviceCauses: a new Service gets a free address, a headless one None, a requested one if in range and free', () => {
  const at = { addresses: new ServiceAddresses({ first: FIRST, size: 2, random: () => 0 }), inUse: new Set<string>() };
  const fresh = service('a');
  assert.deepEqual(serviceCauses(fresh, undefined, at), []);
  assert.deepEqual((fresh.spec as { clusterIPs: string[] }).clusterIPs, ['127.250.7.1']);
  const headless = service('h', { clusterIP: 'None' });
  assert.deepEqual(serviceCauses(headless, undefined, at), []);
  assert.deepEqual((headless.spec as { clusterIPs: string[] }).clusterIPs, ['None']);
  const taken = { ...at, inUse: new Set(['127.250.7.2']) };
  const cases: { clusterIP: string; message: RegExp }[] = [
    { clusterIP: '127.250.7.2', message: /failed to allocate IP 127\.250\.7\.2: provided IP is already allocated/ },
    {
      clusterIP: '127.250.8.1',
      message: /not in the valid range\. The range of valid IPs is 127\.250\.7\.1-127\.250\.7\.2/,
    },
    { clusterIP: '300.1.1.1', message: /must be a valid IP address/ },
  ];
  for (const c of cases) {
    const causes = serviceCauses(service('b', { clusterIP: c.clusterIP }), undefined, taken);
    assert.equal(causes.length, 1, c.clusterIP);
    assert.match(causes[0]!.message, c.message);
  }
  assert.throws(
    () => serviceCauses(service('c'), undefined, { ...at, inUse: new Set(['127.250.7.1', '127.250.7.2']) }),
    /range is full/,
  );
});

test('serviceCauses: an update keeps the address, refuses a change, and other types are refused', () => {
  const at = { addresses: new ServiceAddresses({ first: FIRST, size: 8 }), inUse: new Set<string>() };
  const live = service('a', { clusterIP: '127.250.7.3', clusterIPs: ['127.250.7.3'] });
  const omitted = service('a');
  assert.deepEqual(serviceCauses(omitted, live, at), []);
  assert.equal(addressOf(omitted), '127.250.7.3');
  const changed = serviceCauses(service('a', { clusterIP: '127.250.7.4' }), live, at);
  assert.deepEqual(
    changed.map((c) => `${c.field}: ${c.message}`),
    [
      'spec.clusterIP: Invalid value: "127.250.7.4": field is immutable',
      'spec.clusterIPs[0]: Invalid value: []string{"127.250.7.4"}: may not change once set',
    ],
  );
  for (const type of ['NodePort', 'LoadBalancer', 'ExternalName']) {
    const [cause] = serviceCauses(service('n', { type }), undefined, at);
    assert.equal(cause?.field, 'spec.type');
    assert.match(cause.message, /the local control plane serves ClusterIP and headless Services only/);
  }
  const others = [live, service('b', { clusterIP: 'None' }), service('c', { clusterIP: '127.250.7.5' })];
  assert.deepEqual([...addressesInUse(others, service('c'))], ['127.250.7.3']);
});

test('the API server allocates from its range, refuses a taken address, releases on delete, and a dry run takes none', async () => {
  const api = await startLocalApi({ firstServiceAddress: FIRST, serviceAddressCount: 16 });
  try {
    const core = api.kc.makeApiClient(CoreV1Api);
    const namespace = 'default';
    const body = (name: string, clusterIP?: string): V1Service => ({
      metadata: { name },
      spec: { selector: { app: name }, ports: [{ port: 80 }], ...(clusterIP ? { clusterIP } : {}) },
    });
    const created = await core.createNamespacedService({ namespace, body: body('a') });
    assert.ok(new ServiceAddresses({ first: FIRST, size: 16 }).contains(created.spec!.clusterIP!));
    const { type, sessionAffinity, ports, ipFamilies, ipFamilyPolicy, internalTrafficPolicy } = created.spec!;
    assert.deepEqual(
      {
        type,
        sessionAffinity,
        ports: ports?.map((p) => ({ ...p })),
        ipFamilies,
        ipFamilyPolicy,
        internalTrafficPolicy,
      },
      {
        type: 'ClusterIP',
        sessionAffinity: 'None',
        ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
        ipFamilies: ['IPv4'],
        ipFamilyPolicy: 'SingleStack',
        internalTrafficPolicy: 'Cluster',
      },
    );
    const taken = await statusOf(core.createNamespacedService({ namespace, body: body('b', created.spec!.clusterIP) }));
    assert.equal(taken.code, 422);
    assert.match(taken.message, /provided IP is already allocated/);
    const dry = await core.createNamespacedService({ namespace, body: body('c', '127.250.7.9'), dryRun: 'All' });
    assert.equal(dry.spec?.clusterIP, '127.250.7.9');
    const real = await core.createNamespacedService({ namespace, body: body('c', '127.250.7.9') });
    assert.equal(real.spec?.clusterIP, '127.250.7.9', 'the dry run reserved nothing');
    await core.deleteNamespacedService({ namespace, name: 'a' });
    const again = await core.createNamespacedService({ namespace, body: body('d', created.spec!.clusterIP) });
    assert.equal(again.spec?.clusterIP, created.spec?.clusterIP, 'the deleted Service released its address');
    const nodePort = await statusOf(
      core.createNamespacedService({
        namespace,
        body: { ...body('e'), spec: { ...body('e').spec, type: 'NodePort' } },
      }),
    );
    assert.equal(nodePort.code, 422);
    assert.match(nodePort.message, /the local control plane serves ClusterIP and headless Services only/);
  } finally {
    await api.close();
  }
});
