import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_GATEWAY_NAME_LENGTH, resolveSpec } from '../../operator/spec.js';
import { newGateway, problems } from './spec-fixtures.js';

/** The specs and gateway names resolveSpec() refuses, and the field each problem names. */

/** Each case: a spec (merged over a valid one) and the problem fields it must produce, in order. */
const invalidSpecs: { what: string; spec: Record<string, unknown>; fields: string[]; message?: RegExp }[] = [
  {
    what: 'replicas of type string',
    spec: { replicas: '3' },
    fields: ['spec.replicas'],
    message: /must be of type integer, got string/,
  },
  {
    what: 'replicas not whole',
    spec: { replicas: 1.5 },
    fields: ['spec.replicas'],
    message: /type integer, got number/,
  },
  { what: 'replicas -1', spec: { replicas: -1 }, fields: ['spec.replicas'], message: /between 0 and 1000, got -1/ },
  { what: 'replicas 1001', spec: { replicas: 1001 }, fields: ['spec.replicas'] },
  {
    what: 'an image with upper case',
    spec: { image: 'Ghcr.io/imring' },
    fields: ['spec.image'],
    message: /OCI image reference/,
  },
  { what: 'an image with a bad digest', spec: { image: 'imring@sha256:abc' }, fields: ['spec.image'] },
  {
    what: 'an image over 512 characters',
    spec: { image: 'a'.repeat(513) },
    fields: ['spec.image'],
    message: /more than 512/,
  },
  { what: 'an image that is a number', spec: { image: 5 }, fields: ['spec.image'], message: /type string/ },
  { what: 'ports that are not an object', spec: { ports: [10001] }, fields: ['spec.ports'] },
  { what: 'ports.ws 0', spec: { ports: { ws: 0 } }, fields: ['spec.ports.ws'] },
  { what: 'ports.grpc 70000', spec: { ports: { grpc: 70000 } }, fields: ['spec.ports.grpc'] },
  { what: 'ports.http of type string', spec: { ports: { http: '80' } }, fields: ['spec.ports.http'] },
  {
    what: 'two equal ports',
    spec: { ports: { ws: 9000, http: 9000 } },
    fields: ['spec.ports'],
    message: /^ports\.ws, ports\.grpc and ports\.http must differ$/,
  },
  { what: 'a port equal to a default one', spec: { ports: { http: 10001 } }, fields: ['spec.ports'] },
  {
    what: 'a request that is no quantity',
    spec: { resources: { requests: { cpu: 'lots' } } },
    fields: ['spec.resources.requests.cpu'],
    message: /quantity/,
  },
  {
    what: 'a limit that is a boolean',
    spec: { resources: { limits: { memory: true } } },
    fields: ['spec.resources.limits.memory'],
  },
  {
    what: 'resources.requests an array',
    spec: { resources: { requests: ['1'] } },
    fields: ['spec.resources.requests'],
  },
  {
    what: 'a label value that is a number',
    spec: { podTemplate: { labels: { tier: 1 } } },
    fields: ['spec.podTemplate.labels.tier'],
  },
  {
    what: 'annotations a string',
    spec: { podTemplate: { annotations: 'a=b' } },
    fields: ['spec.podTemplate.annotations'],
  },
  {
    what: 'a nodeSelector value that is an object',
    spec: { podTemplate: { nodeSelector: { zone: {} } } },
    fields: ['spec.podTemplate.nodeSelector.zone'],
  },
  {
    what: 'tolerations an object',
    spec: { podTemplate: { tolerations: { key: 'a' } } },
    fields: ['spec.podTemplate.tolerations'],
  },
  {
    what: 'a toleration that is a string',
    spec: { podTemplate: { tolerations: [{}, 'a'] } },
    fields: ['spec.podTemplate.tolerations[1]'],
  },
  {
    what: 'an env name with a space',
    spec: { podTemplate: { env: [{ name: 'OK' }, { name: 'NO PE' }] } },
    fields: ['spec.podTemplate.env[1].name'],
  },
  {
    what: 'an env name starting with a digit',
    spec: { podTemplate: { env: [{ name: '1X' }] } },
    fields: ['spec.podTemplate.env[0].name'],
  },
  {
    what: 'an env entry without a name',
    spec: { podTemplate: { env: [{ value: 'x' }] } },
    fields: ['spec.podTemplate.env[0].name'],
    message: /^Required value$/,
  },
  {
    what: 'an env value that is a number',
    spec: { podTemplate: { env: [{ name: 'N', value: 1 }] } },
    fields: ['spec.podTemplate.env[0].value'],
  },
  { what: 'env an object', spec: { podTemplate: { env: { A: '1' } } }, fields: ['spec.podTemplate.env'] },
  {
    what: 'tableSize 2',
    spec: { ring: { tableSize: 2 } },
    fields: ['spec.ring.tableSize'],
    message: /between 3 and 10000019/,
  },
  { what: 'tableSize above 10000019', spec: { ring: { tableSize: 10000020 } }, fields: ['spec.ring.tableSize'] },
  {
    what: 'tableSize not prime',
    spec: { ring: { tableSize: 65536 } },
    fields: ['spec.ring.tableSize'],
    message: /^must be a prime number, got 65536$/,
  },
  {
    what: 'tableSize prime but not above replicas',
    spec: { replicas: 7, ring: { tableSize: 7 } },
    fields: ['spec.ring.tableSize'],
    message: /greater than spec\.replicas \(7\)/,
  },
  {
    what: 'tableSize neither prime nor above replicas',
    spec: { replicas: 10, ring: { tableSize: 9 } },
    fields: ['spec.ring.tableSize', 'spec.ring.tableSize'],
  },
  { what: 'ackTimeoutSeconds 0', spec: { ring: { ackTimeoutSeconds: 0 } }, fields: ['spec.ring.ackTimeoutSeconds'] },
  {
    what: 'ackTimeoutSeconds 3601',
    spec: { ring: { ackTimeoutSeconds: 3601 } },
    fields: ['spec.ring.ackTimeoutSeconds'],
  },
  { what: 'ring a number', spec: { ring: 5 }, fields: ['spec.ring'] },
  { what: 'drain.timeoutSeconds -1', spec: { drain: { timeoutSeconds: -1 } }, fields: ['spec.drain.timeoutSeconds'] },
  {
    what: 'drain.migrateRatePerSecond 0',
    spec: { drain: { migrateRatePerSecond: 0 } },
    fields: ['spec.drain.migrateRatePerSecond'],
  },
  {
    what: 'drain.handoffWindowMs 60001',
    spec: { drain: { handoffWindowMs: 60001 } },
    fields: ['spec.drain.handoffWindowMs'],
  },
  {
    what: 'drain.moveDeadlineMs 300001',
    spec: { drain: { moveDeadlineMs: 300001 } },
    fields: ['spec.drain.moveDeadlineMs'],
  },
  { what: 'unreadyGraceSeconds 3601', spec: { unreadyGraceSeconds: 3601 }, fields: ['spec.unreadyGraceSeconds'] },
  {
    what: 'rollout that is a string',
    spec: { rollout: '10%' },
    fields: ['spec.rollout'],
    message: /must be an object/,
  },
  {
    what: 'rollout.maxUnavailable 0',
    spec: { rollout: { maxUnavailable: 0 } },
    fields: ['spec.rollout.maxUnavailable'],
    message: /between 1 and 1000, got 0/,
  },
  {
    what: 'rollout.maxUnavailable 1001',
    spec: { rollout: { maxUnavailable: 1001 } },
    fields: ['spec.rollout.maxUnavailable'],
  },
  {
    what: 'rollout.maxUnavailable not whole',
    spec: { rollout: { maxUnavailable: 1.5 } },
    fields: ['spec.rollout.maxUnavailable'],
    message: /integer or a percentage string, got 1.5/,
  },
  {
    what: 'rollout.maxUnavailable "0%"',
    spec: { rollout: { maxUnavailable: '0%' } },
    fields: ['spec.rollout.maxUnavailable'],
    message: /percentage from "1%" to "100%", got "0%"/,
  },
  {
    what: 'rollout.maxUnavailable "101%"',
    spec: { rollout: { maxUnavailable: '101%' } },
    fields: ['spec.rollout.maxUnavailable'],
  },
  {
    what: 'rollout.maxUnavailable "2"',
    spec: { rollout: { maxUnavailable: '2' } },
    fields: ['spec.rollout.maxUnavailable'],
  },
  {
    what: 'rollout.maxUnavailable "5.5%"',
    spec: { rollout: { maxUnavailable: '5.5%' } },
    fields: ['spec.rollout.maxUnavailable'],
  },
  {
    what: 'rollout.maxUnavailable true',
    spec: { rollout: { maxUnavailable: true } },
    fields: ['spec.rollout.maxUnavailable'],
  },
  { what: 'no auth', spec: { auth: undefined }, fields: ['spec.auth'], message: /^Required value$/ },
  {
    what: 'auth without secretName',
    spec: { auth: { secretKey: 'k' } },
    fields: ['spec.auth.secretName'],
    message: /^Required value$/,
  },
  { what: 'an empty secretName', spec: { auth: { secretName: '' } }, fields: ['spec.auth.secretName'] },
  {
    what: 'a secretName with upper case',
    spec: { auth: { secretName: 'Token' } },
    fields: ['spec.auth.secretName'],
    message: /DNS-1123 subdomain/,
  },
  {
    what: 'a secretName over 253 characters',
    spec: { auth: { secretName: 'a'.repeat(254) } },
    fields: ['spec.auth.secretName'],
  },
  {
    what: 'a secretKey with a slash',
    spec: { auth: { secretName: 's', secretKey: 'a/b' } },
    fields: ['spec.auth.secretKey'],
  },
  {
    what: 'an unknown logLevel',
    spec: { logLevel: 'verbose' },
    fields: ['spec.logLevel'],
    message: /^Unsupported value: "verbose": supported values: "trace", "debug", "info", "warn", "error"$/,
  },
  {
    what: 'several problems at once',
    spec: { replicas: -1, image: '', logLevel: 1 },
    fields: ['spec.replicas', 'spec.image', 'spec.logLevel'],
  },
];

