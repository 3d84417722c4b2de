import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../local/apiserver/errors.js';
import { decodeObject } from '../../local/apiserver/protobuf/decode-object.js';
import { MessageDecoder } from '../../local/apiserver/protobuf/message-decoder.js';
import { readFields, readPackedVarints } from '../../local/apiserver/protobuf/wire-reader.js';
import { bytes, entry, int, k8sBody, varint } from '../support/protobuf-bytes.js';
import { rawRequest, startLocalApi } from '../support/local-api.js';

/** The API error `fn` throws. */
function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ApiError, `an ApiError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected an ApiError');
}

test('the wire reader reads varints, fixed fields and length-delimited fields in wire order', () => {
  const fixed64 = Buffer.concat([varint(2 * 8 + 1), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])]);
  const fixed32 = Buffer.concat([varint(3 * 8 + 5), Buffer.from([9, 8, 7, 6])]);
  const fields = readFields(Buffer.concat([int(1, 300), fixed64, fixed32, bytes(4, 'hi'), int(5, -1)]));
  assert.deepEqual(
    fields.map((f) => [f.number, f.wireType, Buffer.isBuffer(f.value) ? [...f.value] : f.value]),
    [
      [1, 0, 300n],
      [2, 1, [1, 2, 3, 4, 5, 6, 7, 8]],
      [3, 5, [9, 8, 7, 6]],
      [4, 2, [0x68, 0x69]],
      [5, 0, -1n],
    ],
  );
  assert.deepEqual(varint(300), Buffer.from([0xac, 0x02]), 'the test encoder writes the protobuf example');
  assert.equal(int(5, -1).length, 11, 'a negative varint takes ten bytes after its tag');
  assert.deepEqual(readPackedVarints(Buffer.concat([varint(1), varint(150), varint(2)])), [1n, 150n, 2n]);
});

test('the wire reader answers 400 for truncated or malformed input', () => {
  const cases: [string, Buffer][] = [
    ['a varint cut short', Buffer.from([0x08, 0xac])],
    ['a length past the end', Buffer.concat([varint(1 * 8 + 2), varint(10), Buffer.from('abc')])],
    ['a fixed64 cut short', Buffer.concat([varint(1 * 8 + 1), Buffer.from([1, 2, 3])])],
    ['a group (wire type 3)', Buffer.from([0x0b])],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['a varint of eleven bytes', Buffer.concat([Buffer.from([0x08]), Buffer.alloc(11, 0xff)])],
  ];
  for (const [what, input] of cases) {
    const error = apiError(() => readFields(input));
    assert.equal(error.code, 400, what);
    assert.equal(error.reason, 'BadRequest', what);
  }
});

test('a ConfigMap decodes to its JSON: names, maps, bytes as base64, zero values as Go leaves them', () => {
  const meta = bytes(
    1,
    bytes(1, 'settings'),
    bytes(2, ''),
    bytes(3, 'default'),
    bytes(5, ''),
    int(7, 0),
    bytes(8),
    entry(11, 'app', 'web'),
    entry(11, 'tier', 'front'),
    bytes(14, 'example.com/keep'),
  );
  const raw = Buffer.concat([
    meta,
    entry(2, 'mode', 'fast'),
    entry(3, 'blob', bytes(2, Buffer.from([0, 1, 254]))),
    int(4, false),
  ]);
  assert.deepEqual(decodeObject(k8sBody('v1', 'ConfigMap', raw)), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'settings',
      namespace: 'default',
      creationTimestamp: null,
      labels: { app: 'web', tier: 'front' },
      finalizers: ['example.com/keep'],
    },
    data: { mode: 'fast' },
    binaryData: { blob: 'AAH+' },
    immutable: false,
  });
});

test('a Deployment decodes times, quantities, int-or-strings, pointer zeros and inline messages', () => {
  const probe = bytes(11, bytes(1, bytes(2, bytes(1, '/ready'), bytes(2, int(1, 1), bytes(3, 'http')))), int(4, 1));
  const container = bytes(
    2,
    bytes(1, 'web'),
    bytes(2, 'example/web:1'),
    bytes(6, int(3, 8080), bytes(4, 'TCP')),
    bytes(7, bytes(1, 'KEY'), bytes(3, bytes(4, bytes(1, bytes(1, 'creds')), bytes(2, 'key')))),
    bytes(8, entry(1, 'cpu', bytes(2, bytes(1, '500m'))), entry(2, 'memory', bytes(2, bytes(1, '64Mi')))),
    probe,
    int(16, false),
  );
  const template = bytes(3, bytes(1, entry(11, 'app', 'web')), bytes(2, container, int(4, 0)));
  const strategy = bytes(
    4,
    bytes(1, 'RollingUpdate'),
    bytes(2, bytes(1, int(2, 0)), bytes(2, int(1, 1), bytes(3, '25%'))),
  );
  const spec = bytes(2, int(1, 0), bytes(2, entry(1, 'app', 'web')), template, strategy);
  const meta = bytes(1, bytes(1, 'web'), bytes(8, int(1, 1_700_000_000), int(2, 5)));
  const deployment = decodeObject(k8sBody('apps/v1', 'Deployment', Buffer.concat([meta, spec, bytes(3)]))) as any;
  assert.equal(deployment.metadata.creationTimestamp, '2023-11-14T22:13:20Z');
  assert.equal(deployment.spec.replicas, 0, 'a *int32 zero is sent on purpose');
  assert.deepEqual(deployment.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
  });
  assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 0);
  assert.deepEqual(deployment.spec.template.spec.containers, [
    {
      name: 'web',
      image: 'example/web:1',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'key' } } }],
      resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
      readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
    },
  ]);
  assert.deepEqual(deployment.status, {});
});

test('a field number the tables do not know is refused with 415 naming the message, the number and kubectl apply', () => {
  const spec = bytes(2, bytes(2, bytes(1, 'c'), bytes(2, 'i')), int(99, 1));
  const error = apiError(() => decodeObject(k8sBody('v1', 'Pod', Buffer.concat([bytes(1, bytes(1, 'p')), spec]))));
  assert.equal(error.code, 415);
  assert.equal(error.reason, 'UnsupportedMediaType');
  assert.match(error.message, /field 99 of the protobuf message PodSpec in a Pod/);
  assert.match(error.message, /kubectl create \.\.\. --dry-run=client -o yaml \| kubectl apply -f -/);
  const nested = apiError(() => decodeObject(k8sBody('v1', 'Service', bytes(2, bytes(1, bytes(4, int(4, 7)))))));
  assert.match(nested.message, /field 4 of the protobuf message IntOrString in a Service/);
});

test('a kind without a table is refused with 415 naming it; bodies that are not Kubernetes protobuf with 400', () => {
  const node = apiError(() => decodeObject(k8sBody('v1', 'Node', bytes(1, bytes(1, 'n1')))));
  assert.equal(node.code, 415);
  assert.match(node.message, /does not decode a Node \(v1\) sent as protobuf: .*kubectl apply -f -/);
  const gzip = Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bytes(1, bytes(1, 'v1'), bytes(2, 'Pod')),
    bytes(3, 'gzip'),
  ]);
  assert.equal(apiError(() => decodeObject(gzip)).code, 415);
  assert.equal(apiError(() => decodeObject(Buffer.from('{"kind":"Pod"}'))).code, 400);
  const whole = k8sBody('v1', 'ConfigMap', bytes(1, bytes(1, 'settings')));
  const truncated = apiError(() => decodeObject(whole.subarray(0, whole.length - 6)));
  assert.equal(truncated.code, 400);
  assert.match(truncated.message, /truncated/);
  const wrongWire = apiError(() => decodeObject(k8sBody('v1', 'ConfigMap', int(1, 3))));
  assert.equal(wrongWire.code, 400);
});

test('field tables that name a message twice or a type no table holds are refused at construction', () => {
  assert.throws(() => new MessageDecoder([{ A: { 1: 'b B' } }]), /A.b has type B, which no table holds/);
  assert.throws(() => new MessageDecoder([{ A: {} }, { A: {} }]), /message A is defined twice/);
  assert.throws(() => new MessageDecoder([{ A: { 1: 'two words here' } }]), TypeError);
});

test('the API server stores protobuf creates and updates as JSON; a kind without a table is 415, one not served 404', async () => {
  const api = await startLocalApi();
  try {
    const headers = {
      'content-type': 'application/vnd.kubernetes.protobuf',
      accept: 'application/vnd.kubernetes.protobuf, application/json',
    };
    const body = k8sBody('v1', 'ConfigMap', Buffer.concat([bytes(1, bytes(1, 'from-proto')), entry(2, 'k', 'v')]));
    const created = await rawRequest(api, '/api/v1/namespaces/default/configmaps', { method: 'POST', headers, body });
    assert.equal(created.status, 201, created.text);
    assert.match(String(created.headers['content-type']), /^application\/json/);
    assert.deepEqual(created.json<{ data: unknown }>().data, { k: 'v' });
    const update = k8sBody('v1', 'ConfigMap', Buffer.concat([bytes(1, bytes(1, 'from-proto')), entry(2, 'k', 'w')]));
    const path = '/api/v1/namespaces/default/configmaps/from-proto';
    const updated = await rawRequest(api, path, { method: 'PUT', headers, body: update });
    assert.equal(updated.status, 200, updated.text);
    assert.deepEqual(updated.json<{ data: unknown }>().data, { k: 'w' });
    const node = k8sBody('v1', 'Node', bytes(1, bytes(1, 'n1')));
    const refused = await rawRequest(api, '/api/v1/nodes', { method: 'POST', headers, body: node });
    assert.equal(refused.status, 415);
    assert.deepEqual((({ kind, reason, code }) => ({ kind, reason, code }))(refused.json<Record<string, unknown>>()), {
      kind: 'Status',
      reason: 'UnsupportedMediaType',
      code: 415,
    });
    // What is not served is 404 before its body is decoded, as with a JSON body.
    const quota = k8sBody('v1', 'ResourceQuota', bytes(1, bytes(1, 'q')));
    const unserved = await rawRequest(api, '/api/v1/namespaces/default/resourcequotas', {
      method: 'POST',
      headers,
      body: quota,
    });
    assert.equal(unserved.status, 404, unserved.text);
  } finally {
    await api.close();
  }
});

test('a CronJob and an autoscaling/v1 HorizontalPodAutoscaler decode as kubectl create cronjob and autoscale send them', () => {
  const container = bytes(2, bytes(1, 'tick'), bytes(2, 'busybox'));
  const jobSpec = bytes(2, bytes(6, bytes(1, bytes(1, 'tick')), bytes(2, container, bytes(3, 'OnFailure'))));
  const cronSpec = bytes(2, bytes(1, '*/5 * * * *'), bytes(5, bytes(1, bytes(1, 'tick')), jobSpec));
  const cronJob = decodeObject(
    k8sBody('batch/v1', 'CronJob', Buffer.concat([bytes(1, bytes(1, 'tick')), cronSpec, bytes(3)])),
  );
  assert.deepEqual((cronJob as any).spec, {
    schedule: '*/5 * * * *',
    jobTemplate: {
      metadata: { name: 'tick' },
      spec: {
        template: {
          metadata: { name: 'tick' },
          spec: { containers: [{ name: 'tick', image: 'busybox' }], restartPolicy: 'OnFailure' },
        },
      },
    },
  });
  const target = bytes(1, bytes(1, 'Deployment'), bytes(2, 'web'), bytes(3, 'apps/v1'));
  const hpaSpec = bytes(2, target, int(3, 5), int(4, 80));
  const hpa = decodeObject(
    k8sBody(
      'autoscaling/v1',
      'HorizontalPodAutoscaler',
      Buffer.concat([bytes(1, bytes(1, 'web')), hpaSpec, bytes(3, int(3, 0))]),
    ),
  );
  assert.deepEqual(hpa, {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web' },
    spec: {
      scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' },
      maxReplicas: 5,
      targetCPUUtilizationPercentage: 80,
    },
    status: {},
  });
});
