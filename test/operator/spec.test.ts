import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import {
  MAX_GATEWAY_NAME_LENGTH,
  Patterns,
  resolveSpec,
  SPEC_DEFAULTS,
  type ResolvedSpec,
  type SpecProblem,
  type SpecResult,
} from '../../operator/spec.js';
import { repoRoot } from '../support/fixtures.js';

/** A valid IMGateway `im` whose spec is `spec` (auth filled in unless `spec` sets it). */
function newGateway(
  spec: Record<string, unknown> = {},
  name = 'im',
): { metadata: { name: string }; spec: Record<string, unknown> } {
  return { metadata: { name }, spec: { auth: { secretName: 'im-token' }, ...spec } };
}

function resolved(result: SpecResult): ResolvedSpec {
  assert.ok(result.ok, `expected a valid spec, got ${JSON.stringify(result)}`);
  return result.spec;
}

function problems(result: SpecResult): SpecProblem[] {
  assert.ok(!result.ok, `expected problems, got ${JSON.stringify(result)}`);
  return result.problems;
}

const DEFAULTED: ResolvedSpec = {
  replicas: 1,
  image: 'ghcr.io/imring/imring:0.1.0',
  ports: { ws: 10001, grpc: 10002, http: 10003 },
  resources: {},
  podTemplate: { labels: {}, annotations: {}, nodeSelector: {}, tolerations: [], env: [] },
  ring: { tableSize: 65537, ackTimeoutSeconds: 30 },
  drain: { timeoutSeconds: 120, migrateRatePerSecond: 500, handoffWindowMs: 2000, moveDeadlineMs: 10_000 },
  unreadyGraceSeconds: 30,
  auth: { secretName: 'im-token', secretKey: 'key' },
  logLevel: 'info',
};

test('a spec with only auth.secretName resolves to every default, without warnings', () => {
  const result = resolveSpec(newGateway());
  assert.deepEqual(resolved(result), DEFAULTED);
  assert.deepEqual(result.ok && result.warnings, []);
});

test('null fields and empty sections take the defaults, and null map values are dropped, as the API server would do', () => {
  const spec = resolved(
    resolveSpec(
      newGateway({
        replicas: null,
        ports: {},
        ring: null,
        drain: { timeoutSeconds: null },
        logLevel: null,
        podTemplate: { labels: { a: null } },
      }),
    ),
  );
  assert.deepEqual(spec, DEFAULTED);
});

test('every field given is kept as given, quantities as strings', () => {
  const given = {
    replicas: 7,
    image: 'registry.example.com:5000/im/imring:1.2.3@sha256:' + 'a'.repeat(64),
    ports: { ws: 8080, grpc: 9090, http: 8081 },
    resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: 2 } },
    podTemplate: {
      labels: { team: 'im' },
      annotations: { 'example.com/note': 'x' },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'im', effect: 'NoSchedule' }],
      env: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=512' }, { name: 'EMPTY' }],
    },
    ring: { tableSize: 1009, ackTimeoutSeconds: 10 },
    drain: { timeoutSeconds: 0, migrateRatePerSecond: 100000, handoffWindowMs: 0, moveDeadlineMs: 0 },
    unreadyGraceSeconds: 3600,
    auth: { secretName: 'tokens.im', secretKey: 'hs256.key' },
    logLevel: 'debug',
  };
  const result = resolveSpec({ metadata: { name: 'im' }, spec: given });
  assert.deepEqual(resolved(result), {
    ...given,
    resources: { requests: { cpu: '500m', memory: '256Mi' }, limits: { cpu: '2' } },
    podTemplate: {
      ...given.podTemplate,
      env: [
        { name: 'NODE_OPTIONS', value: '--max-old-space-size=512' },
        { name: 'EMPTY', value: '' },
      ],
    },
  });
  assert.deepEqual(result.ok && result.warnings, []);
});

test('resolveSpec does not mutate its input, and the resolved spec shares no tolerations with it', () => {
  const gateway = newGateway({ podTemplate: { tolerations: [{ key: 'a' }] } });
  const before = structuredClone(gateway);
  const spec = resolved(resolveSpec(gateway));
  assert.deepEqual(gateway, before);
  assert.notEqual(
    spec.podTemplate.tolerations[0],
    (gateway.spec.podTemplate as { tolerations: object[] }).tolerations[0],
  );
});

test('SPEC_DEFAULTS is frozen all the way down', () => {
  assert.ok(
    Object.isFrozen(SPEC_DEFAULTS) && Object.isFrozen(SPEC_DEFAULTS.ports) && Object.isFrozen(SPEC_DEFAULTS.drain),
  );
});

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

