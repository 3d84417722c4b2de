import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import {
  configMap,
  eventAbout,
  liveKubectlPids,
  statefulSet,
  widget,
  withKubectl,
  type KubectlSession,
  type KubectlWatch,
} from '../support/kubectl.js';
import { isAlive } from '../support/wait.js';
import { createRaw, rawRequest } from '../support/local-api.js';
import { widgetCrd } from '../support/sample-crd.js';

const WIDGETS = '/apis/example.com/v1/namespaces/default/widgets';
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const IMAGE = 'example/w:1';

interface Served {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion: string;
    annotations?: Record<string, string>;
    managedFields?: { manager: string; fieldsV1?: unknown }[];
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

/** Applies `widgetCrd()` with `kubectl apply -f`; resolves to kubectl's stdout. */
async function applyWidgetCrd(k: KubectlSession): Promise<string> {
  return k.ok(['apply', '-f', await k.write('crd.yaml', [widgetCrd()])]);
}

/** Writes `objects` to `name` and `kubectl apply -f`s it with `flags`; resolves to stdout. */
async function apply(
  k: KubectlSession,
  name: string,
  objects: readonly unknown[],
  flags: readonly string[] = [],
): Promise<string> {
  return k.ok(['apply', ...flags, '-f', await k.write(name, objects)]);
}

/** The object at `path` as the server holds it (read without kubectl). */
async function served(k: KubectlSession, path: string): Promise<Served> {
  const response = await rawRequest(k.api, path);
  assert.equal(response.status, 200, `GET ${path}: ${response.text}`);
  return response.json<Served>();
}

/** Requests the server got with this verb for this path. */
function requests(k: KubectlSession, verb: string, path: string): number {
  return k.api.requestLog.filter((r) => r.verb === verb && r.path === path).length;
}

/** The table rows of kubectl's output, split into cells. */
function rows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

/**
 * Whether kubectl ended by the SIGTERM it was sent: killed by it, or, once `get -w` has installed
 * its interrupt handler (k8s.io/kubectl/pkg/util/interrupt), exiting 1 after cleaning up.
 */
function endedBySigterm(exit: { code: number | null; signal: NodeJS.Signals | null }): boolean {
  return exit.signal === 'SIGTERM' || (exit.code === 1 && exit.signal === null);
}

test('kubectl apply -f creates a CRD and a widget, re-applies as unchanged, and patches a changed field (configured)', async () => {
  await withKubectl(async (k) => {
    assert.equal(
      await applyWidgetCrd(k),
      'customresourcedefinition.apiextensions.k8s.io/widgets.example.com created\n',
    );
    assert.equal(
      await apply(k, 'w1.yaml', [widget('w1', { replicas: 2, image: IMAGE })]),
      'widget.example.com/w1 created\n',
    );
    assert.equal(
      await apply(k, 'w1.yaml', [widget('w1', { replicas: 2, image: IMAGE })]),
      'widget.example.com/w1 unchanged\n',
    );
    assert.equal(requests(k, 'create', WIDGETS), 1);
    assert.equal(requests(k, 'patch', `${WIDGETS}/w1`), 0, 'an unchanged apply sends no patch');
    assert.equal(
      await apply(k, 'w1.yaml', [widget('w1', { replicas: 3, image: IMAGE })]),
      'widget.example.com/w1 configured\n',
    );
    assert.equal(requests(k, 'patch', `${WIDGETS}/w1`), 1);
    const w1 = await served(k, `${WIDGETS}/w1`);
    assert.deepEqual(w1.spec, { replicas: 3, image: IMAGE, mode: 'safe' });
    const lastApplied = JSON.parse(
      w1.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? '{}',
    ) as Served;
    assert.deepEqual(lastApplied.spec, { replicas: 3, image: IMAGE });
  });
});

const serverSideCases = [
  {
    what: 'a widget',
    path: `${WIDGETS}/w1`,
    printed: 'widget.example.com/w1',
    field: '.spec.replicas',
    owned: 'f:replicas',
    before: widget('w1', { replicas: 2, image: IMAGE }),
    after: widget('w1', { replicas: 4, image: IMAGE }),
    value: (o: Served) => o.spec?.replicas,
  },
  {
    what: 'a configmap',
    path: `${CONFIGMAPS}/c1`,
    printed: 'configmap/c1',
    field: '.data.a',
    owned: 'f:a',
    before: configMap('c1', {}, { a: '1' }),
    after: configMap('c1', {}, { a: '2' }),
    value: (o: Served) => o.data?.a,
  },
];

for (const c of serverSideCases) {
  test(`kubectl apply --server-side of ${c.what} is idempotent, a second manager conflicts, and --force-conflicts takes the field`, async () => {
    await withKubectl(async (k) => {
      await applyWidgetCrd(k);
      assert.equal(await apply(k, 'first.yaml', [c.before], ['--server-side']), `${c.printed} serverside-applied\n`);
      const first = await served(k, c.path);
      assert.equal(await apply(k, 'first.yaml', [c.before], ['--server-side']), `${c.printed} serverside-applied\n`);
      assert.equal((await served(k, c.path)).metadata.resourceVersion, first.metadata.resourceVersion);

      const other = await k.write('other.yaml', [c.after]);
      const refused = await k.run(['apply', '--server-side', '--field-manager=other', '-f', other]);
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stderr,
        new RegExp(`Apply failed with 1 conflict: conflict with "kubectl": ${c.field.replace(/\./g, '\\.')}\n`),
      );
      assert.match(refused.stderr, /--force-conflicts/);
      assert.equal(c.value(await served(k, c.path)), c.value(first));

      await k.ok(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', other]);
      const taken = await served(k, c.path);
      assert.notEqual(c.value(taken), c.value(first));
      const owners = (taken.metadata.managedFields ?? [])
        .filter((m) => JSON.stringify(m.fieldsV1).includes(`"${c.owned}"`))
        .map((m) => m.manager);
      assert.deepEqual(owners, ['other']);
    });
  });
}

test('kubectl get widgets prints the printer columns; -o yaml prints the object', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    await apply(k, 'w1.yaml', [widget('w1', { replicas: 2, image: IMAGE })]);
    const phase = await rawRequest(k.api, `${WIDGETS}/w1/status`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ status: { phase: 'Running' } }),
    });
    assert.equal(phase.status, 200);
    const [header, row, ...rest] = rows(await k.ok(['get', 'widgets']));
    assert.deepEqual(header, ['NAME', 'DESIRED', 'PHASE', 'AGE']);
    assert.deepEqual(row?.slice(0, 3), ['w1', '2', 'Running']);
    assert.match(row?.[3] ?? '', /^\d+s$/);
    assert.deepEqual(rest, []);
    const yaml = parseYaml(await k.ok(['get', 'wd', 'w1', '-o', 'yaml'])) as Served & { status: unknown };
    assert.deepEqual(
      [yaml.apiVersion, yaml.kind, yaml.metadata.name, yaml.metadata.namespace],
      ['example.com/v1', 'Widget', 'w1', 'default'],
    );
    assert.deepEqual(yaml.spec, { replicas: 2, image: IMAGE, mode: 'safe' });
    assert.deepEqual(yaml.status, { phase: 'Running' });
    assert.equal(yaml.metadata.uid, (await served(k, `${WIDGETS}/w1`)).metadata.uid);
  });
});

