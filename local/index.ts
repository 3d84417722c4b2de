/** The local control plane: an in-memory Kubernetes API server, generic Kubernetes for any client. */
export { LocalApiServer, type LocalApiServerOptions, type ServedRequest } from './api-server.js';
export { Faults, type FaultSettings } from './faults.js';
export { ObjectStore, type ObjectStoreOptions } from './store.js';
export { kubeconfigYaml, type KubeconfigInit } from './kubeconfig.js';
export { ApiError } from './errors.js';
export type { KubeObject, ObjectMeta, ResourceType } from './types.js';