for (const c of invalidSpecs) {
  test(`a spec with ${c.what} is refused at ${c.fields.join(', ')}`, () => {
    const found = problems(resolveSpec(newGateway(c.spec)));
    assert.deepEqual(
      found.map((p) => p.field),
      c.fields,
    );
    if (c.message) assert.match(found[0]!.message, c.message);
  });
}

const badNames: { what: string; name: string | undefined; message: RegExp }[] = [
  { what: 'absent', name: undefined, message: /^Required value$/ },
  {
    what: `${MAX_GATEWAY_NAME_LENGTH + 1} characters long`,
    name: 'a'.repeat(MAX_GATEWAY_NAME_LENGTH + 1),
    message: /no more than 52 characters, got 53/,
  },
  { what: 'with a dot', name: 'im.chat', message: /DNS-1123 label/ },
  { what: 'with upper case', name: 'Im', message: /DNS-1123 label/ },
  { what: 'ending in a dash', name: 'im-', message: /DNS-1123 label/ },
];

for (const c of badNames) {
  test(`a gateway whose name is ${c.what} is refused at metadata.name`, () => {
    const found = problems(
      resolveSpec({ metadata: c.name === undefined ? {} : { name: c.name }, spec: { auth: { secretName: 's' } } }),
    );
    assert.deepEqual(
      found.map((p) => p.field),
      ['metadata.name'],
    );
    assert.match(found[0]!.message, c.message);
  });
}

test('a name of exactly 52 characters is accepted', () => {
  assert.equal(resolveSpec(newGateway({}, 'a'.repeat(MAX_GATEWAY_NAME_LENGTH))).ok, true);
});

test('a spec that is not an object is refused at spec, together with a bad name', () => {
  assert.deepEqual(
    problems(resolveSpec({ metadata: { name: 'Bad' }, spec: 'x' })).map((p) => p.field),
    ['metadata.name', 'spec'],
  );
  assert.deepEqual(
    problems(resolveSpec({ metadata: { name: 'im' }, spec: [] })).map((p) => p.field),
    ['spec'],
  );
});

test('an absent spec is refused for its missing auth only', () => {
  assert.deepEqual(problems(resolveSpec({ metadata: { name: 'im' } })), [
    { field: 'spec.auth', message: 'Required value' },
  ]);
});
