/**
 * The clusters `imring status` and `imring route --gateway` are tested against
 * (test/cli-status.test.ts, test/cli-route-gateway.test.ts): two local API servers, one of them
 * with the IMGateway CRD, holding ring ConfigMaps, runtime Leases and IMGateways.
 */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, CoreV1Api, V1MicroTime } from '@kubernetes/client-node';
import {
  Annotations,
  buildRingDocument,
  Labels,
  RING_DATA_KEY,
  ringConfigMapName,
  runtimeLeaseName,
  serializeRingDocument,
  type RingDocument,
  type RuntimeComponent,
} from '../../ring/index.js';
import { runCli } from './cli.js';
import { newMembers } from './fixtures.js';
import { createRaw, startLocalApi, type LocalApi } from './local-api.js';

/** A local API server and the kubeconfig file that reaches it. */
export interface StatusServer {
  api: LocalApi;
  kubeconfig: string;
}

/** The two servers, seeded, and the ring the transition tests read. */
export interface StatusClusters {
  /** The directory of the kubeconfig files; `close()` removes it. */
  readonly dir: string;
  /**
   * Serves the IMGateway CRD. Namespace chat: `im` in transition ({@link StatusClusters.transition}),
   * `other` (version 1, Committed), `pending` (no ConfigMap), `corrupt` (a ConfigMap only, not JSON);
   * solo: `one` alone; empty: nothing.
   */
  readonly withCrd: StatusServer;
  /** No CRD. Namespace default: ring ConfigMaps `bare` and `bare2`, and one that is not a ring; empty: nothing. */
  readonly withoutCrd: StatusServer;
  /** The ring document of chat/im: version 2, Prepared, adding im-2 to im-0 and im-1. */
  readonly transition: RingDocument;
  /** Stops both servers and removes {@link StatusClusters.dir}. */
  close(): Promise<void>;
}

/** The members of the seeded rings (im-0, im-1, im-2), a prefix of them in the smaller ones. */
export const members = newMembers(3);

/**
 * Starts both servers, seeded, before the calling file's tests and hands them to `onStarted`;
 * closes them after the tests.
 */
export function withStatusClusters(onStarted: (clusters: StatusClusters) => void): void {
  let clusters: StatusClusters | undefined;
  before(async () => {
    clusters = await startStatusClusters();
    onStarted(clusters);
  });
  after(async () => {
    await clusters?.close();
  });
}

