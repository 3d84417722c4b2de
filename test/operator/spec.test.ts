import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { Patterns, resolveSpec, SPEC_DEFAULTS, type ResolvedSpec, type SpecResult } from '../../operator/spec.js';
import { MAX_UNAVAILABLE_PERCENT, MAX_UNAVAILABLE_RANGE } from '../../operator/spec-rollout.js';
import { repoRoot } from '../support/fixtures.js';
import { newGateway, problems } from './spec-fixtures.js';

/**
 * resolveSpec() on specs it accepts: defaults, what it keeps, its warnings, and its agreement with
 * the defaults, patterns and ranges of crds/imgateway.yaml. The specs and names it refuses are
 * test/operator/spec-problems.test.ts's.
 */

function resolved(result: SpecResult): ResolvedSpec {
  assert.ok(result.ok, `expected a valid spec, got ${JSON.stringify(result)}`);
  return result.spec;
}

const DEFAULTED: ResolvedSpec = {
  replicas: 1,
  image: 'ghcr.io/imring/imring:0.1.0',
  ports: { ws: 10001, grpc: 10002, http: 10003 },
  resources: {},
  podTemplate: { labels: {}, annotations: {}, nodeSelector: {}, tolerations: [], env: [] },
  ring: { tableSize: 65537, ackTimeoutSeconds: 30 },
  drain: {
    timeoutSeconds: 120,
    migrateRatePerSecond: 500,
    handoffWindowMs: 2000,
    moveDeadlineMs: 10_000,
    terminationGraceSeconds: 60,
  },
  rollout: { maxUnavailable: 1 },
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
        rollout: { maxUnavailable: null },
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
    drain: {
      timeoutSeconds: 0,
      migrateRatePerSecond: 100000,
      handoffWindowMs: 0,
      moveDeadlineMs: 0,
      terminationGraceSeconds: 1,
    },
    rollout: { maxUnavailable: '10%' },
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
  const maxUnavailable = s.rollout.properties.maxUnavailable;
  assert.equal(MAX_UNAVAILABLE_PERCENT.source, maxUnavailable.pattern);
  assert.deepEqual(
    [maxUnavailable.minimum, maxUnavailable.maximum],
    [MAX_UNAVAILABLE_RANGE.min, MAX_UNAVAILABLE_RANGE.max],
  );
  assert.equal(maxUnavailable['x-kubernetes-int-or-string'], true);
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
