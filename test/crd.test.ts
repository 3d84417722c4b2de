import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { IMGATEWAY, type IMGateway, type IMGatewayStatus } from '../operator/api.js';
import { resolveSpec } from '../operator/spec.js';
import { repoRoot } from './support/fixtures.js';
import { withKubectl, type KubectlSession } from './support/kubectl.js';
import { rawRequest, statusOf } from './support/local-api.js';

const CRD_FILE = `${repoRoot}crds/imgateway.yaml`;
const SAMPLE_FILE = `${repoRoot}crds/samples/imgateway.yaml`;
const GATEWAYS = `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/default/${IMGATEWAY.plural}`;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The sample's spec once the API server has defaulted it. */
const DEFAULTED_SAMPLE_SPEC = {
  replicas: 3,
  image: 'ghcr.io/imring/imring:0.1.0',
  ports: { ws: 10001, grpc: 10002, http: 10003 },
  ring: { tableSize: 65537, ackTimeoutSeconds: 30 },
  drain: { timeoutSeconds: 120, migrateRatePerSecond: 500, handoffWindowMs: 2000, moveDeadlineMs: 10000 },
  unreadyGraceSeconds: 30,
  auth: { secretName: 'demo-token', secretKey: 'key' },
  logLevel: 'info',
};

/** Applies the CRD and the sample with kubectl; resolves to their stdout, in order. */
async function applyCrdAndSample(k: KubectlSession): Promise<[string, string]> {
  return [await k.ok(['apply', '-f', CRD_FILE]), await k.ok(['apply', '-f', SAMPLE_FILE])];
}

/** The IMGateway `name` as the server stores it. */
async function stored(k: KubectlSession, name: string): Promise<IMGateway> {
  const response = await rawRequest(k.api, `${GATEWAYS}/${name}`);
  assert.equal(response.status, 200, response.text);
  return response.json<IMGateway>();
}

/** The table rows of kubectl's output, split into cells. */
function rows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

function customObjects(k: KubectlSession): CustomObjectsApi {
  return k.api.kc.makeApiClient(CustomObjectsApi);
}

/** A status as the operator would write it mid-transition. */
function midTransitionStatus(): IMGatewayStatus {
  const at = '2026-01-02T03:04:05Z';
  return {
    observedGeneration: 1,
    replicas: 3,
    readyReplicas: 2,
    selector: 'imring.dev/gateway=demo',
    phase: 'ScalingUp',
    ring: {
      version: 4,
      state: 'Prepared',
      members: ['demo-0', 'demo-1', 'demo-2'],
      previous: { version: 3, members: ['demo-0', 'demo-1'] },
      checksum: 'sha256:0f',
      configMap: 'demo-ring',
      acknowledged: { proxy: '1/1', push: '0/1', gateway: '3/3' },
      misplacedConnections: 12,
      lastTransitionTime: at,
      convergedVersion: 3,
    },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: at,
        reason: 'MembersReady',
        message: '2 of 3 ready',
      },
      {
        type: 'RingConverged',
        status: 'False',
        observedGeneration: 1,
        lastTransitionTime: at,
        reason: 'AwaitingAcks',
        message: 'push has not acknowledged version 4',
      },
    ],
  };
}

test('kubectl applies the CRD and the sample IMGateway, and the server stores the sample with every schema default', async () => {
  await withKubectl(async (k) => {
    assert.deepEqual(await applyCrdAndSample(k), [
      'customresourcedefinition.apiextensions.k8s.io/imgateways.imring.dev created\n',
      'imgateway.imring.dev/demo created\n',
    ]);
    const demo = await stored(k, 'demo');
    assert.deepEqual(demo.spec, DEFAULTED_SAMPLE_SPEC);
    const resolved = resolveSpec(demo);
    assert.ok(resolved.ok, JSON.stringify(resolved));
    assert.deepEqual(resolved.warnings, []);
    assert.deepEqual(resolved.spec, {
      ...DEFAULTED_SAMPLE_SPEC,
      resources: {},
      podTemplate: { labels: {}, annotations: {}, nodeSelector: {}, tolerations: [], env: [] },
    });
    assert.match(
      await k.ok(['api-resources', '--api-group=imring.dev']),
      /^imgateways\s+imgw\s+imring\.dev\/v1alpha1\s+true\s+IMGateway$/m,
    );
    assert.equal(
      await k.ok(['get', 'imring', '-o', 'name']),
      'imgateway.imring.dev/demo\n',
      'the category imring lists it',
    );
  });
});

test('the sample carries no Secret, and says so', () => {
  const documents = readFileSync(SAMPLE_FILE, 'utf8')
    .split(/^---$/m)
    .map((d) => parseYaml(d) as { kind: string });
  assert.deepEqual(
    documents.map((d) => d.kind),
    ['IMGateway'],
  );
  assert.match(readFileSync(SAMPLE_FILE, 'utf8'), /Secret `demo-token` is NOT in this file/);
});

