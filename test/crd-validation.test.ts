import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { IMGATEWAY } from '../operator/api.js';
import { resolveSpec } from '../operator/spec.js';
import { CRD_FILE, stored } from './support/imgateway-crd.js';
import { withKubectl } from './support/kubectl.js';

/**
 * What crds/imgateway.yaml refuses: kubectl apply of invalid IMGateways against a local API
 * server names the field at fault, and the rule the local control plane cannot check (CEL) is
 * resolveSpec()'s.
 */

/** An IMGateway manifest: the sample's spec with `spec` merged over it (a value `undefined` removes a field). */
function gateway(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { replicas: 3, auth: { secretName: 'demo-token' }, ...spec };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  return {
    apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`,
    kind: IMGATEWAY.kind,
    metadata: { name },
    spec: merged,
  };
}

/** Each case: what is wrong, the spec, and what kubectl's error must say. */
const invalidGateways: {
  what: string;
  name?: string;
  spec: Record<string, unknown>;
  error: RegExp;
  flags?: string[];
}[] = [
  {
    what: 'replicas of type string',
    spec: { replicas: 'three' },
    error: /spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"/,
  },
  {
    what: 'replicas -1',
    spec: { replicas: -1 },
    error: /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/,
  },
  {
    what: 'replicas 1001',
    spec: { replicas: 1001 },
    error: /spec\.replicas: Invalid value: 1001: spec\.replicas in body should be less than or equal to 1000/,
  },
  {
    what: 'an image with upper case and a space',
    spec: { image: 'Registry/Im Ring:1' },
    error: /spec\.image: Invalid value: "Registry\/Im Ring:1": spec\.image in body should match '\^\[a-z0-9\]/,
  },
  {
    what: 'ports.ws 0',
    spec: { ports: { ws: 0 } },
    error: /spec\.ports\.ws: Invalid value: 0: spec\.ports\.ws in body should be greater than or equal to 1/,
  },
  {
    what: 'ports.grpc 70000',
    spec: { ports: { grpc: 70000 } },
    error: /spec\.ports\.grpc: Invalid value: 70000: spec\.ports\.grpc in body should be less than or equal to 65535/,
  },
  {
    what: 'an unknown logLevel',
    spec: { logLevel: 'verbose' },
    error: /spec\.logLevel: Unsupported value: "verbose": supported values: "trace", "debug", "info", "warn", "error"/,
  },
  {
    what: 'an env name with a space',
    spec: { podTemplate: { env: [{ name: 'MY VAR', value: 'x' }] } },
    error: /spec\.podTemplate\.env\[0\]\.name: Invalid value: "MY VAR"/,
  },
  {
    what: 'an env entry without a name',
    spec: { podTemplate: { env: [{ value: 'x' }] } },
    error: /spec\.podTemplate\.env\[0\]\.name: Required value/,
  },
  { what: 'no auth', spec: { auth: undefined }, error: /spec\.auth: Required value/ },
  {
    what: 'auth without secretName',
    spec: { auth: { secretKey: 'key' } },
    error: /spec\.auth\.secretName: Required value/,
  },
  {
    what: 'a secretName with upper case and an underscore',
    spec: { auth: { secretName: 'Demo_Token' } },
    error: /spec\.auth\.secretName: Invalid value: "Demo_Token"/,
  },
  {
    what: 'a secretKey with a slash',
    spec: { auth: { secretName: 'demo-token', secretKey: 'a/b' } },
    error: /spec\.auth\.secretKey: Invalid value: "a\/b"/,
  },
  {
    what: 'an unknown field under --validate=strict',
    spec: { colour: 'red' },
    flags: ['--validate=strict'],
    error: /strict decoding error: unknown field "spec\.colour"/,
  },
  {
    what: 'tableSize 2',
    spec: { ring: { tableSize: 2 } },
    error:
      /spec\.ring\.tableSize: Invalid value: 2: spec\.ring\.tableSize in body should be greater than or equal to 3/,
  },
  {
    what: 'ackTimeoutSeconds 0',
    spec: { ring: { ackTimeoutSeconds: 0 } },
    error:
      /spec\.ring\.ackTimeoutSeconds: Invalid value: 0: spec\.ring\.ackTimeoutSeconds in body should be greater than or equal to 1/,
  },
  {
    what: 'drain.migrateRatePerSecond 0',
    spec: { drain: { migrateRatePerSecond: 0 } },
    error: /spec\.drain\.migrateRatePerSecond: Invalid value: 0/,
  },
  {
    what: 'unreadyGraceSeconds 3601',
    spec: { unreadyGraceSeconds: 3601 },
    error: /spec\.unreadyGraceSeconds: Invalid value: 3601/,
  },
  {
    what: 'a memory request that is no quantity',
    spec: { resources: { requests: { memory: 'lots' } } },
    error: /spec\.resources\.requests\.memory: Invalid value: "lots"/,
  },
  {
    what: 'a cpu limit that is a boolean',
    spec: { resources: { limits: { cpu: true } } },
    error:
      /spec\.resources\.limits\.cpu: Invalid value: "boolean": spec\.resources\.limits\.cpu in body must be of type integer,string: "boolean"/,
  },
  {
    what: 'ring of type string',
    spec: { ring: 'big' },
    error: /spec\.ring: Invalid value: "string": spec\.ring in body must be of type object: "string"/,
  },
  {
    what: 'a label value that is a number',
    spec: { podTemplate: { labels: { tier: 1 } } },
    error: /spec\.podTemplate\.labels\.tier: Invalid value: "integer"/,
  },
  {
    what: 'replicas not whole',
    spec: { replicas: 1.5 },
    error: /spec\.replicas: Invalid value: "number": spec\.replicas in body must be of type integer: "number"/,
  },
  {
    what: 'an image that is a number',
    spec: { image: 5 },
    error: /spec\.image: Invalid value: "integer": spec\.image in body must be of type string: "integer"/,
  },
  {
    what: 'an image with a short digest',
    spec: { image: 'imring@sha256:abc' },
    error: /spec\.image: Invalid value: "imring@sha256:abc"/,
  },
  {
    what: 'drain.handoffWindowMs 60001',
    spec: { drain: { handoffWindowMs: 60001 } },
    error:
      /spec\.drain\.handoffWindowMs: Invalid value: 60001: spec\.drain\.handoffWindowMs in body should be less than or equal to 60000/,
  },
  {
    what: 'drain.moveDeadlineMs 300001',
    spec: { drain: { moveDeadlineMs: 300001 } },
    error:
      /spec\.drain\.moveDeadlineMs: Invalid value: 300001: spec\.drain\.moveDeadlineMs in body should be less than or equal to 300000/,
  },
  {
    what: 'rollout.maxUnavailable 0',
    spec: { rollout: { maxUnavailable: 0 } },
    error:
      /spec\.rollout\.maxUnavailable: Invalid value: 0: spec\.rollout\.maxUnavailable in body should be greater than or equal to 1/,
  },
  {
    what: 'rollout.maxUnavailable "0%"',
    spec: { rollout: { maxUnavailable: '0%' } },
    error: /spec\.rollout\.maxUnavailable: Invalid value: "0%": spec\.rollout\.maxUnavailable in body should match/,
  },
  {
    what: 'rollout.maxUnavailable "ten"',
    spec: { rollout: { maxUnavailable: 'ten' } },
    error: /spec\.rollout\.maxUnavailable: Invalid value: "ten"/,
  },
  {
    what: 'rollout.maxUnavailable 2.5',
    spec: { rollout: { maxUnavailable: 2.5 } },
    error: /spec\.rollout\.maxUnavailable: Invalid value: "number"/,
  },
  {
    what: 'tableSize above 10000019',
    spec: { ring: { tableSize: 10000020 } },
    error: /spec\.ring\.tableSize: Invalid value: 10000020/,
  },
  {
    what: 'a nested unknown field under --validate=strict',
    spec: { ports: { ws: 9000, admin: 9001 } },
    flags: ['--validate=strict'],
    error: /strict decoding error: unknown field "spec\.ports\.admin"/,
  },
  {
    what: 'a name with upper case and an underscore',
    name: 'Bad_Gateway',
    spec: {},
    error: /metadata\.name: Invalid value: "Bad_Gateway": a lowercase RFC 1123 subdomain/,
  },
];

test(`kubectl apply refuses ${invalidGateways.length} kinds of invalid IMGateway, naming the field`, async (t) => {
  await withKubectl(async (k) => {
    await k.ok(['apply', '-f', CRD_FILE]);
    for (const [i, c] of invalidGateways.entries()) {
      await t.test(c.what, async () => {
        const name = c.name ?? `bad-${i}`;
        const result = await k.run([
          'apply',
          ...(c.flags ?? []),
          '-f',
          await k.write(`${name}.yaml`, [gateway(name, c.spec)]),
        ]);
        assert.notEqual(result.code, 0);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, c.error);
        if (!c.flags) assert.match(result.stderr, new RegExp(`^The IMGateway "${name}" is invalid: `));
      });
    }
    assert.equal(await k.ok(['get', 'imgw', '-o', 'name']), '', 'nothing invalid was stored');
    // The same manifest with every field valid is accepted, so each case failed for its one fault.
    assert.equal(
      await k.ok([
        'apply',
        '-f',
        await k.write('good.yaml', [
          gateway('good', { podTemplate: { env: [{ name: 'MY_VAR' }] }, rollout: { maxUnavailable: '10%' } }),
        ]),
      ]),
      'imgateway.imring.dev/good created\n',
    );
  });
});

test('the CRD declares the CEL rule on distinct ports, which the local control plane ignores and resolveSpec() enforces', async () => {
  const crd = parseYaml(readFileSync(CRD_FILE, 'utf8')) as {
    spec: { versions: { schema: { openAPIV3Schema: any } }[] };
  };
  const ports = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.ports;
  assert.deepEqual(ports['x-kubernetes-validations'], [
    {
      rule: 'self.ws != self.grpc && self.ws != self.http && self.grpc != self.http',
      message: 'ports.ws, ports.grpc and ports.http must differ',
    },
  ]);
  await withKubectl(async (k) => {
    await k.ok(['apply', '-f', CRD_FILE]);
    assert.equal(
      await k.ok(['apply', '-f', await k.write('same.yaml', [gateway('same', { ports: { ws: 9000, grpc: 9000 } })])]),
      'imgateway.imring.dev/same created\n',
    );
    const result = resolveSpec(await stored(k, 'same'));
    assert.deepEqual(!result.ok && result.problems, [
      { field: 'spec.ports', message: 'ports.ws, ports.grpc and ports.http must differ' },
    ]);
  });
});
