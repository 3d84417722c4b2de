import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRD_FILE } from '../support/imgateway-crd.js';
import { withKubectl, type KubectlSession } from '../support/kubectl.js';
import { rawRequest } from '../support/local-api.js';

/** The FIELDS section of `kubectl explain`: each field's name and type, in order. */
function explainFields(output: string): string[] {
  const fields = output.slice(output.indexOf('FIELDS:'));
  return [...fields.matchAll(/^ {2,3}(\w+)\t<([^>]+)>/gm)].map((m) => `${m[1]} <${m[2]}>`);
}

function deployment(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } },
      ...spec,
    },
  };
}

async function explain(k: KubectlSession, args: string[]): Promise<string> {
  return k.ok(['explain', ...args]);
}

test('kubectl explain pods.spec.containers lists the Container fields with their types and descriptions', async () => {
  await withKubectl(async (k) => {
    const out = await explain(k, ['pods.spec.containers']);
    assert.match(out, /^FIELD: containers <\[\]Container>$/m);
    assert.match(out, /List of containers belonging to the pod\./);
    const fields = explainFields(out);
    for (const f of ['args <[]string>', 'env <[]EnvVar>', 'image <string>', 'ports <[]ContainerPort>']) {
      assert.ok(fields.includes(f), `${f} in ${fields.join(', ')}`);
    }
    assert.match(out, /^ {2}name\t<string> -required-$/m);
    const port = await explain(k, ['pods.spec.containers.ports.containerPort']);
    assert.match(port, /^FIELD: containerPort <integer>$/m);
  });
});

test('kubectl explain deploy.spec.strategy shows DeploymentStrategy, over v3 and over the v2 protobuf', async () => {
  await withKubectl(async (k) => {
    const v3 = await explain(k, ['deploy.spec.strategy']);
    assert.match(v3, /^GROUP: {6}apps$/m);
    assert.match(v3, /^FIELD: strategy <DeploymentStrategy>$/m);
    assert.deepEqual(explainFields(v3), ['rollingUpdate <RollingUpdateDeployment>', 'type <string>']);
    assert.match(v3, /Type of deployment\. Can be "Recreate" or "RollingUpdate"\./);
    const v2 = await explain(k, ['deploy.spec.strategy', '--output', 'plaintext-openapiv2']);
    assert.match(v2, /^RESOURCE: strategy <Object>$/m);
    assert.deepEqual(explainFields(v2), ['rollingUpdate <Object>', 'type <string>']);
    const v2Request = k.api.requestLog.find((r) => r.path === '/openapi/v2');
    assert.equal(v2Request?.status, 200);
  });
});

test('kubectl explain imgw.spec prints the CRD schema, and imgw.metadata the standard ObjectMeta', async () => {
  await withKubectl(async (k) => {
    await k.ok(['apply', '-f', CRD_FILE]);
    // kubectl resolves short names from its discovery cache, filled before the CRD existed.
    await k.ok(['api-resources']);
    const spec = await explain(k, ['imgw.spec']);
    assert.match(spec, /^GROUP: {6}imring\.dev$/m);
    assert.match(spec, /^KIND: {7}IMGateway$/m);
    const fields = explainFields(spec);
    for (const f of ['auth <Object>', 'image <string>', 'replicas <integer>']) assert.ok(fields.includes(f), f);
    assert.match(spec, /^ {2}auth\t<Object> -required-$/m);
    const maxUnavailable = await explain(k, ['imgw.spec.rollout.maxUnavailable']);
    assert.match(maxUnavailable, /^FIELD: maxUnavailable </m);
    assert.match(maxUnavailable, /percentage of spec\.replicas/);
    assert.match(await explain(k, ['imgw.spec.rollout']), /rolls gateway pods out/);
    const labels = await explain(k, ['imgw.metadata.labels']);
    assert.match(labels, /^FIELD: labels <map\[string\]string>$/m);
  });
});

test('kubectl apply of a kind the server does not serve says no matches, as on a cluster without it', async () => {
  await withKubectl(async (k) => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x:1' }] } } },
    };
    const path = await k.write('job.yaml', [job]);
    const result = await k.run(['apply', '-f', path]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: resource mapping not found for name: "once" namespace: "" from "${path}": ` +
        'no matches for kind "Job" in version "batch/v1"\nensure CRDs are installed first\n',
    );
  });
});

test('kubectl apply of a built-in with unknown fields fails strict validation, and warn drops them', async () => {
  await withKubectl(async (k) => {
    const path = await k.write('web.yaml', [deployment({ replicaz: 2 })]);
    const strict = await k.run(['apply', '-f', path]);
    assert.equal(strict.code, 1);
    assert.equal(
      strict.stderr,
      `Error from server (BadRequest): error when creating "${path}": Deployment in version "v1" cannot be handled ` +
        'as a Deployment: strict decoding error: unknown field "spec.replicaz"\n',
    );
    assert.equal((await rawRequest(k.api, '/apis/apps/v1/namespaces/default/deployments/web')).status, 404);
    const warn = await k.run(['apply', '-f', path, '--validate=warn']);
    assert.equal(warn.code, 0, warn.stderr);
    assert.equal(warn.stderr, 'Warning: unknown field "spec.replicaz"\n');
    const spec = JSON.parse(await k.ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec}'])) as Record<string, unknown>;
    assert.equal(spec['replicaz'], undefined);
    assert.equal(spec['replicas'], 1);
  });
});

test('a kind: List manifest is validated client-side against /openapi/v2, as kubectl does on a cluster', async () => {
  await withKubectl(async (k) => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } };
    const list = (items: unknown[]): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'List', items });
    const good = await k.write('good.yaml', [list([configMap, deployment({ strategy: { type: 'Recreate' } })])]);
    assert.equal(await k.ok(['apply', '-f', good]), 'configmap/a created\ndeployment.apps/web created\n');
    const bad = await k.write('bad.yaml', [list([{ ...configMap, bogus: 1 }])]);
    const result = await k.run(['apply', '-f', bad]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `error: error validating "${bad}": error validating data: ValidationError(ConfigMap): unknown field "bogus" ` +
        'in io.k8s.api.core.v1.ConfigMap; if you choose to ignore these errors, turn validation off with --validate=false\n',
    );
  });
});
