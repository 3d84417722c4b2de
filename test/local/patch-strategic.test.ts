import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../local/apiserver/errors.js';
import { applyStrategicMergePatch } from '../../local/apiserver/patch/strategic-merge.js';
import type { KubeObject } from '../../local/apiserver/types.js';
import { newDeployment, newPod } from './patch-fixtures.js';

type Obj = Record<string, any>;

function podWith(containers: Obj[], extra: Obj = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers, ...extra } };
}

function containersOf(obj: KubeObject): Obj[] {
  return (obj.spec as Obj).containers as Obj[];
}

// k8s.io/apimachinery/pkg/util/strategicpatch patch_test.go: the ThreeWay patch applied to Current
// gives Result. `mergingList` (merge key `name`) is played by spec.containers.
test('merge lists follow the strategicpatch test table (ThreeWay applied to Current)', () => {
  const cases: { name: string; current: Obj[]; patch: Obj; want: Obj[] }[] = [
    {
      name: 'add an item in a list and preserve order',
      current: [
        { name: '1', other: 'a' },
        { name: '2', value: '2', other: 'b' },
      ],
      patch: {
        '$setElementOrder/containers': [{ name: '3' }, { name: '1' }, { name: '2' }],
        containers: [{ name: '3', value: '3' }],
      },
      want: [
        { name: '3', value: '3' },
        { name: '1', other: 'a' },
        { name: '2', value: '2', other: 'b' },
      ],
    },
    {
      name: 'add map and delete map from merging list with conflict',
      current: [
        { name: '1', other: 'a' },
        { name: '4', other: 'c' },
      ],
      patch: {
        '$setElementOrder/containers': [{ name: '2' }, { name: '3' }],
        containers: [{ name: '2' }, { name: '3' }, { name: '1', $patch: 'delete' }],
      },
      want: [{ name: '4', other: 'c' }, { name: '2' }, { name: '3' }],
    },
    {
      name: 'Extension field and merge list: server-only items keep their place',
      current: [{ name: '1' }, { name: '3' }],
      patch: { '$setElementOrder/containers': [{ name: '1' }, { name: '2' }], containers: [{ name: '2' }] },
      want: [{ name: '1' }, { name: '2' }, { name: '3' }],
    },
    {
      name: 'nested patch merge with empty list',
      current: [{ name: 'hello2' }],
      patch: {
        '$setElementOrder/containers': [{ name: 'hello' }, { name: 'doesntexist' }],
        containers: [{ name: 'hello' }],
      },
      want: [{ name: 'hello' }, { name: 'hello2' }],
    },
    {
      name: 'without $setElementOrder a new element goes first',
      current: [{ name: 'a' }, { name: 'b' }],
      patch: { containers: [{ name: 'c' }] },
      want: [{ name: 'c' }, { name: 'a' }, { name: 'b' }],
    },
    {
      name: 'a changed element is merged in place, keeping its other fields',
      current: [{ name: 'a', image: 'a:1', args: ['x'] }, { name: 'b' }],
      patch: { containers: [{ name: 'a', image: 'a:2' }] },
      want: [{ name: 'a', image: 'a:2', args: ['x'] }, { name: 'b' }],
    },
    {
      name: 'an empty patch list changes nothing (use $patch: replace to clear)',
      current: [{ name: 'a' }],
      patch: { containers: [] },
      want: [{ name: 'a' }],
    },
    {
      name: '$patch: replace in a list replaces the whole list',
      current: [{ name: 'a' }, { name: 'b' }],
      patch: { containers: [{ name: 'z' }, { $patch: 'replace' }] },
      want: [{ name: 'z' }],
    },
  ];
  for (const c of cases) {
    const out = applyStrategicMergePatch(podWith(c.current), { spec: c.patch }, 'Pod');
    assert.deepEqual(containersOf(out), c.want, c.name);
  }
});

