import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { configMap, statefulSet, withKubectl, type KubectlSession } from '../support/kubectl.js';
import { createRaw, rawRequest, type RawResponse } from '../support/local-api.js';
import type { StoreEvent } from '../../local/apiserver/store/store.js';

/**
 * Server dry run (`dryRun=All`, what `kubectl --dry-run=server` sends) on every mutating verb:
 * the answer is the real request's, and nothing changes: no resourceVersion moves, no watch
 * event is sent, no object appears or goes.
 */

const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
const STATEFULSETS = '/apis/apps/v1/namespaces/default/statefulsets';

interface Meta {
  name: string;
  resourceVersion: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
}

/**
 * Runs `body`, then asserts the store saw no change while it ran: the same resourceVersion, and
 * no event for a watcher subscribed from the start.
 */
async function changesNothing(k: KubectlSession, body: () => Promise<void>): Promise<void> {
  const before = k.api.store.resourceVersion;
  const seen: StoreEvent[] = [];
  const unsubscribe = k.api.store.subscribe(before, (event) => seen.push(event));
  try {
    await body();
  } finally {
    unsubscribe();
  }
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.resource} ${e.object.metadata?.name}`),
    [],
    'a watch saw these changes',
  );
  assert.equal(k.api.store.resourceVersion, before);
}

/** The object at `path`, which must exist. */
async function served<T = { metadata: Meta; data?: Record<string, string> }>(
  k: KubectlSession,
  path: string,
): Promise<T> {
  const response = await rawRequest(k.api, path);
  assert.equal(response.status, 200, `GET ${path}: ${response.text}`);
  return response.json<T>();
}

/** A raw JSON request. */
function send(k: KubectlSession, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const text = body === undefined ? '' : JSON.stringify(body);
  return rawRequest(k.api, path, {
    method,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
    body: text,
  });
}

test('kubectl create --dry-run=server answers the object it would create and creates nothing', async () => {
  await withKubectl(async (k) => {
    const file = await k.write('c2.yaml', [configMap('c2')]);
    await changesNothing(k, async () => {
      const out = await k.ok(['create', '-f', file, '--dry-run=server', '-o', 'yaml']);
      const answered = parseYaml(out) as { metadata: { name: string; uid?: string }; data: Record<string, string> };
      assert.equal(answered.metadata.name, 'c2');
      assert.deepEqual(answered.data, { a: '1' });
    });
    assert.equal((await rawRequest(k.api, `${CONFIGMAPS}/c2`)).status, 404);
  });
});

test('kubectl replace --dry-run=server answers the updated object and leaves the stored one unchanged', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, CONFIGMAPS, configMap('c1'));
    const before = await served(k, `${CONFIGMAPS}/c1`);
    const file = await k.write('c1.yaml', [configMap('c1', {}, { a: '2' })]);
    await changesNothing(k, async () => {
      const answered = parseYaml(await k.ok(['replace', '-f', file, '--dry-run=server', '-o', 'yaml'])) as {
        data: Record<string, string>;
      };
      assert.deepEqual(answered.data, { a: '2' });
    });
    assert.deepEqual(await served(k, `${CONFIGMAPS}/c1`), before);
  });
});

test('kubectl patch (merge, json, strategic), server-side apply, scale and status patches change nothing with --dry-run=server', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, CONFIGMAPS, configMap('c1'));
    await createRaw(k.api, STATEFULSETS, statefulSet('web', 1));
    const cm = await served(k, `${CONFIGMAPS}/c1`);
    const sts = await served<unknown>(k, `${STATEFULSETS}/web`);
    const applied = await k.write('applied.yaml', [configMap('c1', { tier: 'x' }, { a: '9' })]);
    const dry = ['--dry-run=server', '-o', 'yaml'];
    await changesNothing(k, async () => {
      const answers = [
        await k.ok(['patch', 'cm', 'c1', '--type=merge', '-p', '{"data":{"a":"2"}}', ...dry]),
        await k.ok([
          'patch',
          'cm',
          'c1',
          '--type=json',
          '-p',
          '[{"op":"replace","path":"/data/a","value":"2"}]',
          ...dry,
        ]),
        await k.ok(['patch', 'cm', 'c1', '--type=strategic', '-p', '{"data":{"a":"2"}}', ...dry]),
      ].map((out) => (parseYaml(out) as { data: Record<string, string> }).data);
      assert.deepEqual(answers, [{ a: '2' }, { a: '2' }, { a: '2' }]);
      const ssa = parseYaml(await k.ok(['apply', '--server-side', '--force-conflicts', '-f', applied, ...dry])) as {
        data: Record<string, string>;
      };
      assert.deepEqual(ssa.data, { a: '9' });
      assert.match(
        await k.ok(['scale', 'sts', 'web', '--replicas=5', '--dry-run=server']),
        /scaled \(server dry run\)/,
      );
      const status = ['patch', 'sts', 'web', '--subresource=status', '--type=merge'];
      const patched = parseYaml(await k.ok([...status, '-p', '{"status":{"availableReplicas":7}}', ...dry])) as {
        status: { availableReplicas?: number };
      };
      assert.equal(patched.status.availableReplicas, 7);
    });
    assert.deepEqual(await served(k, `${CONFIGMAPS}/c1`), cm);
    assert.deepEqual(await served<unknown>(k, `${STATEFULSETS}/web`), sts);
  });
});

test('kubectl delete --dry-run=server, by name and with -f, deletes nothing', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, CONFIGMAPS, configMap('c1'));
    await createRaw(k.api, CONFIGMAPS, configMap('c2'));
    const before = [await served(k, `${CONFIGMAPS}/c1`), await served(k, `${CONFIGMAPS}/c2`)];
    const file = await k.write('c2.yaml', [configMap('c2')]);
    await changesNothing(k, async () => {
      assert.equal(await k.ok(['delete', 'cm', 'c1', '--dry-run=server']), 'configmap "c1" deleted (server dry run)\n');
      assert.equal(await k.ok(['delete', '-f', file, '--dry-run=server']), 'configmap "c2" deleted (server dry run)\n');
    });
    assert.deepEqual([await served(k, `${CONFIGMAPS}/c1`), await served(k, `${CONFIGMAPS}/c2`)], before);
  });
});

test('a dry-run delete that would only mark the object answers it with deletionTimestamp and marks nothing', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, CONFIGMAPS, { ...configMap('kept'), metadata: { name: 'kept', finalizers: ['x/y'] } });
    await createRaw(k.api, '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { nodeName: 'local', terminationGracePeriodSeconds: 20, containers: [{ name: 'm', image: 'i' }] },
    });
    await createRaw(k.api, STATEFULSETS, statefulSet('web', 1));
    await changesNothing(k, async () => {
      const finalized = await send(k, 'DELETE', `${CONFIGMAPS}/kept`, { dryRun: ['All'] });
      const pod = await send(k, 'DELETE', '/api/v1/namespaces/default/pods/p?dryRun=All');
      const foreground = await send(k, 'DELETE', `${STATEFULSETS}/web`, {
        dryRun: ['All'],
        propagationPolicy: 'Foreground',
      });
      for (const r of [finalized, pod, foreground]) assert.equal(r.status, 200, r.text);
      const [f, p, s] = [finalized, pod, foreground].map((r) => r.json<{ metadata: Meta }>().metadata);
      assert.ok(f!.deletionTimestamp && p!.deletionTimestamp && s!.deletionTimestamp);
      assert.equal(p!.deletionGracePeriodSeconds, 20);
      assert.deepEqual(s!.finalizers, ['foregroundDeletion']);
    });
    for (const path of [`${CONFIGMAPS}/kept`, '/api/v1/namespaces/default/pods/p', `${STATEFULSETS}/web`]) {
      assert.equal((await served(k, path)).metadata.deletionTimestamp, undefined, path);
    }
  });
});

test('deletecollection with dryRun=All, and kubectl delete --all --dry-run=server, delete nothing', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, CONFIGMAPS, configMap('c1'));
    await createRaw(k.api, CONFIGMAPS, configMap('c2'));
    await changesNothing(k, async () => {
      const response = await send(k, 'DELETE', `${CONFIGMAPS}?dryRun=All`);
      assert.equal(response.status, 200, response.text);
      const names = response.json<{ items: { metadata: Meta }[] }>().items.map((i) => i.metadata.name);
      assert.deepEqual(names, ['c1', 'c2']);
      assert.equal(
        await k.ok(['delete', 'cm', '--all', '--dry-run=server']),
        'configmap "c1" deleted (server dry run)\nconfigmap "c2" deleted (server dry run)\n',
      );
    });
    assert.deepEqual((await k.ok(['get', 'cm', '-o', 'name'])).trim().split('\n'), ['configmap/c1', 'configmap/c2']);
  });
});

test('kubectl delete ns --dry-run=server keeps the namespace and everything in it', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
    await createRaw(k.api, '/api/v1/namespaces/team/configmaps', configMap('c1'));
    const before = await served(k, '/api/v1/namespaces/team/configmaps/c1');
    await changesNothing(k, async () => {
      assert.equal(
        await k.ok(['delete', 'ns', 'team', '--dry-run=server']),
        'namespace "team" deleted (server dry run)\n',
      );
    });
    assert.equal((await served(k, '/api/v1/namespaces/team')).metadata.deletionTimestamp, undefined);
    assert.deepEqual(await served(k, '/api/v1/namespaces/team/configmaps/c1'), before);
  });
});

test('a dryRun value other than All is refused with 422 naming the options, as a cluster refuses it', async () => {
  await withKubectl(async (k) => {
    await createRaw(k.api, CONFIGMAPS, configMap('c1'));
    await changesNothing(k, async () => {
      const cases: [string, string, string, unknown][] = [
        ['POST', `${CONFIGMAPS}?dryRun=Foo`, 'CreateOptions', configMap('c2')],
        ['PUT', `${CONFIGMAPS}/c1?dryRun=Foo`, 'UpdateOptions', configMap('c1')],
        ['DELETE', `${CONFIGMAPS}/c1`, 'DeleteOptions', { dryRun: ['Foo'] }],
        ['DELETE', `${CONFIGMAPS}?dryRun=Foo`, 'DeleteOptions', undefined],
      ];
      for (const [method, path, kind, body] of cases) {
        const response = await send(k, method, path, body);
        assert.equal(response.status, 422, `${method} ${path}: ${response.text}`);
        const status = response.json<{ code: number; reason: string; message: string }>();
        assert.deepEqual(
          [response.status, status.reason, status.message],
          [
            422,
            'Invalid',
            `${kind}.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Foo"}: supported values: "All"`,
          ],
          `${method} ${path}`,
        );
      }
    });
  });
});
