import { unsupportedMediaType } from '../errors.js';
import type { KubeObject } from '../types.js';
import { AUTOSCALING_MESSAGES } from './autoscaling-messages.js';
import { CONTAINER_MESSAGES } from './container-messages.js';
import { CORE_MESSAGES } from './core-messages.js';
import { openEnvelope } from './envelope.js';
import { MessageDecoder } from './message-decoder.js';
import { META_MESSAGES } from './meta-messages.js';
import { POD_MESSAGES } from './pod-messages.js';
import { RBAC_MESSAGES } from './rbac-messages.js';
import { VOLUME_MESSAGES } from './volume-messages.js';
import { WORKLOAD_MESSAGES } from './workload-messages.js';

/** The objects decoded from protobuf, by `apiVersion/kind`, and their message in the tables. */
const OBJECT_MESSAGES: Readonly<Record<string, string>> = {
  'v1/Namespace': 'Namespace',
  'v1/ConfigMap': 'ConfigMap',
  'v1/Secret': 'Secret',
  'v1/ServiceAccount': 'ServiceAccount',
  'v1/Service': 'Service',
  'v1/Pod': 'Pod',
  'apps/v1/Deployment': 'Deployment',
  'batch/v1/Job': 'Job',
  'policy/v1/PodDisruptionBudget': 'PodDisruptionBudget',
  'batch/v1/CronJob': 'CronJob',
  'rbac.authorization.k8s.io/v1/Role': 'Role',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'RoleBinding',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'ClusterRole',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'ClusterRoleBinding',
  'autoscaling/v1/HorizontalPodAutoscaler': 'HorizontalPodAutoscalerV1',
  'autoscaling/v2/HorizontalPodAutoscaler': 'HorizontalPodAutoscaler',
};

const decoder = new MessageDecoder([
  META_MESSAGES,
  CORE_MESSAGES,
  POD_MESSAGES,
  CONTAINER_MESSAGES,
  VOLUME_MESSAGES,
  WORKLOAD_MESSAGES,
  RBAC_MESSAGES,
  AUTOSCALING_MESSAGES,
]);

/**
 * A Kubernetes protobuf body (`application/vnd.kubernetes.protobuf`, as kubectl's generators
 * send it) as the JSON object the JSON API would have received: the envelope's `raw` decoded as
 * the message of its apiVersion and kind.
 * @throws ApiError 400 for bytes that are not such a body, 415 for a kind or a field the tables do not hold.
 */
export function decodeObject(body: Buffer): KubeObject {
  const envelope = openEnvelope(body);
  const { apiVersion, kind } = envelope;
  if (envelope.contentEncoding !== '')
    throw unsupportedMediaType(`the local API server does not read protobuf bodies in ${envelope.contentEncoding}`);
  const message = OBJECT_MESSAGES[`${apiVersion}/${kind}`];
  if (message === undefined) {
    throw unsupportedMediaType(
      `the local API server does not decode a ${kind || 'object'} (${apiVersion || 'no apiVersion'}) sent as protobuf: ` +
        'send it as JSON or YAML instead, e.g. "kubectl create ... --dry-run=client -o yaml | kubectl apply -f -"',
    );
  }
  return { apiVersion, kind, ...decoder.decode(message, envelope.raw, kind) };
}
