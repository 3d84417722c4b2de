/**
 * Pure builders of the objects an IMGateway owns (DESIGN.md section 4): the gateway
 * StatefulSet, its headless Service, the ring ConfigMap and the PodDisruptionBudget. Each
 * returns only the fields the operator manages; `plan.ts` compares them with what the API
 * server holds, so server-set defaults never cause a write.
 */
import type {
  V1ConfigMap,
  V1EnvVar,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1Service,
  V1StatefulSet,
  V1StatefulSetSpec,
} from '@kubernetes/client-node';
import { Labels, PodEnv, RING_DATA_KEY, serializeRingDocument, type RingDocument } from '../ring/index.js';
import { IMGATEWAY } from './api.js';
import { specHash } from './owned-fields.js';
import {
  APPLIED_SPEC_ANNOTATION,
  headlessServiceName,
  OperatorLabels,
  ringName,
  selectorLabels,
  statefulSetName,
  TRANSITION_TIME_ANNOTATION,
  type GatewayKey,
} from './names.js';
import type { RolloutMode } from './rollout.js';
import type { ResolvedSpec } from './spec.js';

/** The IMGateway as an owner: its key and uid. */
export interface Owner extends GatewayKey {
  readonly uid: string;
}

/**
 * The gateways' ServiceAccount unless `podTemplate.serviceAccountName` says otherwise (config/ creates it with its
 * Role).
 */
export const DEFAULT_GATEWAY_SERVICE_ACCOUNT = 'imring-runtime';

/** The gateway container's name in the StatefulSet's pod template. */
export const GATEWAY_CONTAINER = 'gateway';

export function ownerReference(owner: Owner): V1OwnerReference {
  return {
    apiVersion: `${IMGATEWAY.group}/${IMGATEWAY.version}`,
    kind: IMGATEWAY.kind,
    name: owner.name,
    uid: owner.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function ownedMetadata(
  owner: Owner,
  name: string,
): { name: string; namespace: string; labels: Record<string, string>; ownerReferences: V1OwnerReference[] } {
  return {
    name,
    namespace: owner.namespace,
    labels: { [Labels.gateway]: owner.name, [OperatorLabels.managedBy]: 'imring-operator' },
    ownerReferences: [ownerReference(owner)],
  };
}

/**
 * The gateway StatefulSet with `replicas` pods (Parallel: pods start and stop at once; the ring, not the ordinal order,
 * decides who serves).
 */
export function desiredStatefulSet(
  owner: Owner,
  spec: ResolvedSpec,
  replicas: number,
  rollout: RolloutMode = 'ring',
): V1StatefulSet {
  const body = statefulSetSpec(owner, spec, replicas, rollout);
  const metadata = ownedMetadata(owner, statefulSetName(owner));
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { ...metadata, annotations: { [APPLIED_SPEC_ANNOTATION]: specHash(body) } },
    spec: body,
  };
}

/**
 * The StatefulSet's spec. OnDelete: the operator replaces outdated pods itself, one member at a time, after it left
 * the ring (operator/rollout.ts); with the `statefulset` rollout mode, RollingUpdate.
 */
function statefulSetSpec(owner: Owner, spec: ResolvedSpec, replicas: number, rollout: RolloutMode): V1StatefulSetSpec {
  const selector = selectorLabels(owner);
  return {
    replicas,
    serviceName: headlessServiceName(owner),
    podManagementPolicy: 'Parallel',
    updateStrategy:
      rollout === 'ring' ? { type: 'OnDelete' } : { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
    selector: { matchLabels: selector },
    template: {
      metadata: {
        labels: { ...spec.podTemplate.labels, ...selector },
        annotations: { ...spec.podTemplate.annotations },
      },
      spec: {
        serviceAccountName: spec.podTemplate.serviceAccountName ?? DEFAULT_GATEWAY_SERVICE_ACCOUNT,
        // Also the gateway's IMRING_TERMINATION_GRACE: it leaves the ring, its users move, and what it still holds
        // shortly before the end is closed with 4002.
        terminationGracePeriodSeconds: spec.drain.terminationGraceSeconds,
        nodeSelector: { ...spec.podTemplate.nodeSelector },
        tolerations: spec.podTemplate.tolerations.map((t) => ({ ...t })),
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: GATEWAY_CONTAINER,
            image: spec.image,
            args: ['gateway'],
            env: gatewayEnv(owner, spec),
            ports: [
              { name: 'ws', containerPort: spec.ports.ws },
              { name: 'grpc', containerPort: spec.ports.grpc },
              { name: 'http', containerPort: spec.ports.http },
            ],
            readinessProbe: {
              httpGet: { path: '/readyz', port: spec.ports.http },
              periodSeconds: 1,
              failureThreshold: 2,
            },
            livenessProbe: {
              httpGet: { path: '/healthz', port: spec.ports.http },
              periodSeconds: 10,
              failureThreshold: 3,
            },
            resources: {
              ...(spec.resources.requests ? { requests: { ...spec.resources.requests } } : {}),
              ...(spec.resources.limits ? { limits: { ...spec.resources.limits } } : {}),
            },
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'] },
            },
          },
        ],
      },
    },
  };
}