test('kubectl get cm -o json lists the configmaps, and kubectl get ns lists the initial namespaces', async () => {
  await withKubectl(async (k) => {
    await apply(k, 'cms.yaml', [configMap('c1', {}, { a: '1' }), configMap('c2', {}, { b: '2' })]);
    const list = JSON.parse(await k.ok(['get', 'cm', '-o', 'json'])) as { kind: string; items: Served[] };
    assert.equal(list.kind, 'List');
    assert.deepEqual(
      list.items.map((i) => [i.kind, i.metadata.name, i.data]),
      [
        ['ConfigMap', 'c1', { a: '1' }],
        ['ConfigMap', 'c2', { b: '2' }],
      ],
    );
    const [header, ...namespaces] = rows(await k.ok(['get', 'ns']));
    assert.deepEqual(header, ['NAME', 'STATUS', 'AGE']);
    assert.deepEqual(
      namespaces.map((r) => r.slice(0, 2)),
      [
        ['default', 'Active'],
        ['kube-node-lease', 'Active'],
        ['kube-public', 'Active'],
        ['kube-system', 'Active'],
      ],
    );
  });
});

test('kubectl get wd -w prints a change made through the API after it started, and stops on SIGTERM', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    await apply(k, 'w1.yaml', [widget('w1', { replicas: 2, image: IMAGE })]);
    const watch = k.watch(['get', 'wd', '-w']);
    await watch.line(/^NAME\s+DESIRED\s+PHASE\s+AGE$/);
    await watch.line(/^w1\s+2\s/);
    const patched = await rawRequest(k.api, `${WIDGETS}/w1`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 9 } }),
    });
    assert.equal(patched.status, 200);
    await watch.line(/^w1\s+9\s/);
    assert.ok(endedBySigterm(await watch.stop()));
    assert.equal(isAlive(watch.child.pid!), false);
  });
});

