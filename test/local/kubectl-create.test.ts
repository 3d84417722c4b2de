import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalCluster } from '../../local/cluster.js';
import { runKubectl, type KubectlResult } from '../support/kubectl.js';
import { TEST_IMAGE, withCluster } from './cluster-fixtures.js';

/**
 * kubectl's generator commands (`kubectl create <kind> …`, `kubectl run`) against a local
 * cluster. kubectl encodes their objects as protobuf: each must be stored as it would be on a
 * cluster, and `--dry-run=server` must print the object and keep nothing.
 */

/** kubectl pointed at a started cluster, its HOME and cache in a temp dir of its own. */
class Kubectl {
  constructor(
    readonly cluster: LocalCluster,
    readonly dir: string,
  ) {}

  run(args: readonly string[]): Promise<KubectlResult> {
    return runKubectl(this.cluster.kubeconfigPath, this.dir, args);
  }

  /** Runs `args`, which must succeed; resolves to stdout. */
  async ok(args: readonly string[]): Promise<string> {
    const result = await this.run(args);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  }

  /** The stored object, as `kubectl get -o json` prints it. */
  async get(args: readonly string[]): Promise<any> {
    return JSON.parse(await this.ok(['get', ...args, '-o', 'json']));
  }
}

/** Runs `body` with a started cluster and kubectl; both are gone afterwards. */
async function withKubectl(body: (k: Kubectl) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-create-'));
  try {
    await withCluster((cluster) => body(new Kubectl(cluster, dir)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('kubectl create namespace, configmap, secret, serviceaccount and service store what kubectl generated', async () => {
  await withKubectl(async (k) => {
    assert.equal(await k.ok(['create', 'namespace', 'demo']), 'namespace/demo created\n');
    assert.equal((await k.get(['namespace', 'demo'])).status.phase, 'Active');

    const configMap = ['-n', 'demo', 'create', 'configmap', 'settings', '--from-literal=mode=fast'];
    assert.equal(await k.ok([...configMap, '--from-literal=level=3']), 'configmap/settings created\n');
    const settings = await k.get(['-n', 'demo', 'configmap', 'settings']);
    assert.deepEqual(settings.data, { mode: 'fast', level: '3' });
    assert.equal(settings.metadata.namespace, 'demo');

    // The README's step ("On a cluster"), with a fixed key.
    const key = 'a3f1'.repeat(16);
    await k.ok(['create', 'namespace', 'imring-demo']);
    const readme = ['-n', 'imring-demo', 'create', 'secret', 'generic', 'demo-token', `--from-literal=key=${key}`];
    assert.equal(await k.ok(readme), 'secret/demo-token created\n');
    const secret = await k.get(['-n', 'imring-demo', 'secret', 'demo-token']);
    assert.equal(secret.type, 'Opaque');
    assert.deepEqual(secret.data, { key: Buffer.from(key).toString('base64') });

    assert.equal(await k.ok(['-n', 'demo', 'create', 'serviceaccount', 'robot']), 'serviceaccount/robot created\n');
    assert.equal((await k.get(['-n', 'demo', 'serviceaccount', 'robot'])).metadata.name, 'robot');

    const service = ['-n', 'demo', 'create', 'service', 'clusterip', 'web', '--tcp=80:8080', '--tcp=9090'];
    assert.equal(await k.ok(service), 'service/web created\n');
    const web = await k.get(['-n', 'demo', 'service', 'web']);
    assert.deepEqual(web.spec.selector, { app: 'web' });
    assert.deepEqual(
      (web.spec.ports as any[]).map((p): unknown[] => [p.name, p.port, p.targetPort, p.protocol]),
      [
        ['80-8080', 80, 8080, 'TCP'],
        ['9090', 9090, 9090, 'TCP'],
      ],
    );
    assert.match(String(web.spec.clusterIP), /^\d+\.\d+\.\d+\.\d+$/);
  });
});

test('kubectl create deployment, kubectl run and kubectl create poddisruptionbudget store their objects', async () => {
  await withKubectl(async (k) => {
    const deployment = ['create', 'deployment', 'web', `--image=${TEST_IMAGE}`, '--replicas=2', '--port=8080'];
    assert.equal(await k.ok(deployment), 'deployment.apps/web created\n');
    const web = await k.get(['deployment', 'web']);
    assert.equal(web.spec.replicas, 2);
    assert.deepEqual(web.spec.selector, { matchLabels: { app: 'web' } });
    assert.deepEqual(web.spec.strategy, {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    const [container] = web.spec.template.spec.containers;
    assert.equal(container.image, TEST_IMAGE);
    assert.deepEqual(container.ports, [{ containerPort: 8080, protocol: 'TCP' }]);

    const run = ['run', 'one', `--image=${TEST_IMAGE}`, '--env=PORT=8080', '--labels=role=once', '--restart=Never'];
    assert.equal(await k.ok([...run, '--port=8080']), 'pod/one created\n');
    const pod = await k.get(['pod', 'one']);
    assert.deepEqual(pod.metadata.labels, { role: 'once' });
    assert.equal(pod.spec.restartPolicy, 'Never');
    assert.deepEqual(pod.spec.containers[0].env, [{ name: 'PORT', value: '8080' }]);
    assert.equal(pod.spec.containers[0].name, 'one');
    const budget = ['create', 'poddisruptionbudget', 'web', '--selector=app=web', '--min-available=50%'];
    assert.equal(await k.ok(budget), 'poddisruptionbudget.policy/web created\n');
    assert.deepEqual((await k.get(['pdb', 'web'])).spec, {
      minAvailable: '50%',
      selector: { matchLabels: { app: 'web' } },
    });
    assert.equal(await k.ok(['delete', 'deployment', 'web', '--wait=false']), 'deployment.apps "web" deleted\n');
    assert.equal(await k.ok(['delete', 'pod', 'one', '--wait=false']), 'pod "one" deleted\n');
  });
});

test('kubectl create role, rolebinding, clusterrole and clusterrolebinding store their rules and subjects', async () => {
  await withKubectl(async (k) => {
    const role = [
      'create',
      'role',
      'reader',
      '--verb=get,list',
      '--resource=pods,deployments.apps',
      '--resource-name=web',
    ];
    assert.equal(await k.ok(role), 'role.rbac.authorization.k8s.io/reader created\n');
    assert.deepEqual((await k.get(['role', 'reader'])).rules, [
      { apiGroups: [''], resources: ['pods'], resourceNames: ['web'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'], verbs: ['get', 'list'] },
    ]);

    const binding = [
      'create',
      'rolebinding',
      'readers',
      '--role=reader',
      '--user=alice',
      '--serviceaccount=default:robot',
    ];
    assert.equal(await k.ok(binding), 'rolebinding.rbac.authorization.k8s.io/readers created\n');
    const readers = await k.get(['rolebinding', 'readers']);
    assert.deepEqual(readers.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' });
    assert.deepEqual(readers.subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
      { kind: 'ServiceAccount', name: 'robot', namespace: 'default' },
    ]);

    const logs = ['create', 'clusterrole', 'logs', '--verb=get', '--non-resource-url=/logs/*'];
    assert.equal(await k.ok(logs), 'clusterrole.rbac.authorization.k8s.io/logs created\n');
    assert.deepEqual((await k.get(['clusterrole', 'logs'])).rules, [{ nonResourceURLs: ['/logs/*'], verbs: ['get'] }]);
    const aggregate = ['create', 'clusterrole', 'monitoring', '--aggregation-rule=rbac.example.com/aggregate=true'];
    assert.equal(await k.ok(aggregate), 'clusterrole.rbac.authorization.k8s.io/monitoring created\n');
    assert.deepEqual((await k.get(['clusterrole', 'monitoring'])).aggregationRule, {
      clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }],
    });

    const clusterBinding = ['create', 'clusterrolebinding', 'log-readers', '--clusterrole=logs', '--group=ops'];
    assert.equal(await k.ok(clusterBinding), 'clusterrolebinding.rbac.authorization.k8s.io/log-readers created\n');
    assert.deepEqual((await k.get(['clusterrolebinding', 'log-readers'])).subjects, [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'ops' },
    ]);
  });
});

test('kubectl create and run with --dry-run=server print the object and keep nothing', async () => {
  await withKubectl(async (k) => {
    const generators: [string[], string][] = [
      [['create', 'namespace', 'dry'], 'namespace/dry created (server dry run)\n'],
      [['create', 'configmap', 'dry', '--from-literal=a=b'], 'configmap/dry created (server dry run)\n'],
      [['create', 'secret', 'generic', 'dry', '--from-literal=a=b'], 'secret/dry created (server dry run)\n'],
      [
        [
          'create',
          'secret',
          'docker-registry',
          'dry',
          '--docker-server=r.example',
          '--docker-username=u',
          '--docker-password=p',
        ],
        'secret/dry created (server dry run)\n',
      ],
      [['create', 'serviceaccount', 'dry'], 'serviceaccount/dry created (server dry run)\n'],
      [['create', 'service', 'clusterip', 'dry', '--tcp=80'], 'service/dry created (server dry run)\n'],
      [['create', 'deployment', 'dry', `--image=${TEST_IMAGE}`], 'deployment.apps/dry created (server dry run)\n'],
      [
        ['create', 'role', 'dry', '--verb=get', '--resource=pods'],
        'role.rbac.authorization.k8s.io/dry created (server dry run)\n',
      ],
      [['run', 'dry', `--image=${TEST_IMAGE}`], 'pod/dry created (server dry run)\n'],
    ];
    for (const [args, printed] of generators) assert.equal(await k.ok([...args, '--dry-run=server']), printed);

    const shown = JSON.parse(
      await k.ok(['create', 'configmap', 'shown', '--from-literal=a=b', '--dry-run=server', '-o', 'json']),
    );
    assert.deepEqual(shown.data, { a: 'b' });
    assert.ok(shown.metadata.uid, 'the server filled in the object it would have stored');

    const kinds = 'namespace,configmap,secret,serviceaccount,service,deployment,role,pod';
    const left = await k.ok(['get', kinds, '--field-selector=metadata.name=dry', '-o', 'name']);
    assert.equal(left, '', 'no dry-run object was stored');
    const configMaps = await k.get(['configmap']);
    assert.deepEqual(
      (configMaps.items as { metadata: { name: string } }[])
        .map((c) => c.metadata.name)
        .filter((n) => n === 'shown' || n === 'dry'),
      [],
    );
  });
});
