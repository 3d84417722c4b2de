import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { SignJWT } from 'jose';
import { applyImringRbac, RUNTIME_SERVICE_ACCOUNT } from './imring-rbac.js';
import { IMRING_CLUSTER_OPTIONS } from '../../cli/local-system.js';
import { LocalCluster } from '../../local/cluster.js';
import {
  buildRingDocument,
  DEFAULT_POLICY,
  ringConfigMapName,
  serializeRingDocument,
  type RingDocument,
  type RingMember,
  type RingPolicy,
  type RingState,
} from '../../ring/index.js';
import { createResolver } from '../../runtime/resolver.js';
import { RingWatcher } from '../../runtime/ring-watcher.js';
import { startProxy, type Proxy } from '../../runtime/proxy/proxy.js';
import { putConfigMap } from './local-api.js';
import { startPush, type Push } from '../../runtime/push/push.js';
import { describePod } from './pod-state.js';
import { watchUntil } from './wait.js';

/** The gateway name, namespace and token key of the system under test. */
export const GATEWAY = { namespace: 'default', name: 'im', uid: 'e2e-im' } as const;
export const TOKEN_SECRET = 'e2e-token-secret-0123456789abcdef';

/** Member `im-<i>` at its canonical address, as the operator publishes it. */
export function member(i: number): RingMember {
  return {
    name: `im-${i}`,
    host: `im-${i}.im-headless.${GATEWAY.namespace}.svc.cluster.local`,
    ports: { ws: 10001, grpc: 10002 },
  };
}

/** An HS256 client token for `userID`, valid for 10 minutes. */
export function tokenFor(userID: string, secret = TOKEN_SECRET): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userID)
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
}

/**
 * A local cluster running real gateway processes (`imring gateway` in a StatefulSet `im`),
 * with a proxy and a push in this process watching the same ring ConfigMap: the system of
 * DESIGN.md section 6 without the operator (the test writes the ring).
 */
export class ImSystem {
  readonly cluster: LocalCluster;
  #stateDir: string;
  #watchers: RingWatcher[] = [];
  proxy!: Proxy;
  push!: Push;
  #resolver = createResolver();

  private constructor(stateDir: string) {
    this.#stateDir = stateDir;
    this.cluster = new LocalCluster({ ...IMRING_CLUSTER_OPTIONS, namespace: GATEWAY.namespace, stateDir });
  }

  /** Starts the cluster, writes ring v1 of `members` gateways, runs them, and starts proxy and push. */
  static async start(members: number): Promise<ImSystem> {
    const system = new ImSystem(await mkdtemp(join(tmpdir(), 'imring-e2e-')));
    try {
      await system.#start(members);
    } catch (error) {
      await system.close();
      throw error;
    }
    return system;
  }

  async #start(members: number): Promise<void> {
    await this.cluster.start();
    const core = this.cluster.kc.makeApiClient(CoreV1Api);
    await applyImringRbac(this.cluster.kc, { namespace: GATEWAY.namespace, gateways: [GATEWAY.name] });
    await core.createNamespacedSecret({
      namespace: GATEWAY.namespace,
      body: { metadata: { name: 'im-token' }, stringData: { key: TOKEN_SECRET } },
    });
    await core.createNamespacedService({
      namespace: GATEWAY.namespace,
      body: {
        metadata: { name: 'im-headless' },
        spec: {
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          selector: { app: 'im' },
          ports: [{ name: 'ws', port: 10001 }],
        },
      },
    });
    await this.writeRing({ version: 1, state: 'Committed', members });
    await this.cluster.kc
      .makeApiClient(AppsV1Api)
      .createNamespacedStatefulSet({ namespace: GATEWAY.namespace, body: gatewayStatefulSet(members) });
    await this.readyGateways(members);
    this.#resolver.close();
    this.#resolver = createResolver({ hostsFile: this.cluster.hostsFile });
    const proxyRing = await this.#watcher();
    const pushRing = await this.#watcher();
    this.proxy = await startProxy({ host: '127.0.0.1', port: 0, ringSource: proxyRing, resolver: this.#resolver });
    this.push = await startPush({
      host: '127.0.0.1',
      ports: { grpc: 0, http: 0 },
      ringSource: pushRing,
      resolver: this.#resolver,
    });
  }

  /** The in-process ring watchers (proxy's, then push's). */
  get watchers(): readonly RingWatcher[] {
    return this.#watchers;
  }

  /** ws URL of the proxy. */
  get proxyUrl(): string {
    return `ws://127.0.0.1:${this.proxy.port}/ws`;
  }

  async #watcher(): Promise<RingWatcher> {
    const watcher = new RingWatcher({ kc: this.cluster.kc, namespace: GATEWAY.namespace, gateway: GATEWAY.name });
    this.#watchers.push(watcher);
    await watcher.start();
    return watcher;
  }

