// STUB: replaced by the crd branch's operator/api.ts on merge.
import type { V1ObjectMeta } from '@kubernetes/client-node';

export const IMGATEWAY = { group: 'imring.dev', version: 'v1alpha1', plural: 'imgateways', kind: 'IMGateway' } as const;

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface RingStatus {
  version?: number;
  state?: 'Prepared' | 'Committed';
  members?: string[];
  previous?: { version: number; members: string[] };
  checksum?: string;
  configMap?: string;
  acknowledged?: { proxy?: string; push?: string; gateway?: string };
  misplacedConnections?: number;
  lastTransitionTime?: string;
  convergedVersion?: number;
}

export interface IMGatewayStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  selector?: string;
  phase?: 'Stable' | 'ScalingUp' | 'ScalingDown' | 'Rebalancing' | 'Degraded';
  ring?: RingStatus;
  conditions?: Condition[];
}

export interface IMGateway {
  apiVersion?: string;
  kind?: string;
  metadata: V1ObjectMeta;
  spec?: Record<string, unknown>;
  status?: IMGatewayStatus;
}
