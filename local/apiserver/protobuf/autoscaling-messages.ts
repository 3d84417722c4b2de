import type { MessageTable } from './field-table.js';

/**
 * HorizontalPodAutoscaler in autoscaling/v1 (`kubectl autoscale`) and autoscaling/v2, in the
 * notation of {@link MessageTable}. The two versions share message names with different fields,
 * so the v1 messages carry a `V1` suffix here.
 */
export const AUTOSCALING_MESSAGES: MessageTable = {
  HorizontalPodAutoscalerV1: {
    1: 'metadata ObjectMeta',
    2: 'spec HorizontalPodAutoscalerSpecV1',
    3: 'status HorizontalPodAutoscalerStatusV1',
  },
  HorizontalPodAutoscalerSpecV1: {
    1: 'scaleTargetRef CrossVersionObjectReference',
    2: 'minReplicas *int32',
    3: 'maxReplicas int32',
    4: 'targetCPUUtilizationPercentage *int32',
  },
  HorizontalPodAutoscalerStatusV1: {
    1: 'observedGeneration *int64',
    2: 'lastScaleTime Time',
    3: 'currentReplicas int32',
    4: 'desiredReplicas int32',
    5: 'currentCPUUtilizationPercentage *int32',
  },
  CrossVersionObjectReference: { 1: 'kind string', 2: 'name string', 3: 'apiVersion string' },
  HorizontalPodAutoscaler: {
    1: 'metadata ObjectMeta',
    2: 'spec HorizontalPodAutoscalerSpec',
    3: 'status HorizontalPodAutoscalerStatus',
  },
  HorizontalPodAutoscalerSpec: {
    1: 'scaleTargetRef CrossVersionObjectReference',
    2: 'minReplicas *int32',
    3: 'maxReplicas int32',
    4: 'metrics []MetricSpec',
    5: 'behavior HorizontalPodAutoscalerBehavior',
  },
  MetricSpec: {
    1: 'type string',
    2: 'object ObjectMetricSource',
    3: 'pods PodsMetricSource',
    4: 'resource ResourceMetricSource',
    5: 'external ExternalMetricSource',
    7: 'containerResource ContainerResourceMetricSource',
  },
  ObjectMetricSource: {
    1: 'describedObject CrossVersionObjectReference',
    2: 'target MetricTarget',
    3: 'metric MetricIdentifier',
  },
  PodsMetricSource: { 1: 'metric MetricIdentifier', 2: 'target MetricTarget' },
  ResourceMetricSource: { 1: 'name string', 2: 'target MetricTarget' },
  ContainerResourceMetricSource: { 1: 'name string', 2: 'target MetricTarget', 3: 'container string' },
  ExternalMetricSource: { 1: 'metric MetricIdentifier', 2: 'target MetricTarget' },
  MetricIdentifier: { 1: 'name string', 2: 'selector LabelSelector' },
  MetricTarget: {
    1: 'type string',
    2: 'value Quantity',
    3: 'averageValue Quantity',
    4: 'averageUtilization *int32',
  },
  HorizontalPodAutoscalerBehavior: { 1: 'scaleUp HPAScalingRules', 2: 'scaleDown HPAScalingRules' },
  HPAScalingRules: {
    1: 'selectPolicy *string',
    2: 'policies []HPAScalingPolicy',
    3: 'stabilizationWindowSeconds *int32',
    4: 'tolerance Quantity',
  },
  HPAScalingPolicy: { 1: 'type string', 2: 'value int32', 3: 'periodSeconds int32' },
  HorizontalPodAutoscalerStatus: {
    1: 'observedGeneration *int64',
    2: 'lastScaleTime Time',
    3: 'currentReplicas int32',
    4: 'desiredReplicas int32',
    6: 'conditions []HorizontalPodAutoscalerCondition',
  },
  HorizontalPodAutoscalerCondition: {
    1: 'type string',
    2: 'status string',
    3: 'lastTransitionTime Time',
    4: 'reason string',
    5: 'message string',
    6: 'observedGeneration *int64',
  },
};