test('kubectl get imgw shows Desired, Ready, Ring, Phase, Converged and Age from a status written through the status subresource', async () => {
  await withKubectl(async (k) => {
    await applyCrdAndSample(k);
    const before = await stored(k, 'demo');
    const body = { ...before, status: midTransitionStatus() };
    const written = (await customObjects(k).replaceNamespacedCustomObjectStatus({
      ...IMGATEWAY,
      namespace: 'default',
      name: 'demo',
      body,
    })) as IMGateway;
    assert.deepEqual(written.status, midTransitionStatus());
    const [header, row, ...rest] = rows(await k.ok(['get', 'imgw']));
    assert.deepEqual(header, ['NAME', 'DESIRED', 'READY', 'RING', 'PHASE', 'CONVERGED', 'AGE']);
    assert.deepEqual(row?.slice(0, 6), ['demo', '3', '2', '4', 'ScalingUp', 'False']);
    assert.match(row?.[6] ?? '', /^\d+s$/);
    assert.deepEqual(rest, []);

    const converged = {
      conditions: [
        {
          ...midTransitionStatus().conditions![1]!,
          status: 'True',
          reason: 'AllMembersAcked',
          message: 'ring 4 converged',
        },
      ],
      phase: 'Stable',
    };
    await customObjects(k).patchNamespacedCustomObjectStatus(
      { ...IMGATEWAY, namespace: 'default', name: 'demo', body: { status: converged } },
      merge,
    );
    assert.deepEqual(rows(await k.ok(['get', 'imgw', 'demo', '--no-headers']))[0]?.slice(0, 6), [
      'demo',
      '3',
      '2',
      '4',
      'Stable',
      'True',
    ]);
  });
});

test('the status subresource refuses a status the schema forbids, naming the field', async () => {
  await withKubectl(async (k) => {
    await applyCrdAndSample(k);
    const [ready] = midTransitionStatus().conditions!;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ phase: 'Exploding' }, /status\.phase: Unsupported value: "Exploding"/],
      [{ ring: { state: 'Half' } }, /status\.ring\.state: Unsupported value: "Half"/],
      [{ ring: { acknowledged: { push: 'all' } } }, /status\.ring\.acknowledged\.push/],
      [{ conditions: [ready, ready] }, /status\.conditions\[1\]: Duplicate value/],
      [{ conditions: [{ ...ready, status: 'Maybe' }] }, /status\.conditions\[0\]\.status: Unsupported value: "Maybe"/],
      [
        { conditions: [{ type: 'Ready', status: 'True' }] },
        /status\.conditions\[0\]\.(lastTransitionTime|message|reason): Required value/,
      ],
    ];
    for (const [status, message] of cases) {
      const refused = await statusOf(
        customObjects(k).patchNamespacedCustomObjectStatus(
          { ...IMGATEWAY, namespace: 'default', name: 'demo', body: { status } },
          merge,
        ),
      );
      assert.equal(refused.code, 422, JSON.stringify(status));
      assert.match(refused.message, message);
    }
    assert.equal((await stored(k, 'demo')).status, undefined);
  });
});

test('kubectl scale imgw/demo --replicas=5 sets spec.replicas through the scale subresource, which reads it back with the selector', async () => {
  await withKubectl(async (k) => {
    await applyCrdAndSample(k);
    await customObjects(k).patchNamespacedCustomObjectStatus(
      {
        ...IMGATEWAY,
        namespace: 'default',
        name: 'demo',
        body: { status: { replicas: 3, selector: 'imring.dev/gateway=demo' } },
      },
      merge,
    );
    assert.equal(await k.ok(['scale', 'imgw/demo', '--replicas=5']), 'imgateway.imring.dev/demo scaled\n');
    const path = `${GATEWAYS}/demo`;
    const writes = k.api.requestLog.filter((r) => (r.verb === 'patch' || r.verb === 'update') && r.path === path);
    assert.deepEqual(writes, [], 'kubectl scale wrote /scale, not the object');
    assert.equal((await stored(k, 'demo')).spec?.replicas, 5);
    const scale = JSON.parse(await k.ok(['get', 'imgw', 'demo', '--subresource=scale', '-o', 'json'])) as {
      kind: string;
      spec: { replicas: number };
      status: { replicas: number; selector: string };
    };
    assert.deepEqual(
      [scale.kind, scale.spec, scale.status],
      ['Scale', { replicas: 5 }, { replicas: 3, selector: 'imring.dev/gateway=demo' }],
    );
    const raw = await rawRequest(k.api, `${path}/scale`);
    assert.equal(raw.json<{ spec: { replicas: number } }>().spec.replicas, 5);

    const tooMany = await k.run(['scale', 'imgw/demo', '--replicas=1001']);
    assert.notEqual(tooMany.code, 0);
    assert.match(
      tooMany.stderr,
      /spec\.replicas: Invalid value: 1001: spec\.replicas in body should be less than or equal to 1000/,
    );
    assert.equal((await stored(k, 'demo')).spec?.replicas, 5);
  });
});

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
        await k.write('good.yaml', [gateway('good', { podTemplate: { env: [{ name: 'MY_VAR' }] } })]),
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