function gatewayEnv(owner: Owner, spec: ResolvedSpec): V1EnvVar[] {
  const field = (fieldPath: string): Pick<V1EnvVar, 'valueFrom'> => ({ valueFrom: { fieldRef: { fieldPath } } });
  const fixed: V1EnvVar[] = [
    { name: PodEnv.gateway, value: owner.name },
    { name: PodEnv.podName, ...field('metadata.name') },
    { name: PodEnv.podNamespace, ...field('metadata.namespace') },
    { name: PodEnv.podIP, ...field('status.podIP') },
    { name: PodEnv.wsPort, value: String(spec.ports.ws) },
    { name: PodEnv.grpcPort, value: String(spec.ports.grpc) },
    { name: PodEnv.httpPort, value: String(spec.ports.http) },
    { name: PodEnv.tokenSecret, valueFrom: { secretKeyRef: { name: spec.auth.secretName, key: spec.auth.secretKey } } },
    { name: PodEnv.terminationGrace, value: `${spec.drain.terminationGraceSeconds}s` },
    { name: PodEnv.logLevel, value: spec.logLevel },
  ];
  const own = new Set(fixed.map((e) => e.name));
  // The operator's variables win: a user's IMRING_GATEWAY would make the pod serve another ring.
  return [
    ...fixed,
    ...spec.podTemplate.env.filter((e) => !own.has(e.name)).map((e) => ({ name: e.name, value: e.value })),
  ];
}

/**
 * The headless Service: stable DNS names for members, published before pods are Ready (members join the ring only when
 * Ready; readers must resolve them at once).
 */
export function desiredHeadlessService(owner: Owner, spec: ResolvedSpec): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ownedMetadata(owner, headlessServiceName(owner)),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selectorLabels(owner),
      ports: [
        { name: 'ws', port: spec.ports.ws, targetPort: spec.ports.ws },
        { name: 'grpc', port: spec.ports.grpc, targetPort: spec.ports.grpc },
      ],
    },
  };
}

/** At most one gateway voluntarily evicted at a time: each eviction migrates its users once. */
export function desiredPodDisruptionBudget(owner: Owner): V1PodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ownedMetadata(owner, statefulSetName(owner)),
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(owner) } },
  };
}

/** The ring ConfigMap holding `document`, stamped with the time its state was reached. */
export function desiredRingConfigMap(owner: Owner, document: RingDocument, transitionTime: string): V1ConfigMap {
  const metadata = ownedMetadata(owner, ringName(owner));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { ...metadata, annotations: { [TRANSITION_TIME_ANNOTATION]: transitionTime } },
    data: { [RING_DATA_KEY]: serializeRingDocument(document) },
  };
}