const warned: { what: string; spec: Record<string, unknown>; warnings: RegExp[] }[] = [
  {
    what: 'a table of fewer than 100 slots per member',
    spec: { replicas: 5, ring: { tableSize: 499 } },
    warnings: [/^spec\.ring\.tableSize: 499 is less than 100 × spec\.replicas \(500\)/],
  },
  {
    what: 'unknown fields at any level',
    spec: { colour: 'red', ports: { ws: 1, admin: 2 }, podTemplate: { env: [{ name: 'A', valueFrom: {} }] } },
    warnings: [
      /^spec\.colour: unknown field, ignored$/,
      /^spec\.ports\.admin: unknown field, ignored$/,
      /^spec\.podTemplate\.env\[0\]\.valueFrom: unknown field, ignored$/,
    ],
  },
];

for (const c of warned) {
  test(`a spec with ${c.what} is accepted with a warning`, () => {
    const result = resolveSpec(newGateway(c.spec));
    assert.ok(result.ok);
    assert.equal(result.warnings.length, c.warnings.length, JSON.stringify(result.warnings));
    c.warnings.forEach((pattern, i) => assert.match(result.warnings[i]!, pattern));
  });
}

test('exactly 100 slots per member draws no warning', () => {
  const result = resolveSpec(newGateway({ replicas: 2, ring: { tableSize: 211 } }));
  assert.ok(result.ok);
  assert.deepEqual(result.warnings, []);
  const fewer = resolveSpec(newGateway({ replicas: 3, ring: { tableSize: 293 } }));
  assert.ok(fewer.ok);
  assert.equal(fewer.warnings.length, 1);
});

/** The CRD's spec schema, read from crds/imgateway.yaml. */
function crdSpecSchema(): Record<string, any> {
  const crd = parseYaml(readFileSync(`${repoRoot}crds/imgateway.yaml`, 'utf8')) as Record<string, any>;
  return crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as Record<string, any>;
}

/** Every `default` under `schema`, by field path, skipping the `{}` defaults of sections. */
function schemaDefaults(schema: Record<string, any>, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const properties = (schema.properties ?? {}) as Record<string, Record<string, any>>;
  for (const [key, prop] of Object.entries(properties)) {
    if (prop.properties) Object.assign(out, schemaDefaults(prop, `${path}.${key}`));
    else if (prop.default !== undefined) out[`${path}.${key}`] = prop.default;
  }
  return out;
}

test('SPEC_DEFAULTS holds exactly the defaults of crds/imgateway.yaml', () => {
  const flat = (value: Record<string, unknown>, path: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'object' && v !== null) Object.assign(out, flat(v as Record<string, unknown>, `${path}.${k}`));
      else out[`${path}.${k}`] = v;
    }
    return out;
  };
  assert.deepEqual(flat(SPEC_DEFAULTS, 'spec'), schemaDefaults(crdSpecSchema(), 'spec'));
});

test('the operator checks the patterns and ranges crds/imgateway.yaml declares', () => {
  const s = crdSpecSchema().properties as Record<string, any>;
  assert.equal(Patterns.image.source.replace(/\\\//g, '/'), s.image.pattern);
  assert.equal(Patterns.envName.source, s.podTemplate.properties.env.items.properties.name.pattern);
  assert.equal(Patterns.dns1123Subdomain.source, s.auth.properties.secretName.pattern);
  assert.equal(Patterns.secretKey.source, s.auth.properties.secretKey.pattern);
  assert.equal(Patterns.quantity.source, s.resources.properties.requests.additionalProperties.pattern);
  const ranges: [string, number, number][] = [
    ['replicas', s.replicas.minimum, s.replicas.maximum],
    ['ring.tableSize', s.ring.properties.tableSize.minimum, s.ring.properties.tableSize.maximum],
    [
      'drain.migrateRatePerSecond',
      s.drain.properties.migrateRatePerSecond.minimum,
      s.drain.properties.migrateRatePerSecond.maximum,
    ],
  ];
  for (const [field, min, max] of ranges) {
    const [section, key] = field.includes('.') ? field.split('.') : [undefined, field];
    const at = (value: number): Record<string, unknown> =>
      section ? { [section]: { [key]: value } } : { [key]: value };
    // tableSize bounds are primes (3, 10000019) and replicas stays 1, so only the range can refuse.
    assert.equal(resolveSpec(newGateway(at(min))).ok, true, `${field} ${min}`);
    assert.equal(resolveSpec(newGateway(at(max))).ok, true, `${field} ${max}`);
    assert.deepEqual(
      problems(resolveSpec(newGateway(at(max + 1)))).map((p) => p.field),
      [`spec.${field}`],
    );
  }
  assert.deepEqual(s.logLevel.enum, ['trace', 'debug', 'info', 'warn', 'error']);
});