  /**
   * Writes ring `version` of members im-0..members-1 (previous: version - 1 of `previousMembers`),
   * with the default policy changed by `policy`.
   */
  async writeRing(init: {
    version: number;
    state: RingState;
    members: number;
    previousMembers?: number;
    policy?: Partial<RingPolicy>;
  }): Promise<RingDocument> {
    const document = buildRingDocument({
      gateway: GATEWAY,
      version: init.version,
      state: init.state,
      members: Array.from({ length: init.members }, (_, i) => member(i)),
      previous:
        init.version === 1
          ? null
          : {
              version: init.version - 1,
              members: Array.from({ length: init.previousMembers ?? init.members }, (_, i) => member(i)),
            },
      policy: { ...DEFAULT_POLICY, ...init.policy },
    });
    await this.writeRingText(serializeRingDocument(document));
    return document;
  }

  /** Writes raw text as the ring document (bad documents included). */
  async writeRingText(text: string): Promise<void> {
    const core = this.cluster.kc.makeApiClient(CoreV1Api);
    const name = ringConfigMapName(GATEWAY.name);
    await putConfigMap(core, GATEWAY.namespace, { metadata: { name }, data: { 'ring.json': text } });
  }

  /** Scales the gateway StatefulSet and waits until exactly `count` gateways are Ready. */
  async scaleGateways(count: number): Promise<V1Pod[]> {
    const apps = this.cluster.kc.makeApiClient(AppsV1Api);
    const scale = await apps.readNamespacedStatefulSetScale({ name: 'im', namespace: GATEWAY.namespace });
    await apps.replaceNamespacedStatefulSetScale({
      name: 'im',
      namespace: GATEWAY.namespace,
      body: { ...scale, spec: { replicas: count } },
    });
    return this.readyGateways(count);
  }

  readyGateways(count: number): Promise<V1Pod[]> {
    const core = this.cluster.kc.makeApiClient(CoreV1Api);
    return watchUntil(
      this.cluster.kc,
      `/api/v1/namespaces/${GATEWAY.namespace}/pods`,
      async (observe) => {
        const pods = (await core.listNamespacedPod({ namespace: GATEWAY.namespace, labelSelector: 'app=im' })).items;
        observe(pods.map(describePod).join(' | ') || 'no gateway pods');
        const ready = pods.filter(
          (p) =>
            !p.metadata?.deletionTimestamp &&
            p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === count && pods.length === count ? ready : undefined;
      },
      90_000,
    );
  }

  /** POST /v1/push on the push service. */
  async pushHttp(
    messages: { msgID: string; toUserIDs: string[]; payload: string }[],
  ): Promise<{ status: number; body: { results: PushResultJson[] } }> {
    const response = await fetch(`http://127.0.0.1:${this.push.ports.http}/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    return { status: response.status, body: (await response.json()) as { results: PushResultJson[] } };
  }

  /** Stops proxy, push, watchers and the cluster (every gateway process). Idempotent. */
  async close(): Promise<void> {
    await this.proxy?.close();
    await this.push?.close();
    for (const watcher of this.#watchers) await watcher.close();
    this.#resolver.close();
    await this.cluster.close();
    await rm(this.#stateDir, { recursive: true, force: true });
  }
}

export interface PushResultJson {
  msgID: string;
  userID: string;
  status: 'realtime' | 'offline';
  via?: string;
  reason?: string;
  connections?: number;
}

function gatewayStatefulSet(replicas: number): V1StatefulSet {
  const field = (fieldPath: string) => ({ valueFrom: { fieldRef: { fieldPath } } });
  return {
    metadata: { name: 'im', labels: { app: 'im' } },
    spec: {
      replicas,
      serviceName: 'im-headless',
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'im' } },
      template: {
        metadata: { labels: { app: 'im' } },
        spec: {
          serviceAccountName: RUNTIME_SERVICE_ACCOUNT,
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'gateway',
              image: 'imring:dev',
              args: ['gateway'],
              env: [
                { name: 'IMRING_GATEWAY', value: GATEWAY.name },
                { name: 'POD_NAME', ...field('metadata.name') },
                { name: 'POD_NAMESPACE', ...field('metadata.namespace') },
                { name: 'POD_IP', ...field('status.podIP') },
                { name: 'IMRING_TOKEN_SECRET', valueFrom: { secretKeyRef: { name: 'im-token', key: 'key' } } },
                { name: 'IMRING_TERMINATION_GRACE', value: '10s' },
                { name: 'LOG_LEVEL', value: 'warn' },
              ],
              ports: [
                { name: 'ws', containerPort: 10001 },
                { name: 'grpc', containerPort: 10002 },
                { name: 'http', containerPort: 10003 },
              ],
              readinessProbe: { httpGet: { path: '/readyz', port: 10003 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}
