/**
 * `config/` runs unchanged on the local control plane, installed the way the README installs it on
 * a cluster: `kubectl apply -k config/`, the token Secret, the sample. The operator's two replicas
 * elect one leader; the proxy and push Deployments come up behind their Services; `kubectl rollout
 * restart` of each Deployment replaces its pods while the ring stays converged.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CoordinationV1Api,
  CoreV1Api,
  NetworkingV1Api,
  Watch,
  type KubeConfig,
  type V1LabelSelector,
  type V1Pod,
} from '@kubernetes/client-node';
import { IMRING_CLUSTER_OPTIONS, OPERATOR, RUNTIMES, SAMPLE } from '../cli/local-system.js';
import { LocalCluster } from '../local/cluster.js';
import { labelSelectorToString } from '../local/apiserver/store/selectors.js';
import type { IMGateway } from '../operator/api.js';
import { repoRoot } from './support/fixtures.js';
import { runKubectl, type KubectlResult } from './support/kubectl.js';
import { converged, GATEWAYS_PATH } from './support/scenario.js';

const DEPLOYMENTS = [
  { namespace: OPERATOR.namespace, name: OPERATOR.name },
  { namespace: SAMPLE.namespace, name: RUNTIMES.proxy.name },
  { namespace: SAMPLE.namespace, name: RUNTIMES.push.name },
];

describe('kubectl apply -k config/ on a bare imring local', { timeout: 300_000 }, () => {
  let dir: string;
  let cluster: LocalCluster;
  const kubectl = (args: readonly string[]): Promise<KubectlResult> => runKubectl(cluster.kubeconfigPath, dir, args);
  const ok = async (args: readonly string[]): Promise<string> => {
    const result = await kubectl(args);
    assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imring-config-'));
    cluster = new LocalCluster({ ...IMRING_CLUSTER_OPTIONS, namespace: 'default', stateDir: join(dir, 'cluster') });
    await cluster.start();
  });
  after(async () => {
    await cluster?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('brings the operator (one leader of two), the proxy and push up, and the sample converges', async () => {
    await ok(['apply', '-k', `${repoRoot}config`]);
    // The README's step, through a client-side generator (its output applied as YAML).
    const secret = await ok([
      ...['-n', SAMPLE.namespace, 'create', 'secret', 'generic', SAMPLE.secret],
      ...['--from-literal=key=0123456789abcdef0123456789abcdef', '--dry-run=client', '-o', 'yaml'],
    ]);
    await writeFile(join(dir, 'secret.yaml'), secret);
    await ok(['apply', '-f', join(dir, 'secret.yaml')]);
    await ok(['apply', '-f', `${repoRoot}config/samples/imgateway.yaml`]);
    for (const { namespace, name } of DEPLOYMENTS) {
      const status = await ok(['-n', namespace, 'rollout', 'status', `deployment/${name}`, '--timeout=120s']);
      assert.match(status, /successfully rolled out/);
    }
    await converged(cluster, SAMPLE.replicas);
    assert.ok((await leader(cluster.kc)) !== undefined, 'one operator pod holds the Lease');
    const services = await ok(['-n', SAMPLE.namespace, 'get', 'svc', '-o', 'name']);
    assert.match(services, /service\/demo-proxy/);
  });

  // The local plane stores NetworkPolicies but does not enforce them (docs/security.md), so their selectors are
  // checked here against the pods that really run: each policy must protect the pods it names and let in exactly
  // the clients it means to, by ports those pods really declare.
  test('the NetworkPolicies of config/ select the pods they mean, by labels and ports the running pods carry', async () => {
    const kc = cluster.kc;
    const core = kc.makeApiClient(CoreV1Api);
    const networking = kc.makeApiClient(NetworkingV1Api);
    const policies = (await networking.listNamespacedNetworkPolicy({ namespace: SAMPLE.namespace })).items;
    const pods = async (selector: V1LabelSelector, namespace?: string): Promise<V1Pod[]> => {
      const labelSelector = labelSelectorToString(selector);
      const list = namespace
        ? await core.listNamespacedPod({ namespace, labelSelector })
        : await core.listPodForAllNamespaces({ labelSelector });
      return list.items.filter((p) => !p.metadata?.deletionTimestamp);
    };
    const component = (pod: V1Pod): string => pod.metadata?.labels?.['app.kubernetes.io/name'] ?? '?';
    const seen: Record<string, string[]> = {};
    for (const policy of policies) {
      const name = policy.metadata!.name!;
      const protectedPods = await pods(policy.spec!.podSelector ?? {}, SAMPLE.namespace);
      seen[name] = [...new Set(protectedPods.map(component))];
      for (const rule of policy.spec?.ingress ?? []) {
        for (const port of rule.ports ?? []) {
          for (const pod of protectedPods) {
            const declared = pod.spec!.containers.flatMap((c) => c.ports ?? []).map((p) => p.name);
            assert.ok(
              declared.includes(String(port.port)),
              `${name}: ${pod.metadata!.name} declares port ${port.port}`,
            );
          }
        }
        const from = await Promise.all(
          (rule._from ?? []).map(async (peer) =>
            peer.podSelector
              ? (await pods(peer.podSelector, peer.namespaceSelector ? undefined : SAMPLE.namespace)).map(component)
              : ['(any)'],
          ),
        );
        const ports = (rule.ports ?? []).map((p) => p.port).join(',');
        seen[`${name} ${ports} from`] = [...new Set(from.flat())].sort();
      }
    }
    assert.deepEqual(seen, {
      'demo-push': ['imring-push'],
      // Nothing of imring pushes: the label is for the user's pods (the demo traffic runs outside the cluster).
      'demo-push grpc,http from': [],
      'demo-push ops from': ['(any)'],
      'demo-gateways': ['imring-gateway'],
      'demo-gateways ws from': ['imring-proxy'],
      'demo-gateways grpc from': ['imring-push'],
      'demo-gateways http from': ['(any)'],
    });
  });

  test('kubectl rollout restart of each Deployment replaces its pods with the ring converged throughout', async (t) => {
    const kc = cluster.kc;
    const watched = watchConvergence(kc);
    try {
      const leaderBefore = await leader(kc);
      for (const { namespace, name } of DEPLOYMENTS) {
        const before = await podNames(kc, namespace, name);
        await ok(['-n', namespace, 'rollout', 'restart', `deployment/${name}`]);
        await ok(['-n', namespace, 'rollout', 'status', `deployment/${name}`, '--timeout=120s']);
        const after = await podNames(kc, namespace, name);
        assert.deepEqual(
          after.filter((pod) => before.includes(pod)),
          [],
          `${name}: ${before.join(', ')} → ${after.join(', ')}`,
        );
        await converged(cluster, SAMPLE.replicas);
        t.diagnostic(`${name}: ${before.join(', ')} → ${after.join(', ')}`);
      }
      const leaderAfter = await leader(kc);
      assert.ok(leaderAfter !== undefined && leaderAfter !== leaderBefore, `a new leader: ${leaderAfter}`);
    } finally {
      watched.stop();
    }
    assert.deepEqual(watched.lapses, [], 'the ring never left convergence, its version never changed');
  });
});

/** The pods of Deployment `name` (its app label), not terminating, sorted. */
async function podNames(kc: KubeConfig, namespace: string, name: string): Promise<string[]> {
  const { items } = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace });
  return items
    .filter((p) => p.metadata?.name?.startsWith(`${name}-`) && !p.metadata.deletionTimestamp)
    .map((p) => p.metadata!.name!)
    .sort();
}