/** Starts both servers and seeds them; the caller must `close()` them. */
async function startStatusClusters(): Promise<StatusClusters> {
  const dir = await mkdtemp(join(tmpdir(), 'imring-status-'));
  const withCrd = await startServer(dir, 'with-crd');
  const withoutCrd = await startServer(dir, 'without-crd');
  const close = async (): Promise<void> => {
    await withCrd.api.close();
    await withoutCrd.api.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const transition = await seed(withCrd, withoutCrd);
    return { dir, withCrd, withoutCrd, transition, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** `imring <argv> --kubeconfig <server's>`. */
export function imring(server: StatusServer, argv: string[], stdin = ''): ReturnType<typeof runCli> {
  return runCli([...argv, '--kubeconfig', server.kubeconfig], stdin);
}

/** Seeds both servers as {@link StatusClusters} describes; returns chat/im's ring. */
async function seed(withCrd: StatusServer, withoutCrd: StatusServer): Promise<RingDocument> {
  await createRaw(withCrd.api, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', imGatewayCrd);
  for (const [server, namespace] of [
    [withCrd, 'chat'],
    [withCrd, 'solo'],
    [withCrd, 'empty'],
    [withoutCrd, 'empty'],
  ] as const) {
    await server.api.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  }
  const transition = await seedTransition(withCrd);
  await putGateway(withCrd, 'chat', 'other', { phase: 'Stable' });
  await putConfigMap(withCrd, 'chat', 'other', {
    [RING_DATA_KEY]: serializeRingDocument(
      buildRingDocument({
        gateway: { namespace: 'chat', name: 'other', uid: 'u' },
        version: 1,
        state: 'Committed',
        members: members.slice(0, 1),
      }),
    ),
  });
  await putGateway(withCrd, 'chat', 'pending', {});
  await putConfigMap(withCrd, 'chat', 'corrupt', { [RING_DATA_KEY]: '{"format":' });
  await putGateway(withCrd, 'solo', 'one', { phase: 'Stable' });
  await putConfigMap(withCrd, 'solo', 'one', { [RING_DATA_KEY]: serializeRingDocument(ringV2('one', 'solo')) });
  await putConfigMap(withoutCrd, 'default', 'bare', {
    [RING_DATA_KEY]: serializeRingDocument(ringV2('bare', 'default')),
  });
  await putConfigMap(withoutCrd, 'default', 'bare2', {
    [RING_DATA_KEY]: serializeRingDocument(ringV2('bare2', 'default')),
  });
  await putConfigMap(withoutCrd, 'default', 'not-a-ring', { other: 'x' });
  return transition;
}

/** The IMGateway API as far as status reads it; the real CRD (crds/) validates far more. */
export const imGatewayCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'imgateways.imring.dev' },
  spec: {
    group: 'imring.dev',
    scope: 'Namespaced',
    names: {
      plural: 'imgateways',
      singular: 'imgateway',
      kind: 'IMGateway',
      listKind: 'IMGatewayList',
      shortNames: ['imgw'],
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

async function startServer(dir: string, name: string): Promise<StatusServer> {
  const api = await startLocalApi();
  const kubeconfig = join(dir, `${name}.kubeconfig`);
  await api.server.writeKubeconfig(kubeconfig);
  return { api, kubeconfig };
}

/** Ring version 2, Prepared, adding im-2 to im-0 and im-1: a transition in progress. */
function ringV2(gateway: string, namespace: string): RingDocument {
  return buildRingDocument({
    gateway: { namespace, name: gateway, uid: `uid-${gateway}` },
    version: 2,
    state: 'Prepared',
    members,
    previous: { version: 1, members: members.slice(0, 2) },
  });
}

async function putConfigMap(
  server: StatusServer,
  namespace: string,
  gateway: string,
  data: Record<string, string>,
): Promise<void> {
  await server.api.kc
    .makeApiClient(CoreV1Api)
    .createNamespacedConfigMap({ namespace, body: { metadata: { name: ringConfigMapName(gateway) }, data } });
}

interface LeaseInit {
  component: RuntimeComponent;
  pod: string;
  version?: number;
  annotations?: Record<string, string>;
  /** Seconds since the last renewal. Default 0. */
  age?: number;
}

async function putLease(server: StatusServer, namespace: string, gateway: string, init: LeaseInit): Promise<void> {
  const annotations = {
    ...(init.version !== undefined
      ? { [Annotations.ringVersion]: String(init.version), [Annotations.ringState]: 'Prepared' }
      : {}),
    ...init.annotations,
  };
  await server.api.kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
    namespace,
    body: {
      metadata: {
        name: runtimeLeaseName(gateway, init.component, init.pod),
        labels: { [Labels.gateway]: gateway, [Labels.component]: init.component },
        annotations,
      },
      spec: {
        holderIdentity: init.pod,
        leaseDurationSeconds: 15,
        renewTime: new V1MicroTime(Date.now() - (init.age ?? 0) * 1000),
      },
    },
  });
}

async function putGateway(
  server: StatusServer,
  namespace: string,
  name: string,
  status: Record<string, unknown>,
): Promise<void> {
  await createRaw(server.api, `/apis/imring.dev/v1alpha1/namespaces/${namespace}/imgateways`, {
    apiVersion: 'imring.dev/v1alpha1',
    kind: 'IMGateway',
    metadata: { name },
    spec: { replicas: 3, auth: { secretName: 'im-auth' } },
    status,
  });
}

/** Gateway `im` in `chat`: an IMGateway, ring v2 Prepared, five live Leases and a dead one. */
async function seedTransition(server: StatusServer): Promise<RingDocument> {
  const document = ringV2('im', 'chat');
  await putGateway(server, 'chat', 'im', {
    phase: 'Rebalancing',
    readyReplicas: 3,
    conditions: [
      {
        type: 'RingConverged',
        status: 'False',
        reason: 'AwaitingAcks',
        message: 'waiting for 2 runtimes',
        lastTransitionTime: '2026-11-28T00:00:00Z',
      },
    ],
  });
  await putConfigMap(server, 'chat', 'im', { [RING_DATA_KEY]: serializeRingDocument(document) });
  const stats = (connections: number, misplaced: number) => ({
    [Annotations.connections]: String(connections),
    [Annotations.misplaced]: String(misplaced),
  });
  await putLease(server, 'chat', 'im', { component: 'gateway', pod: 'im-0', version: 2, annotations: stats(5, 1) });
  await putLease(server, 'chat', 'im', { component: 'gateway', pod: 'im-1', version: 2, annotations: stats(4, 2) });
  await putLease(server, 'chat', 'im', { component: 'gateway', pod: 'im-2', version: 1, annotations: stats(0, 0) });
  await putLease(server, 'chat', 'im', { component: 'proxy', pod: 'proxy-a', version: 2 });
  await putLease(server, 'chat', 'im', {
    component: 'push',
    pod: 'push-a',
    version: 1,
    annotations: { [Annotations.ringError]: 'IMRING_RING_CHECKSUM_MISMATCH: checksum: is "sha256:00"' },
  });
  // Gone a minute ago: neither a laggard nor counted.
  await putLease(server, 'chat', 'im', {
    component: 'push',
    pod: 'push-old',
    version: 1,
    age: 60,
    annotations: { [Annotations.ringError]: 'IMRING_RING_INVALID_JSON: stale' },
  });
  return document;
}
