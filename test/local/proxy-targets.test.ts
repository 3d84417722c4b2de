import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  podProxyTarget,
  proxyName,
  serviceProxyTarget,
  type ProxyTarget,
} from '../../local/apiserver/streaming/proxy-targets.js';
import type { KubeObject } from '../../local/apiserver/types.js';

const pod: KubeObject = {
  metadata: { name: 'web' },
  spec: {
    containers: [
      {
        ports: [
          { name: 'http', containerPort: 8080 },
          { name: 'admin', containerPort: 9090 },
        ],
      },
    ],
  },
  status: { podIP: '127.1.0.1' },
};

const service: KubeObject = {
  metadata: { name: 'web' },
  spec: {
    ports: [
      { name: 'web', port: 80 },
      { name: 'metrics', port: 9100 },
    ],
  },
};

/** A slice of Service web: its port `name` → `port`, and endpoints (address, ready). */
function slice(ports: Record<string, number>, endpoints: [string, boolean | undefined][]): KubeObject {
  return {
    metadata: { name: 'web-x', labels: { 'kubernetes.io/service-name': 'web' } },
    ports: Object.entries(ports).map(([name, port]) => ({ name, port })),
    endpoints: endpoints.map(([address, ready]) => ({
      addresses: [address],
      conditions: ready === undefined ? {} : { ready },
    })),
  };
}

test('proxy names split into scheme, name and port as the API reads them', () => {
  const cases: [string, ReturnType<typeof proxyName> | RegExp][] = [
    ['web', { scheme: 'http', name: 'web', port: '' }],
    ['web:8080', { scheme: 'http', name: 'web', port: '8080' }],
    ['https:web:admin', { scheme: 'https', name: 'web', port: 'admin' }],
    ['https:web:', { scheme: 'https', name: 'web', port: '' }],
    ['ftp:web:21', /invalid pod request "ftp:web:21"/],
    [':8080', /invalid pod request ":8080"/],
    ['a:b:c:d', /invalid pod request "a:b:c:d"/],
  ];
  for (const [id, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => proxyName(id, 'pod'), expected, id);
    else assert.deepEqual(proxyName(id, 'pod'), expected, id);
  }
});

test("a pod's proxy target is its address on the port asked, named, first declared, or the scheme's", () => {
  const cases: [string, KubeObject, ProxyTarget | RegExp][] = [
    ['web:7000', pod, { scheme: 'http', host: '127.1.0.1', port: 7000 }],
    ['web:admin', pod, { scheme: 'http', host: '127.1.0.1', port: 9090 }],
    ['web', pod, { scheme: 'http', host: '127.1.0.1', port: 8080 }],
    ['https:web:', { ...pod, spec: { containers: [{}] } }, { scheme: 'https', host: '127.1.0.1', port: 443 }],
    ['web:nope', pod, /pod web has no container port named nope/],
    ['web', { ...pod, status: {} }, /pod web has no IP address yet/],
  ];
  for (const [id, object, expected] of cases) {
    const target = (): ProxyTarget => podProxyTarget(object, proxyName(id, 'pod'));
    if (expected instanceof RegExp) assert.throws(target, expected, id);
    else assert.deepEqual(target(), expected, id);
  }
});

test("a Service's proxy target is a ready endpoint of the asked port, by name or number, picked at random", () => {
  const slices = [
    slice({ web: 8080 }, [
      ['127.1.0.1', true],
      ['127.1.0.2', false],
      ['127.1.0.3', undefined],
    ]),
    slice({ metrics: 9100 }, [['127.1.0.4', true]]),
  ];
  const at = (id: string, random: number): ProxyTarget =>
    serviceProxyTarget(service, slices, proxyName(id, 'service'), () => random);
  assert.deepEqual(at('web:web', 0), { scheme: 'http', host: '127.1.0.1', port: 8080 });
  assert.deepEqual(at('web:80', 0.99), { scheme: 'http', host: '127.1.0.3', port: 8080 }, 'unknown readiness is ready');
  assert.deepEqual(at('https:web:9100', 0.5), { scheme: 'https', host: '127.1.0.4', port: 9100 });
  assert.throws(() => at('web:81', 0), /no service port 81 found for service "web"/);
  assert.throws(() => at('web', 0), /no endpoints available for service "web"/, 'no port is named ""');
  assert.throws(
    () => serviceProxyTarget(service, [], proxyName('web:web', 'service'), () => 0),
    (error: { code?: number }) => error.code === 503,
  );
});