/** The operator pod holding the leader Lease, if its holder is a running operator pod. */
async function leader(kc: KubeConfig): Promise<string | undefined> {
  const lease = await kc
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: OPERATOR.name, namespace: OPERATOR.namespace });
  const holder = lease.spec?.holderIdentity ?? '';
  const pods = await podNames(kc, OPERATOR.namespace, OPERATOR.name);
  return pods.find((pod) => holder === pod || holder.startsWith(`${pod}_`));
}

/** Watches the sample IMGateway; every status that is not converged on one ring version is a lapse. */
function watchConvergence(kc: KubeConfig): { lapses: string[]; stop: () => void } {
  const lapses: string[] = [];
  let version: number | undefined;
  let request: { abort: () => void } | undefined;
  let stopped = false;
  void new Watch(kc)
    .watch(
      GATEWAYS_PATH,
      {},
      (_type, object: IMGateway) => {
        const status = object.status;
        const convergedNow = status?.conditions?.some((c) => c.type === 'RingConverged' && c.status === 'True');
        const now = status?.ring?.version;
        version ??= now;
        if (!convergedNow || now !== version) lapses.push(`v${now}: ${JSON.stringify(status?.conditions)}`);
      },
      (error) => {
        if (!stopped && error) lapses.push(`the watch ended: ${String(error)}`);
      },
    )
    .then((r) => {
      request = r;
      if (stopped) r.abort();
    });
  return {
    lapses,
    stop: () => {
      stopped = true;
      request?.abort();
    },
  };
}
