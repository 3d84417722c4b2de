import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe as suite, test } from 'node:test';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/kube-config.js';
import { convergedAt, imGateway, NAMESPACE, OperatorSystem, RUNTIME_PODS } from './support/operator-system.js';
import {
  describe,
  readGrants,
  requestAttributes,
  ruleAllows,
  unusedPermissions,
  type Grant,
  type RequestAttributes,
} from './support/rbac.js';
import { startLocalApi } from './support/local-api.js';
import type { ServedRequest } from '../local/index.js';
import { watchUntil } from './support/wait.js';

const OPERATOR_RBAC = fileURLToPath(new URL('../../config/rbac/operator.yaml', import.meta.url));
const RUNTIME_RBAC = fileURLToPath(new URL('../../config/demo/runtime-rbac.yaml', import.meta.url));
/** The sample gateway's name: config/demo/runtime-rbac.yaml names its ring ConfigMap, `demo-ring`. */
const GATEWAY = 'demo';
const COMPONENTS = ['operator', 'gateway', 'proxy', 'push'] as const;
type Component = (typeof COMPONENTS)[number];

suite("the RBAC review's accounting", () => {
  const entry = (method: string, path: string, query = ''): RequestAttributes =>
    requestAttributes({ method, path, query })!;

  test('maps request paths to verb, API group, resource with subresource, namespace and name', () => {
    const table: [RequestAttributes, string][] = [
      [
        entry('GET', '/apis/imring.dev/v1alpha1/imgateways', '?watch=true&resourceVersion=5'),
        'watch imgateways.imring.dev',
      ],
      [entry('GET', '/apis/imring.dev/v1alpha1/namespaces/ns/imgateways'), 'list imgateways.imring.dev -n ns'],
      [
        entry('PUT', '/apis/imring.dev/v1alpha1/namespaces/ns/imgateways/im/status'),
        'update imgateways/status.imring.dev im -n ns',
      ],
      [
        entry('GET', '/api/v1/namespaces/ns/configmaps', '?fieldSelector=metadata.name%3Dim-ring'),
        'list configmaps im-ring -n ns',
      ],
      [entry('GET', '/api/v1/watch/namespaces/ns/pods'), 'watch pods -n ns'],
      [entry('POST', '/apis/coordination.k8s.io/v1/namespaces/ns/leases'), 'create leases.coordination.k8s.io -n ns'],
      [entry('PATCH', '/apis/apps/v1/namespaces/ns/statefulsets/im/scale'), 'patch statefulsets/scale.apps im -n ns'],
      [entry('DELETE', '/api/v1/namespaces/ns/pods'), 'deletecollection pods -n ns'],
      [entry('GET', '/api/v1/namespaces/ns'), 'get namespaces ns'],
    ];
    for (const [attributes, expected] of table) assert.equal(describe(attributes), expected);
    assert.equal(requestAttributes({ method: 'GET', path: '/version', query: '' }), undefined);
  });

  test('a rule allows only its groups, resources (a subresource is not its parent), verbs and names', () => {
    const rule = {
      apiGroups: [''],
      resources: ['configmaps'],
      resourceNames: ['demo-ring'],
      verbs: ['get', 'list', 'watch'],
    };
    assert.equal(ruleAllows(rule, entry('GET', '/api/v1/namespaces/ns/configmaps/demo-ring')), true);
    assert.equal(
      ruleAllows(
        rule,
        entry('GET', '/api/v1/namespaces/ns/configmaps', '?watch=1&fieldSelector=metadata.name%3Ddemo-ring'),
      ),
      true,
    );
    assert.equal(
      ruleAllows(rule, entry('GET', '/api/v1/namespaces/ns/configmaps')),
      false,
      'a list of all ConfigMaps names none',
    );
    assert.equal(ruleAllows(rule, entry('GET', '/api/v1/namespaces/ns/configmaps/other')), false);
    assert.equal(ruleAllows(rule, entry('PUT', '/api/v1/namespaces/ns/configmaps/demo-ring')), false);
    assert.equal(ruleAllows(rule, entry('GET', '/api/v1/namespaces/ns/secrets/demo-ring')), false);
    const status = { apiGroups: ['imring.dev'], resources: ['imgateways/status'], verbs: ['update'] };
    assert.equal(
      ruleAllows(status, entry('PUT', '/apis/imring.dev/v1alpha1/namespaces/ns/imgateways/im/status')),
      true,
    );
    assert.equal(ruleAllows(status, entry('PUT', '/apis/imring.dev/v1alpha1/namespaces/ns/imgateways/im')), false);
    assert.equal(
      ruleAllows(
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        entry('DELETE', '/apis/apps/v1/namespaces/ns/statefulsets/im'),
      ),
      true,
    );
  });

  test("unused permissions are listed one by one, a Role's counting only calls in its namespace", () => {
    const grants: Grant[] = [
      {
        role: 'Role/r',
        namespace: 'ns',
        rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'delete'] }],
      },
    ];
    const create = entry('POST', '/apis/coordination.k8s.io/v1/namespaces/ns/leases');
    const elsewhere = entry('POST', '/apis/coordination.k8s.io/v1/namespaces/other/leases');
    assert.deepEqual(unusedPermissions(grants, [create]), ['Role/r: delete leases.coordination.k8s.io']);
    assert.deepEqual(unusedPermissions(grants, [elsewhere]), [
      'Role/r: create leases.coordination.k8s.io',
      'Role/r: delete leases.coordination.k8s.io',
    ]);
  });

  test('loadKubeConfig with a userAgent names the caller on API calls and watches', async () => {
    const api = await startLocalApi();
    const dir = await mkdtemp(join(tmpdir(), 'imring-rbac-'));
    const controller = new AbortController();
    try {
      await api.server.writeKubeconfig(join(dir, 'kubeconfig'));
      const kc = loadKubeConfig({ env: { KUBECONFIG: join(dir, 'kubeconfig') }, userAgent: 'imring-test' });
      await kc.makeApiClient(CoreV1Api).listNamespace();
      await new Watch(kc)
        .watch(
          '/api/v1/namespaces',
          {},
          () => undefined,
          () => undefined,
        )
        .then((c) => controller.signal.addEventListener('abort', () => c.abort()));
      const mine = api.requestLog.filter((e) => e.userAgent === 'imring-test').map((e) => e.verb);
      assert.deepEqual(mine, ['list', 'watch']);
    } finally {
      controller.abort();
      await api.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

suite('RBAC review: the manifests grant what the components use, and nothing more', () => {
  let system: OperatorSystem;
  const calls = new Map<Component, RequestAttributes[]>();
  const served = new Map<Component, ServedRequest[]>();
  let operatorGrants: Grant[];
  let runtimeGrants: Grant[];

  before(async () => {
    // Each component names itself in its User-Agent (cli/: loadKubeConfig({ userAgent })), so
    // one cluster's request log tells them apart; the test's own calls are client-node's or kubectl's.
    system = await OperatorSystem.start({ gateway: GATEWAY });
    await system.startOperator('op-a');
    await system.startRuntimes(GATEWAY);
    const manifest = join(system.dir, 'gateway.json');
    await writeFile(manifest, JSON.stringify(imGateway(GATEWAY, { replicas: 1 })));
    await system.kubectlOk(['apply', '-f', manifest]);
    await system.untilGateway(GATEWAY, convergedAt(1));
    await system.kubectlOk(['scale', `imgw/${GATEWAY}`, '--replicas=3']);
    await system.untilGateway(GATEWAY, convergedAt(3));
    await system.kubectlOk(['scale', `imgw/${GATEWAY}`, '--replicas=1']);
    await system.untilGateway(GATEWAY, convergedAt(1));
    // A rollout: the operator deletes the outdated pod once out of the ring.
    await system.kubectlOk(['rollout', 'restart', `sts/${GATEWAY}`]);
    await system.untilGateway(GATEWAY, (g) => g.status?.phase === 'RollingUpdate');
    await system.untilGateway(
      GATEWAY,
      (g) => convergedAt(1)(g) && g.status?.phase === 'Stable' && g.status.updatedReplicas === 1,
    );
    // A ring edited by hand: the operator restores it.
    const version = (await system.gateway(GATEWAY)).status!.ring!.version!;
    await system.kubectlOk([
      'patch',
      'configmap',
      `${GATEWAY}-ring`,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ data: { 'ring.json': '{not json' } }),
    ]);
    await watchUntil(system.cluster.kc, `/api/v1/namespaces/${NAMESPACE}/configmaps`, async () =>
      (await system.ring(GATEWAY))?.version === version ? true : undefined,
    );
    // Owned objects edited by hand: the operator puts them back.
    await system.kubectlOk([
      'patch',
      'service',
      `${GATEWAY}-headless`,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { publishNotReadyAddresses: false } }),
    ]);
    await system.kubectlOk([
      'patch',
      'pdb',
      GATEWAY,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { maxUnavailable: 3 } }),
    ]);
    await watchUntil(system.cluster.kc, `/apis/policy/v1/namespaces/${NAMESPACE}/poddisruptionbudgets`, async () => {
      const pdb = JSON.parse(await system.kubectlOk(['get', 'pdb', GATEWAY, '-o', 'json'])) as {
        spec: { maxUnavailable: number };
      };
      const service = JSON.parse(await system.kubectlOk(['get', 'service', `${GATEWAY}-headless`, '-o', 'json'])) as {
        spec: { publishNotReadyAddresses?: boolean };
      };
      return pdb.spec.maxUnavailable === 1 && service.spec.publishNotReadyAddresses === true ? true : undefined;
    });
    // The runtimes stop cleanly (their Leases go), then the operator.
    for (const component of ['proxy', 'push'])
      await system.core.deleteNamespacedPod({ name: `${GATEWAY}-${component}`, namespace: NAMESPACE });
    await watchUntil(system.cluster.kc, `/api/v1/namespaces/${NAMESPACE}/pods`, async () => {
      const pods = (await system.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: RUNTIME_PODS })).items;
      return pods.length === 0 ? true : undefined;
    });
    await system.stopOperator('op-a', 'SIGTERM');
    for (const entry of system.requestLog) {
      const component = COMPONENTS.find((c) => entry.userAgent === `imring-${c}`);
      const attributes = requestAttributes(entry);
      if (component) served.set(component, [...(served.get(component) ?? []), entry]);
      if (component && attributes) calls.set(component, [...(calls.get(component) ?? []), attributes]);
    }
    const operatorRoles = await readGrants(OPERATOR_RBAC, NAMESPACE);
    operatorGrants = [operatorRoles.get('imring-operator')!, operatorRoles.get('imring-operator-leader-election')!];
    runtimeGrants = [(await readGrants(RUNTIME_RBAC, NAMESPACE)).get('imring-runtime')!];
  });

  after(async () => {
    await system?.close();
  });

  /** The calls the server refused (403), described; the server's RBAC authorizer decides, as on a cluster. */
  const refused = (component: Component): string[] => [
    ...new Set(
      (served.get(component) ?? []).filter((e) => e.status === 403).map((e) => `${e.method} ${e.path}${e.query}`),
    ),
  ];
  const usersOf = (component: Component): string[] => [
    ...new Set((served.get(component) ?? []).map((e) => e.user ?? '')),
  ];

  test('every component made API calls under its own name', () => {
    for (const component of COMPONENTS)
      assert.ok((calls.get(component) ?? []).length > 0, `no calls from imring-${component}`);
  });

  test('the operator runs as its ServiceAccount and the server allowed every call (ClusterRole imring-operator, Role imring-operator-leader-election)', () => {
    assert.ok(operatorGrants.every(Boolean), 'both roles are in config/rbac/operator.yaml');
    assert.deepEqual(usersOf('operator'), [`system:serviceaccount:${NAMESPACE}:imring-operator`]);
    assert.deepEqual(refused('operator'), []);
  });

  test("every permission of the operator's roles is used by the operator", () => {
    assert.deepEqual(
      unusedPermissions(operatorGrants, calls.get('operator') ?? []),
      [],
      `calls made:\n${[...new Set((calls.get('operator') ?? []).map(describe))].sort().join('\n')}`,
    );
  });

  test('the gateways, the proxy and the push run as imring-runtime and the server allowed every call (Role imring-runtime)', () => {
    assert.ok(runtimeGrants.every(Boolean), 'Role imring-runtime is in config/demo/runtime-rbac.yaml');
    for (const component of ['gateway', 'proxy', 'push'] as const) {
      assert.deepEqual(usersOf(component), [`system:serviceaccount:${NAMESPACE}:imring-runtime`], component);
      assert.deepEqual(refused(component), [], component);
    }
  });

  test('every permission of Role imring-runtime is used by some runtime', () => {
    const runtimeCalls = (['gateway', 'proxy', 'push'] as const).flatMap((c) => calls.get(c) ?? []);
    assert.deepEqual(
      unusedPermissions(runtimeGrants, runtimeCalls),
      [],
      `calls made:\n${[...new Set(runtimeCalls.map(describe))].sort().join('\n')}`,
    );
  });
});