test('no kubectl outlives its test: a watch left running by a failing test is stopped and reaped', async () => {
  let watch: KubectlWatch | undefined;
  await assert.rejects(
    withKubectl(async (k) => {
      watch = k.watch(['get', 'ns', '-w']);
      await watch.line(/^default\s+Active/);
      assert.ok(isAlive(watch.child.pid!));
      throw new Error('the test body failed');
    }),
    /the test body failed/,
  );
  assert.ok(watch && endedBySigterm({ code: watch.child.exitCode, signal: watch.child.signalCode }));
  assert.equal(isAlive(watch.child.pid!), false);
  assert.deepEqual(liveKubectlPids(), [], 'every kubectl started in this file so far has exited');
});

test('kubectl scale sets spec.replicas of a widget and of a statefulset through the scale subresource', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    await apply(k, 'objects.yaml', [widget('w1', { replicas: 2, image: IMAGE }), statefulSet('web', 1)]);
    assert.equal(await k.ok(['scale', 'wd/w1', '--replicas=5']), 'widget.example.com/w1 scaled\n');
    assert.equal(await k.ok(['scale', 'sts/web', '--replicas=3']), 'statefulset.apps/web scaled\n');
    assert.equal((await served(k, `${WIDGETS}/w1`)).spec?.replicas, 5);
    assert.equal((await served(k, '/apis/apps/v1/namespaces/default/statefulsets/web')).spec?.replicas, 3);
    assert.equal(
      requests(k, 'patch', `${WIDGETS}/w1`) + requests(k, 'update', `${WIDGETS}/w1`),
      0,
      'scale goes through /scale',
    );
  });
});

test('kubectl describe wd lists the events about that widget only', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    await apply(k, 'widgets.yaml', [widget('w1', { image: IMAGE }), widget('w2', { image: IMAGE })]);
    const [w1, w2] = [await served(k, `${WIDGETS}/w1`), await served(k, `${WIDGETS}/w2`)];
    await createRaw(
      k.api,
      '/api/v1/namespaces/default/events',
      eventAbout(w1, { name: 'w1.1', reason: 'Scaled', message: 'scaled to 5 replicas' }),
    );
    await createRaw(
      k.api,
      '/api/v1/namespaces/default/events',
      eventAbout(w2, { name: 'w2.1', reason: 'Elsewhere', message: 'about another widget' }),
    );
    const described = await k.ok(['describe', 'wd', 'w1']);
    assert.match(described, /^Name:\s+w1$/m);
    const events = described.slice(described.indexOf('\nEvents:'));
    assert.match(events, /^\s+Type\s+Reason\s+Age\s+From\s+Message$/m);
    assert.match(events, /^\s+Normal\s+Scaled\s+\S+\s+imring-test\s+scaled to 5 replicas$/m);
    assert.doesNotMatch(events, /Elsewhere/);
  });
});

