import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { withKubectl } from './support/kubectl.js';

const CONFIG = fileURLToPath(new URL('../../config', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../config/samples/imgateway.yaml', import.meta.url));

test('kubectl apply -k config/ installs the CRD, the operator with its RBAC, and the demo proxy and push; the sample IMGateway applies after', async () => {
  await withKubectl(async (k) => {
    const out = await k.ok(['apply', '-k', CONFIG]);
    for (const line of [
      'customresourcedefinition.apiextensions.k8s.io/imgateways.imring.dev created',
      'namespace/imring-system created',
      'namespace/imring-demo created',
      'serviceaccount/imring-operator created',
      'clusterrole.rbac.authorization.k8s.io/imring-operator created',
      'clusterrolebinding.rbac.authorization.k8s.io/imring-operator created',
      'role.rbac.authorization.k8s.io/imring-operator-leader-election created',
      'deployment.apps/imring-operator created',
      'role.rbac.authorization.k8s.io/imring-runtime created',
      'deployment.apps/demo-proxy created',
      'deployment.apps/demo-push created',
      'service/demo-proxy created',
    ]) {
      assert.ok(out.includes(line), `missing "${line}" in:\n${out}`);
    }
    const again = await k.ok(['apply', '-k', CONFIG]);
    assert.doesNotMatch(again, / (created|configured)$/m, 'a second apply changes nothing');
    assert.match(await k.ok(['apply', '-f', SAMPLE]), /imgateway.imring.dev\/demo created/);
    const gateway = JSON.parse(await k.ok(['-n', 'imring-demo', 'get', 'imgw', 'demo', '-o', 'json'])) as {
      spec: { replicas: number; ring: { tableSize: number } };
    };
    assert.equal(gateway.spec.replicas, 3);
    assert.equal(gateway.spec.ring.tableSize, 65537, 'schema defaults applied');
    const operator = JSON.parse(
      await k.ok(['-n', 'imring-system', 'get', 'deployment', 'imring-operator', '-o', 'json']),
    ) as {
      spec: {
        replicas: number;
        template: {
          spec: {
            containers: { securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean } }[];
            securityContext: { runAsNonRoot: boolean };
          };
        };
      };
    };
    assert.equal(operator.spec.replicas, 2);
    assert.equal(operator.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(operator.spec.template.spec.containers[0]!.securityContext.readOnlyRootFilesystem, true);
    assert.equal(operator.spec.template.spec.containers[0]!.securityContext.allowPrivilegeEscalation, false);
  });
});
