import {
  CoreV1Api,
  DiscoveryV1Api,
  type KubeConfig,
  type V1EndpointSlice,
  type V1Service,
} from '@kubernetes/client-node';
import { ResilientInformer } from '../../kube/controller-kit.js';

/** What the informers of Services and their slices are made with. */
export interface ServiceInformerOptions {
  readonly kc: KubeConfig;
  /** Told of each informer error before its restart. */
  readonly onError: (error: unknown) => void;
}

/** An informer of every Service, in all namespaces. */
export function servicesInformer(options: ServiceInformerOptions): ResilientInformer<V1Service> {
  const core = options.kc.makeApiClient(CoreV1Api);
  return new ResilientInformer({
    ...options,
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces(),
  });
}

/** An informer of the EndpointSlices in all namespaces (those matching `labelSelector`, when given). */
export function slicesInformer(
  options: ServiceInformerOptions & { readonly labelSelector?: string },
): ResilientInformer<V1EndpointSlice> {
  const discovery = options.kc.makeApiClient(DiscoveryV1Api);
  const { labelSelector } = options;
  return new ResilientInformer({
    ...options,
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    list: () => discovery.listEndpointSliceForAllNamespaces(labelSelector ? { labelSelector } : {}),
  });
}
