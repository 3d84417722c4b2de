/**
 * HorizontalPodAutoscaler is stored as autoscaling/v2 and also served as autoscaling/v1, which
 * knows a single CPU utilization target. As the real server converts: a v2 Resource cpu
 * Utilization metric is v1's `targetCPUUtilizationPercentage` (its current value
 * `currentCPUUtilizationPercentage`); what v1 cannot hold (other metrics, behavior, conditions)
 * rides along in `autoscaling.alpha.kubernetes.io/*` annotations, so a v1 read-modify-write
 * keeps it.
 */
import type { KubeObject, ResourceType } from '../types.js';

type Json = Record<string, unknown>;

/** The annotations that carry the v2-only parts of an HPA through autoscaling/v1 (kept as v2 JSON). */
export const HPA_V1_ANNOTATIONS = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
} as const;

/** True for the autoscaling/v1 view of HorizontalPodAutoscaler. */
export function isHpaV1(type: Pick<ResourceType, 'group' | 'version' | 'kind'>): boolean {
  return type.group === 'autoscaling' && type.version === 'v1' && type.kind === 'HorizontalPodAutoscaler';
}

/** The stored (v2) `object` as `type` serves it. */
export function servedVersion(type: ResourceType, object: KubeObject): KubeObject {
  return isHpaV1(type) ? hpaV1(object) : object;
}

/** A body sent to `type` as it is stored (v2); other types' bodies are returned as they are. */
export function storedVersion(type: ResourceType, object: KubeObject): KubeObject {
  return isHpaV1(type) ? hpaV2(object) : object;
}

/** The autoscaling/v1 form of a v2 HPA. */
export function hpaV1(v2: KubeObject): KubeObject {
  if (v2.apiVersion === 'autoscaling/v1') return v2;
  const spec = rec(v2.spec);
  const status = v2.status === undefined ? undefined : rec(v2.status);
  const metrics = list(spec.metrics);
  const cpu = metrics.find(isCpuUtilization);
  const current = list(status?.currentMetrics);
  const currentCpu = current.find((m) => rec(m.resource).name === 'cpu' && m.type === 'Resource');
  const annotations = carriedAnnotations(v2, {
    metrics: metrics.filter((m) => m !== cpu),
    behavior: spec.behavior,
    conditions: list(status?.conditions),
    currentMetrics: current.filter((m) => m !== currentCpu),
  });
  const utilization = rec(rec(currentCpu?.resource).current).averageUtilization;
  return {
    ...v2,
    apiVersion: 'autoscaling/v1',
    metadata: { ...v2.metadata, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas === undefined ? {} : { minReplicas: spec.minReplicas }),
      maxReplicas: spec.maxReplicas,
      ...(cpu ? { targetCPUUtilizationPercentage: rec(rec(cpu.resource).target).averageUtilization } : {}),
    },
    ...(status
      ? {
          status: {
            ...pick(status, ['observedGeneration', 'lastScaleTime', 'currentReplicas', 'desiredReplicas']),
            ...(typeof utilization === 'number' ? { currentCPUUtilizationPercentage: utilization } : {}),
          },
        }
      : {}),
  };
}

/** The autoscaling/v2 form of a v1 HPA (a body already in v2 is returned as it is). */
export function hpaV2(v1: KubeObject): KubeObject {
  if (v1.apiVersion !== undefined && v1.apiVersion !== 'autoscaling/v1') return v1;
  const spec = rec(v1.spec);
  const annotations: Record<string, string> = { ...v1.metadata?.annotations };
  const carried = (key: string): unknown => {
    const text = annotations[key];
    delete annotations[key];
    return text === undefined ? undefined : parseCarried(text);
  };
  const others = list(carried(HPA_V1_ANNOTATIONS.metrics));
  const behavior = carried(HPA_V1_ANNOTATIONS.behavior);
  const conditions = list(carried(HPA_V1_ANNOTATIONS.conditions));
  const otherCurrent = list(carried(HPA_V1_ANNOTATIONS.currentMetrics));
  const target = spec.targetCPUUtilizationPercentage;
  const metrics = [...(typeof target === 'number' ? [cpuMetric('target', target)] : []), ...others];
  const status = v1.status === undefined ? undefined : rec(v1.status);
  const current = status?.currentCPUUtilizationPercentage;
  const { annotations: _, ...meta } = v1.metadata ?? {};
  return {
    ...v1,
    apiVersion: 'autoscaling/v2',
    metadata: { ...meta, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      scaleTargetRef: spec.scaleTargetRef,
      ...(spec.minReplicas === undefined ? {} : { minReplicas: spec.minReplicas }),
      maxReplicas: spec.maxReplicas,
      ...(metrics.length > 0 ? { metrics } : {}),
      ...(behavior === undefined ? {} : { behavior }),
    },
    ...(status
      ? {
          status: {
            ...pick(status, ['observedGeneration', 'lastScaleTime', 'currentReplicas', 'desiredReplicas']),
            currentMetrics: [...(typeof current === 'number' ? [cpuMetric('current', current)] : []), ...otherCurrent],
            ...(conditions.length > 0 ? { conditions } : {}),
          },
        }
      : {}),
  };
}

/** The object's annotations plus those carrying what v1 cannot hold (each only when there is something). */
function carriedAnnotations(
  v2: KubeObject,
  carried: Record<keyof typeof HPA_V1_ANNOTATIONS, unknown>,
): Record<string, string> {
  const annotations: Record<string, string> = { ...v2.metadata?.annotations };
  for (const [field, key] of Object.entries(HPA_V1_ANNOTATIONS)) {
    const value = carried[field as keyof typeof HPA_V1_ANNOTATIONS];
    if (value !== undefined && !(Array.isArray(value) && value.length === 0)) annotations[key] = JSON.stringify(value);
  }
  return annotations;
}

function cpuMetric(field: 'target' | 'current', utilization: number): Json {
  const value =
    field === 'target' ? { type: 'Utilization', averageUtilization: utilization } : { averageUtilization: utilization };
  return { type: 'Resource', resource: { name: 'cpu', [field]: value } };
}

function isCpuUtilization(metric: Json): boolean {
  const resource = rec(metric.resource);
  return metric.type === 'Resource' && resource.name === 'cpu' && rec(resource.target).type === 'Utilization';
}

function parseCarried(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // A hand-edited annotation that is not JSON carries nothing, as the real conversion drops it.
    return undefined;
  }
}

function pick(from: Json, keys: readonly string[]): Json {
  return Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]]));
}

function rec(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value as Json[]) : [];
}
