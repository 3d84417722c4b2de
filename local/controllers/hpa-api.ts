/** The HPA controller's reads and writes through the API: targets' scales, pods, pod metrics, HPA status. */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1Pod,
} from '@kubernetes/client-node';
import type { HpaCondition, PodMetricsItem } from './hpa-inputs.js';
import type { ScalingBehavior } from './hpa-scaling.js';

/** An autoscaling/v2 HorizontalPodAutoscaler as JSON, the parts read and written. */
export interface Hpa {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec?: {
    scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: HpaMetric[];
    behavior?: ScalingBehavior;
  };
  status?: HpaStatus;
}

/** One `spec.metrics` entry, the parts read. */
export interface HpaMetric {
  type?: string;
  resource?: { name?: string; target?: { type?: string; averageUtilization?: number } };
}

/** `status` of an HPA. */
export interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: unknown[];
  lastScaleTime?: string;
  conditions?: HpaCondition[];
}

/** An autoscaling/v1 Scale. */
export interface Scale {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

/** Where a target's scale subresource is. */
export interface ScaleResource {
  readonly group: string;
  readonly version: string;
  readonly namespace: string;
  readonly plural: string;
  readonly name: string;
}

/** A target's scale, where it was read. */
export interface ScaleTarget {
  readonly scale: Scale;
  readonly resource: ScaleResource;
}

/** Where HPAs are served (the storage version). */
export const HPA_RESOURCE = { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers' } as const;

/** Finds a kind's resource (its plural) through discovery, as the real controller's REST mapper does. */
class ResourceMapper extends KubernetesObjectApi {
  async pluralOf(apiVersion: string, kind: string): Promise<string | undefined> {
    return (await this.resource(apiVersion, kind))?.name;
  }
}

/** The HPA controller's client. Every call may throw the API's error. */
export class HpaApi {
  readonly #objects: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #mapper: ResourceMapper;

  constructor(kc: KubeConfig) {
    this.#objects = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#mapper = kc.makeApiClient(ResourceMapper);
  }

  /** Every HPA, as JSON (for an informer). */
  async listHpas(): Promise<KubernetesListObject<Hpa>> {
    return (await this.#objects.listClusterCustomObject(HPA_RESOURCE)) as KubernetesListObject<Hpa>;
  }

  /**
   * The HPA's target's Scale: any kind in a named group with a `scale` subresource. A string
   * says why there is none.
   */
  async scaleOf(hpa: Hpa): Promise<ScaleTarget | string> {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const apiVersion = ref.apiVersion ?? '';
    const slash = apiVersion.indexOf('/');
    if (slash < 0) return `the local control plane serves no scalable kind ${ref.kind} in ${apiVersion || 'v1'}`;
    const group = apiVersion.slice(0, slash);
    const plural = await this.#mapper.pluralOf(apiVersion, ref.kind ?? '').catch(() => undefined);
    if (!plural) return `no matches for kind "${ref.kind}" in group "${group}"`;
    const resource = {
      group,
      version: apiVersion.slice(slash + 1),
      namespace: hpa.metadata.namespace ?? 'default',
      plural,
      name: ref.name ?? '',
    };
    return { scale: (await this.#objects.getNamespacedCustomObjectScale(resource)) as Scale, resource };
  }

  /** Sets the target's replicas (an update of the Scale read, so a concurrent change conflicts). */
  async rescale(target: ScaleTarget, replicas: number): Promise<void> {
    const body = { ...target.scale, spec: { ...target.scale.spec, replicas } };
    await this.#objects.replaceNamespacedCustomObjectScale({ ...target.resource, body });
  }

  /** The pods `selector` matches in `namespace`. */
  async pods(namespace: string, selector: string): Promise<V1Pod[]> {
    return (await this.#core.listNamespacedPod({ namespace, labelSelector: selector })).items;
  }

  /** The PodMetrics of the pods `selector` matches in `namespace`. */
  async podMetrics(namespace: string, selector: string): Promise<PodMetricsItem[]> {
    const list = (await this.#objects.listNamespacedCustomObject({
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      namespace,
      plural: 'pods',
      labelSelector: selector,
    })) as { items?: PodMetricsItem[] };
    return list.items ?? [];
  }

  /** Replaces the HPA's status (a conflict means the HPA changed since it was read). */
  async writeStatus(hpa: Hpa, status: HpaStatus): Promise<void> {
    await this.#objects.replaceNamespacedCustomObjectStatus({
      ...HPA_RESOURCE,
      namespace: hpa.metadata.namespace ?? 'default',
      name: hpa.metadata.name ?? '',
      body: { ...hpa, status },
    });
  }
}
