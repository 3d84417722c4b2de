import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestAttributes } from '../../local/apiserver/auth/attributes.js';
import { forbidden } from '../../local/apiserver/auth/forbidden.js';
import { RbacAuthorizer, ruleAllows } from '../../local/apiserver/auth/rbac-authorizer.js';
import { ObjectStore } from '../../local/apiserver/store/store.js';

const USER = { username: 'system:serviceaccount:ns:sa', groups: ['system:serviceaccounts', 'system:authenticated'] };

function request(init: Partial<RequestAttributes>): RequestAttributes {
  return {
    user: USER,
    verb: 'get',
    resourceRequest: true,
    path: '',
    apiGroup: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    ...init,
  };
}

describe('RBAC authorizer', () => {
  test('403 messages read as a cluster writes them', () => {
    const table: [Partial<RequestAttributes>, string][] = [
      [
        {
          verb: 'patch',
          apiGroup: 'apps',
          resource: 'statefulsets',
          subresource: 'scale',
          namespace: 'ns',
          name: 'im',
        },
        'statefulsets.apps "im" is forbidden: User "system:serviceaccount:ns:sa" cannot patch resource "statefulsets/scale" in API group "apps" in the namespace "ns"',
      ],
      [
        { verb: 'get', resource: 'nodes', name: 'n1' },
        'nodes "n1" is forbidden: User "system:serviceaccount:ns:sa" cannot get resource "nodes" in API group "" at the cluster scope',
      ],
      [
        { verb: 'get', resourceRequest: false, path: '/metrics' },
        'forbidden: User "system:serviceaccount:ns:sa" cannot get path "/metrics"',
      ],
    ];
    for (const [init, message] of table) {
      const error = forbidden(request(init));
      assert.equal(error.code, 403);
      assert.equal(error.reason, 'Forbidden');
      assert.equal(error.message, message);
    }
  });

  test('rules match verbs, groups, subresources (also */sub), names and URL prefixes', () => {
    const scale = request({ verb: 'patch', apiGroup: 'apps', resource: 'statefulsets', subresource: 'scale' });
    assert.equal(ruleAllows({ verbs: ['patch'], apiGroups: ['apps'], resources: ['*/scale'] }, scale), true);
    assert.equal(ruleAllows({ verbs: ['patch'], apiGroups: ['apps'], resources: ['statefulsets'] }, scale), false);
    assert.equal(ruleAllows({ verbs: ['*'], apiGroups: ['*'], resources: ['statefulsets/scale'] }, scale), true);
    const named = request({ resource: 'secrets', name: 'a' });
    assert.equal(
      ruleAllows({ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] }, named),
      true,
    );
    assert.equal(
      ruleAllows(
        { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] },
        request({ resource: 'secrets' }),
      ),
      false,
    );
    const path = request({ resourceRequest: false, path: '/apis/apps/v1' });
    assert.equal(ruleAllows({ verbs: ['get'], nonResourceURLs: ['/apis/*'] }, path), true);
    assert.equal(ruleAllows({ verbs: ['get'], nonResourceURLs: ['/api/*'] }, path), false);
  });

  test('a RoleBinding grants only in its namespace; a ClusterRoleBinding everywhere; changes apply at once', () => {
    const store = new ObjectStore();
    const rbac = new RbacAuthorizer(store);
    const put = (resource: string, object: Record<string, unknown>) =>
      store.put(`rbac.authorization.k8s.io/${resource}`, object);
    put('clusterroles', {
      metadata: { name: 'reader' },
      rules: [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }],
    });
    put('rolebindings', {
      metadata: { name: 'b', namespace: 'ns' },
      roleRef: { kind: 'ClusterRole', name: 'reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'sa' }],
    });
    const list = (namespace: string) => rbac.authorize(request({ verb: 'list', resource: 'pods', namespace })).allowed;
    assert.equal(list('ns'), true);
    assert.equal(list('other'), false);
    assert.equal(list(''), false);
    put('clusterrolebindings', {
      metadata: { name: 'all' },
      roleRef: { kind: 'ClusterRole', name: 'reader' },
      subjects: [{ kind: 'Group', name: 'system:serviceaccounts' }],
    });
    assert.equal(list('other'), true);
    assert.equal(list(''), true);
  });
});