// `mergingIntList` (a merged primitive list) is played by metadata.finalizers.
test('primitive merge lists are sets, with $deleteFromPrimitiveList and $setElementOrder', () => {
  const cases: { name: string; current: string[]; patch: Obj; want: string[] }[] = [
    { name: 'union without duplicates', current: ['1', '2'], patch: { finalizers: ['2', '3'] }, want: ['1', '2', '3'] },
    {
      name: 'preserve the order from the patch in a merging int list',
      current: ['1', '2', '3'],
      patch: { finalizers: ['3', '1'] },
      want: ['2', '3', '1'],
    },
    {
      name: 'delete items in lists of scalars',
      current: ['1', '2', '3', '4'],
      patch: { '$setElementOrder/finalizers': ['1', '2'], '$deleteFromPrimitiveList/finalizers': ['3'] },
      want: ['1', '2', '4'],
    },
    {
      name: '$setElementOrder contains item that is not present in the int list to be merged',
      current: ['1', '3'],
      patch: { '$setElementOrder/finalizers': ['3', '2', '1'] },
      want: ['3', '1'],
    },
  ];
  for (const c of cases) {
    const live = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', finalizers: c.current } };
    const out = applyStrategicMergePatch(live, { metadata: c.patch }, 'ConfigMap');
    assert.deepEqual(out.metadata?.finalizers, c.want, c.name);
  }
});

test('lists are merged by the built-in merge keys at every level of a pod', () => {
  const live = newPod({ volumes: [{ name: 'v', emptyDir: {} }], tolerations: [{ key: 'a', operator: 'Exists' }] });
  const patch = {
    spec: {
      containers: [
        {
          name: 'app',
          ports: [{ containerPort: 9090 }],
          env: [
            { name: 'A', value: '2' },
            { name: 'B', value: 'b' },
          ],
        },
      ],
      volumes: [{ name: 'w', configMap: { name: 'cm' } }],
      tolerations: [{ key: 'b', operator: 'Exists' }],
    },
  };
  const spec = applyStrategicMergePatch(live, patch, 'Pod').spec as Obj;
  assert.deepEqual(spec.containers[0].ports, [{ containerPort: 9090 }, { containerPort: 8080 }]);
  assert.deepEqual(spec.containers[0].env, [
    { name: 'A', value: '2' },
    { name: 'B', value: 'b' },
  ]);
  assert.deepEqual(
    spec.volumes.map((v: Obj) => String(v.name)),
    ['w', 'v'],
  );
  assert.deepEqual(spec.tolerations, [{ key: 'b', operator: 'Exists' }], 'tolerations have no merge key: replaced');
});

test('a Deployment template merges as a pod, and service ports merge by port', () => {
  const dep = applyStrategicMergePatch(
    newDeployment(),
    { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 's' }] } } } },
    'Deployment',
  );
  assert.deepEqual(
    ((dep.spec as Obj).template.spec.containers as Obj[]).map((c) => String(c.name)),
    ['sidecar', 'nginx'],
  );
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's' },
    spec: { ports: [{ port: 80, targetPort: 8080 }] },
  };
  const out = applyStrategicMergePatch(
    svc,
    { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } },
    'Service',
  );
  assert.deepEqual((out.spec as Obj).ports, [{ port: 80, targetPort: 9090 }, { port: 443 }]);
});

test('a CRD and kinds without merge keys replace their lists', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'x' },
    spec: { versions: [{ name: 'v1' }, { name: 'v2' }] },
  };
  const out = applyStrategicMergePatch(crd, { spec: { versions: [{ name: 'v3' }] } }, 'CustomResourceDefinition');
  assert.deepEqual((out.spec as Obj).versions, [{ name: 'v3' }]);
});

test('status.conditions merge by type and ownerReferences by uid', () => {
  const live = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'b', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: '1' }] },
    status: {
      conditions: [
        { type: 'DisruptionAllowed', status: 'True' },
        { type: 'Other', status: 'False' },
      ],
    },
  };
  const patch = {
    metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Y', name: 'y', uid: '2' }] },
    status: { conditions: [{ type: 'DisruptionAllowed', status: 'False' }] },
  };
  const out = applyStrategicMergePatch(live, patch, 'PodDisruptionBudget');
  assert.deepEqual(
    out.metadata?.ownerReferences?.map((o) => o.uid),
    ['2', '1'],
  );
  assert.deepEqual((out.status as Obj).conditions, [
    { type: 'DisruptionAllowed', status: 'False' },
    { type: 'Other', status: 'False' },
  ]);
});

