import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { IMGATEWAY, type IMGateway, type IMGatewayStatus } from '../operator/api.js';
import { resolveSpec } from '../operator/spec.js';
import { repoRoot } from './support/fixtures.js';
import { CRD_FILE, GATEWAYS, stored } from './support/imgateway-crd.js';
import { withKubectl, type KubectlSession } from './support/kubectl.js';
import { rawRequest, statusOf } from './support/local-api.js';

/**
 * crds/imgateway.yaml and its sample through kubectl and a local API server: defaults, the
 * printer columns, and the status and scale subresources. Invalid IMGateways are
 * test/crd-validation.test.ts's.
 */

const SAMPLE_FILE = `${repoRoot}crds/samples/imgateway.yaml`;
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The sample's spec once the API server has defaulted it. */
const DEFAULTED_SAMPLE_SPEC = {
  replicas: 3,
  image: 'ghcr.io/imring/imring:0.1.0',
  ports: { ws: 10001, grpc: 10002, http: 10003 },
  ring: { tableSize: 65537, ackTimeoutSeconds: 30 },
  drain: {
    timeoutSeconds: 120,
    migrateRatePerSecond: 500,
    handoffWindowMs: 2000,
    moveDeadlineMs: 10000,
    terminationGraceSeconds: 60,
  },
  rollout: { maxUnavailable: 1 },
  unreadyGraceSeconds: 30,
  auth: { secretName: 'demo-token', secretKey: 'key' },
  logLevel: 'info',
};

/** Applies the CRD and the sample with kubectl; resolves to their stdout, in order. */
async function applyCrdAndSample(k: KubectlSession): Promise<[string, string]> {
  return [await k.ok(['apply', '-f', CRD_FILE]), await k.ok(['apply', '-f', SAMPLE_FILE])];
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