test('kubectl delete removes a widget (then get is NotFound), and delete -f of the CRD removes the kind', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    await apply(k, 'widgets.yaml', [widget('w1', { image: IMAGE }), widget('w2', { image: IMAGE })]);
    assert.equal(await k.ok(['delete', 'wd', 'w1']), 'widget.example.com "w1" deleted\n');
    const gone = await k.run(['get', 'wd', 'w1']);
    assert.notEqual(gone.code, 0);
    assert.equal(gone.stderr, 'Error from server (NotFound): widgets.example.com "w1" not found\n');
    assert.equal(
      await k.ok(['delete', '-f', `${k.dir}/crd.yaml`]),
      'customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted\n',
    );
    assert.doesNotMatch(await k.ok(['api-resources']), /widgets/);
    assert.notEqual((await k.run(['get', 'wd'])).code, 0);
    assert.equal((await rawRequest(k.api, `${WIDGETS}/w2`)).status, 404);
  });
});

test('kubectl apply of an invalid widget fails, naming each invalid field', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    const result = await k.run([
      'apply',
      '-f',
      await k.write('bad.yaml', [widget('bad', { replicas: 2000, mode: 'slow' })]),
    ]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, '');
    const [first, ...causes] = result.stderr.trimEnd().split('\n');
    assert.equal(first, 'The Widget "bad" is invalid: ');
    assert.deepEqual(causes.sort(), [
      '* spec.image: Required value',
      '* spec.mode: Unsupported value: "slow": supported values: "fast", "safe"',
      '* spec.replicas: Invalid value: 2000: spec.replicas in body should be less than or equal to 1000',
    ]);
    assert.equal((await rawRequest(k.api, `${WIDGETS}/bad`)).status, 404);
  });
});

test('kubectl get cm -l selects by equality, set and absence', async () => {
  await withKubectl(async (k) => {
    await apply(k, 'cms.yaml', [
      configMap('a', { app: 'im', tier: 'gw' }),
      configMap('b', { app: 'im' }),
      configMap('c', { app: 'other', tier: 'db' }),
    ]);
    const names = async (selector: string): Promise<string> => k.ok(['get', 'cm', '-l', selector, '-o', 'name']);
    assert.equal(await names('app=im'), 'configmap/a\nconfigmap/b\n');
    assert.equal(await names('tier in (gw)'), 'configmap/a\n');
    assert.equal(await names('!tier'), 'configmap/b\n');
    assert.equal(await names('app!=im,tier'), 'configmap/c\n');
  });
});

test('kubectl apply of a widget with an unknown spec field fails with a strict decoding error naming it', async () => {
  await withKubectl(async (k) => {
    await applyWidgetCrd(k);
    const path = await k.write('unknown.yaml', [widget('w1', { image: IMAGE, colour: 'red' })]);
    const result = await k.run(['apply', '-f', path]);
    assert.notEqual(result.code, 0);
    assert.equal(
      result.stderr,
      `Error from server (BadRequest): error when creating "${path}": Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.colour"\n`,
    );
    const post = k.api.requestLog.find((r) => r.verb === 'create' && r.path === WIDGETS);
    assert.match(post?.query ?? '', /fieldValidation=Strict/);
    assert.equal((await rawRequest(k.api, `${WIDGETS}/w1`)).status, 404);
  });
});

test('kubectl api-resources lists widgets with short name wd once the CRD is applied; get --raw /version works', async () => {
  await withKubectl(async (k) => {
    assert.doesNotMatch(await k.ok(['api-resources']), /widgets/);
    await applyWidgetCrd(k);
    assert.match(await k.ok(['api-resources']), /^widgets\s+wd\s+example\.com\/v1\s+true\s+Widget$/m);
    const version = JSON.parse(await k.ok(['get', '--raw', '/version'])) as {
      major: string;
      minor: string;
      gitVersion: string;
    };
    assert.deepEqual([version.major, version.minor], ['1', '32']);
    assert.match(await k.ok(['version', '-o', 'json']), /"serverVersion"/);
  });
});