test('map directives: null deletes a key, $patch replace and delete act on the whole map, $retainKeys prunes', () => {
  const live = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', labels: { a: '1', b: '2' } },
    spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } },
  };
  const cases: [string, Obj, Obj][] = [
    ['null deletes', { metadata: { labels: { a: null } } }, { a: undefined, b: '2' }],
    ['$patch: replace', { metadata: { labels: { c: '3', $patch: 'replace' } } }, { c: '3' }],
    ['$patch: delete', { metadata: { labels: { $patch: 'delete' } } }, {}],
  ];
  for (const [name, patch, labels] of cases) {
    const out = applyStrategicMergePatch(live, patch, 'Deployment');
    assert.deepEqual(out.metadata?.labels, JSON.parse(JSON.stringify(labels)), name);
  }
  // kubectl apply switching a Deployment to Recreate sends `$retainKeys` for spec.strategy.
  const recreate = applyStrategicMergePatch(
    live,
    { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    'Deployment',
  );
  assert.deepEqual((recreate.spec as Obj).strategy, { type: 'Recreate' });
  assert.throws(
    () =>
      applyStrategicMergePatch(
        live,
        { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } },
        'Deployment',
      ),
    (e: unknown) => e instanceof ApiError && e.code === 400,
  );
});

test('directives never reach the stored object, even inside new fields', () => {
  const live = podWith([{ name: 'a' }]);
  const patch = {
    spec: {
      initContainers: [{ name: 'i' }, { name: 'gone', $patch: 'delete' }],
      nodeSelector: { $patch: 'replace', zone: 'a' },
    },
  };
  const out = applyStrategicMergePatch(live, patch, 'Pod');
  assert.deepEqual((out.spec as Obj).initContainers, [{ name: 'i' }]);
  assert.deepEqual((out.spec as Obj).nodeSelector, { zone: 'a' });
});

test('kubectl client-side apply patches (with $setElementOrder and annotations) apply to a Deployment', () => {
  const live = newDeployment(1, 'nginx:1.25');
  const patch = {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: {
      replicas: 2,
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'nginx' }],
          containers: [{ image: 'nginx:1.27', name: 'nginx' }],
        },
      },
    },
  };
  const out = applyStrategicMergePatch(live, patch, 'Deployment');
  assert.equal((out.spec as Obj).replicas, 2);
  assert.deepEqual((out.spec as Obj).template.spec.containers, [{ name: 'nginx', image: 'nginx:1.27' }]);
  assert.equal(out.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], '{}');
  assert.equal(
    ((live.spec as Obj).template.spec.containers as Obj[])[0]!.image,
    'nginx:1.25',
    'the live object is not modified',
  );
});

test('errors: a missing merge key is a 500 with the apimachinery text, lists of lists a 422, a non-object a 400', () => {
  const live = podWith([{ name: 'a' }]);
  const cases: [Obj | unknown[], number, RegExp][] = [
    [
      { spec: { containers: [{ image: 'x' }] } },
      500,
      /^map: map\[image:x\] does not contain declared merge key: name$/,
    ],
    [{ spec: { containers: [{ name: 'a', $patch: 'merge' }] } }, 500, /merging lists cannot yet be specified/],
    [{ metadata: { labels: { $patch: 'bogus' } } }, 500, /Unknown patch type: bogus/],
    [{ metadata: { finalizers: [['a']] } }, 422, /rejected our request/],
    [[1], 400, /cannot unmarshal array/],
  ];
  for (const [patch, code, message] of cases) {
    assert.throws(
      () =>
        applyStrategicMergePatch(
          { ...live, metadata: { name: 'p', finalizers: ['f'], labels: { a: '1' } } },
          patch,
          'Pod',
        ),
      (e: unknown) => e instanceof ApiError && e.code === code && message.test(e.message),
      JSON.stringify(patch),
    );
  }
});

// Merging is keyed by map (linear); a quadratic merge of 50,000 elements would hang this test.
test('long merge lists of 50,000 elements merge', () => {
  const n = 50_000;
  const live = podWith(Array.from({ length: n }, (_, i) => ({ name: `c${i}` })));
  const patch = { spec: { containers: Array.from({ length: n }, (_, i) => ({ name: `c${n - 1 - i}`, image: 'x' })) } };
  const out = applyStrategicMergePatch(live, patch, 'Pod');
  assert.equal(containersOf(out).length, n);
  assert.equal(containersOf(out)[0]?.image, 'x');
});
