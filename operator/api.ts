/**
 * The IMGateway API (imring.dev/v1alpha1) as TypeScript: its coordinates and the shapes of
 * the objects the API server serves. crds/imgateway.yaml is the source of truth; these types
 * describe what a client reads, so everything the schema does not require is optional.
 */

import type { V1ObjectMeta } from '@kubernetes/client-node';

/** Where IMGateways are served: `/apis/imring.dev/v1alpha1/namespaces/<ns>/imgateways`. */
export const IMGATEWAY = { group: 'imring.dev', version: 'v1alpha1', plural: 'imgateways', kind: 'IMGateway' } as const;

/** `apiVersion` of an IMGateway. */
export const IMGATEWAY_API_VERSION = `${IMGATEWAY.group}/${IMGATEWAY.version}`;

/** Log levels of the gateway pods, least severe first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An IMGateway as served: the spec is raw input until `resolveSpec()` has judged it. */
export interface IMGateway {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: IMGatewaySpec;
  status?: IMGatewayStatus;
}

/**
 * The spec as a client wrote it. Every field is optional: the schema's defaults fill them on a
 * server that has the CRD, and `resolveSpec()` fills them again where nothing did.
 */
export interface IMGatewaySpec {
  replicas?: number;
  image?: string;
  ports?: { ws?: number; grpc?: number; http?: number };
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  podTemplate?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    nodeSelector?: Record<string, string>;
    tolerations?: Record<string, unknown>[];
    env?: { name?: string; value?: string }[];
  };
  ring?: { tableSize?: number; ackTimeoutSeconds?: number };
  drain?: {
    timeoutSeconds?: number;
    migrateRatePerSecond?: number;
    handoffWindowMs?: number;
    moveDeadlineMs?: number;
    terminationGraceSeconds?: number;
  };
  /** `maxUnavailable`: an integer or a percentage of `replicas` such as `"10%"`. */
  rollout?: { maxUnavailable?: number | string };
  unreadyGraceSeconds?: number;
  auth?: { secretName?: string; secretKey?: string };
  logLevel?: LogLevel;
}

/** `status.phase`. */
export const Phases = ['Stable', 'ScalingUp', 'ScalingDown', 'Rebalancing', 'RollingUpdate', 'Degraded'] as const;
export type Phase = (typeof Phases)[number];

/** The condition types an IMGateway carries. */
export const ConditionTypes = {
  ready: 'Ready',
  progressing: 'Progressing',
  ringConverged: 'RingConverged',
  degraded: 'Degraded',
  invalidSpec: 'InvalidSpec',
} as const;
export type ConditionType = (typeof ConditionTypes)[keyof typeof ConditionTypes];

/** A metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** RFC 3339, seconds precision; changes only when `status` flips. */
  lastTransitionTime: string;
  /** CamelCase. */
  reason: string;
  message: string;
}

/** Runtimes serving the ring's version, per component, as `"acknowledged/live"` (e.g. `"2/3"`). */
export interface RingAcknowledged {
  proxy?: string;
  push?: string;
  gateway?: string;
}

/** `status.ring`: the published ring as the operator last wrote it. */
export interface RingStatus {
  version?: number;
  state?: 'Prepared' | 'Committed';
  /** Member names (`<name>-<ordinal>`), in ring order. */
  members?: string[];
  /** The ring before this version, while a transition may still need it. */
  previous?: { version: number; members: string[] };
  /**
   * Maglev table size of the published ring. A ring restored from the status needs it: the
   * spec's value may have been edited since (a cluster without CEL allows that), while a
   * published ring's table never changes. Absent in statuses written before it was recorded.
   */
  tableSize?: number;
  checksum?: string;
  /** Name of the ConfigMap holding the document (`<name>-ring`). */
  configMap?: string;
  acknowledged?: RingAcknowledged;
  misplacedConnections?: number;
  /** RFC 3339: when `version` or `state` last changed. */
  lastTransitionTime?: string;
  /** The last ring version that finished its transition. */
  convergedVersion?: number;
}

/** `status`, written by the operator only. */
export interface IMGatewayStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  /** Gateway pods at the StatefulSet's update revision. */
  updatedReplicas?: number;
  /** Label selector of the gateway pods, `imring.dev/gateway=<name>` (scale subresource). */
  selector?: string;
  phase?: Phase;
  ring?: RingStatus;
  conditions?: Condition[];
}
