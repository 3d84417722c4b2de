/** The local control plane: an in-memory Kubernetes API server, generic Kubernetes for any client. */
export { LocalApiServer, type LocalApiServerOptions, type ServedRequest } from './apiserver/api-server.js';
export { Faults, type FaultSettings } from './apiserver/faults.js';
export { ObjectStore, type ObjectStoreOptions } from './apiserver/store/store.js';
export type { PodLogOptions, PodLogSource } from './apiserver/http/pod-log.js';
export { kubeconfigYaml, type KubeconfigInit } from './apiserver/kubeconfig.js';
export { ApiError } from './apiserver/errors.js';
export type { KubeObject, ObjectMeta, ResourceType } from './apiserver/types.js';
