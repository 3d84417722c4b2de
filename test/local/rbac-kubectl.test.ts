import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KubectlSession } from '../support/kubectl.js';

const NS = 'team';
const SA = 'reader';
const USER = `system:serviceaccount:${NS}:${SA}`;

/** RBAC on the local API server, through real kubectl: the admin token and a ServiceAccount's token. */
describe('RBAC with kubectl', () => {
  let k: KubectlSession;
  let token: string;
  const asReader = (args: readonly string[]) => k.run(['--token', token, ...args]);

  before(async () => {
    k = await KubectlSession.start();
    const object = (kind: string, name: string, extra: Record<string, unknown> = {}) => ({
      apiVersion: 'v1',
      kind,
      metadata: { name, ...(kind === 'Namespace' ? {} : { namespace: NS }) },
      ...extra,
    });
    const manifest = await k.write('rbac.yaml', [
      object('Namespace', NS),
      object('ServiceAccount', SA),
      object('ConfigMap', 'c1', { data: { a: '1' } }),
      object('Secret', 'open', { stringData: { a: '1' } }),
      object('Secret', 'closed', { stringData: { a: '1' } }),
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'reader', namespace: NS },
        rules: [
          { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [''], resources: ['secrets'], resourceNames: ['open'], verbs: ['get'] },
          { apiGroups: ['apps'], resources: ['statefulsets/scale'], verbs: ['get', 'patch'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'reader', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
        subjects: [{ kind: 'ServiceAccount', name: SA }],
      },
    ]);
    await k.ok(['apply', '-f', manifest]);
    token = k.api.server.serviceAccountToken(NS, SA)!;
    assert.ok(token, 'the server issues a token for an existing ServiceAccount');
  });

  after(() => k?.close());

  test('the admin kubeconfig is a cluster admin', async () => {
    assert.equal((await k.run(['auth', 'can-i', '*', '*', '--all-namespaces'])).stdout.trim(), 'yes');
    await k.ok(['get', 'clusterrolebinding', 'cluster-admin']);
  });

  test('every namespace gets a default ServiceAccount', async () => {
    assert.match(await k.ok(['-n', NS, 'get', 'serviceaccount', 'default', '-o', 'name']), /serviceaccount\/default/);
  });

  test('a ServiceAccount token is allowed inside its Role', async () => {
    assert.match(await asReader(['-n', NS, 'get', 'configmaps']).then((r) => r.stdout), /c1/);
    assert.match((await asReader(['-n', NS, 'get', 'secret', 'open', '-o', 'name'])).stdout, /secret\/open/);
  });

  test('outside its Role it is denied with the cluster message', async () => {
    const cases: [string[], string][] = [
      [
        ['-n', NS, 'delete', 'configmap', 'c1'],
        `configmaps "c1" is forbidden: User "${USER}" cannot delete resource "configmaps" in API group "" in the namespace "${NS}"`,
      ],
      [
        ['-n', NS, 'get', 'secrets'],
        `secrets is forbidden: User "${USER}" cannot list resource "secrets" in API group "" in the namespace "${NS}"`,
      ],
      [
        ['-n', NS, 'get', 'secret', 'closed'],
        `secrets "closed" is forbidden: User "${USER}" cannot get resource "secrets" in API group "" in the namespace "${NS}"`,
      ],
      [
        ['-n', 'default', 'get', 'configmaps'],
        `configmaps is forbidden: User "${USER}" cannot list resource "configmaps" in API group "" in the namespace "default"`,
      ],
      [
        ['get', 'namespaces'],
        `namespaces is forbidden: User "${USER}" cannot list resource "namespaces" in API group "" at the cluster scope`,
      ],
      [
        ['get', 'clusterroles'],
        `clusterroles.rbac.authorization.k8s.io is forbidden: User "${USER}" cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope`,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await asReader(args);
      assert.notEqual(result.code, 0, args.join(' '));
      assert.equal(result.stderr.trim(), `Error from server (Forbidden): ${message}`, args.join(' '));
    }
  });

  test('an unknown token is 401', async () => {
    const result = await k.run(['--token', 'not-a-token-of-this-server', 'get', 'configmaps']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unauthorized|must be logged in/);
  });

  test('kubectl auth can-i answers from the same rules, by token and by impersonation', async () => {
    const canI = async (args: string[]) => (await k.run(['auth', 'can-i', ...args])).stdout.trim();
    assert.equal(await canI(['-n', NS, 'list', 'configmaps', '--as', USER]), 'yes');
    assert.equal(await canI(['-n', NS, 'create', 'pods', '--as', USER]), 'no');
    assert.equal(await canI(['-n', NS, 'get', 'secret/open', '--as', USER]), 'yes');
    assert.equal(await canI(['-n', NS, 'get', 'secret/closed', '--as', USER]), 'no');
    assert.equal(await canI(['-n', NS, 'patch', 'statefulsets', '--subresource', 'scale', '--as', USER]), 'yes');
    assert.equal(await canI(['-n', NS, 'patch', 'statefulsets', '--as', USER]), 'no');
    assert.equal(await canI(['-n', 'default', 'list', 'configmaps', '--as', USER]), 'no');
    const byToken = await asReader(['auth', 'can-i', '-n', NS, 'watch', 'configmaps']);
    assert.equal(byToken.stdout.trim(), 'yes');
  });

  test('discovery and non-resource URLs follow system:discovery; groups are impersonated too', async () => {
    assert.match((await asReader(['api-resources', '-o', 'name'])).stdout, /^configmaps$/m);
    const canI = async (args: string[]) => (await k.run(['auth', 'can-i', ...args])).stdout.trim();
    assert.equal(await canI(['get', '/apis', '--as', USER]), 'yes');
    assert.equal(await canI(['post', '/apis', '--as', USER]), 'no');
    assert.equal(await canI(['list', 'secrets', '-A', '--as', 'someone', '--as-group', 'system:masters']), 'yes');
    assert.equal(await canI(['list', 'secrets', '-A', '--as', 'someone']), 'no');
  });

  test('a SubjectAccessReview answers for another user, with the binding that allowed it', async () => {
    const review = await k.write('sar.yaml', [
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: USER,
          groups: ['system:serviceaccounts'],
          resourceAttributes: { namespace: NS, verb: 'get', resource: 'configmaps', name: 'c1' },
        },
      },
    ]);
    const answer = JSON.parse(await k.ok(['create', '-f', review, '-o', 'json'])) as {
      status: { allowed: boolean; reason?: string };
    };
    assert.deepEqual(answer.status, {
      allowed: true,
      reason: `RBAC: allowed by RoleBinding "reader/${NS}" of Role "reader" to ServiceAccount "${SA}/${NS}"`,
    });
  });

  test('kubectl auth can-i --list shows the rules of the Role', async () => {
    const list = (await asReader(['auth', 'can-i', '--list', '-n', NS])).stdout;
    assert.match(list, /configmaps\s+\[\]\s+\[\]\s+\[get list watch\]/);
    assert.match(list, /secrets\s+\[\]\s+\[open\]\s+\[get\]/);
  });

  test('a ServiceAccount may not impersonate', async () => {
    const result = await asReader(['-n', NS, 'get', 'configmaps', '--as', 'kubernetes-admin']);
    assert.equal(
      result.stderr.trim(),
      `Error from server (Forbidden): users "kubernetes-admin" is forbidden: User "${USER}" cannot impersonate resource "users" in API group "" at the cluster scope`,
    );
  });

  test('a token of a deleted ServiceAccount no longer authenticates', async () => {
    await k.ok([
      'apply',
      '-f',
      await k.write('gone.yaml', [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'gone', namespace: NS } },
      ]),
    ]);
    const gone = k.api.server.serviceAccountToken(NS, 'gone')!;
    await k.ok(['-n', NS, 'delete', 'serviceaccount', 'gone']);
    const result = await k.run(['--token', gone, '-n', NS, 'get', 'configmaps']);
    assert.notEqual(result.code, 0);
    assert.equal(k.api.server.serviceAccountToken(NS, 'gone'), undefined);
  });
});
