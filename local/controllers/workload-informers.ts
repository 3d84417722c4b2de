import { AppsV1Api, CoreV1Api, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import { ResilientInformer } from '../../kube/controller-kit.js';
import type { ResolvedWorkloadOptions } from './controller-loop.js';

/** The informers the workload controllers share, over one namespace or all. */

/** Pods, in the options' namespace or all. */
export function podInformer(options: ResolvedWorkloadOptions): ResilientInformer<V1Pod> {
  const { kc, namespace, onError } = options;
  const core = kc.makeApiClient(CoreV1Api);
  return new ResilientInformer<V1Pod>({
    kc,
    onError,
    path: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
    list: () => (namespace ? core.listNamespacedPod({ namespace }) : core.listPodForAllNamespaces()),
  });
}

/** ReplicaSets, in the options' namespace or all. */
export function replicaSetInformer(options: ResolvedWorkloadOptions): ResilientInformer<V1ReplicaSet> {
  const { kc, namespace, onError } = options;
  const apps = kc.makeApiClient(AppsV1Api);
  return new ResilientInformer<V1ReplicaSet>({
    kc,
    onError,
    path: namespace ? `/apis/apps/v1/namespaces/${namespace}/replicasets` : '/apis/apps/v1/replicasets',
    list: () => (namespace ? apps.listNamespacedReplicaSet({ namespace }) : apps.listReplicaSetForAllNamespaces()),
  });
}
