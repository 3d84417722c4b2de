import type { KubeConfig } from '@kubernetes/client-node';
import { EventRecorder, ResilientInformer } from '../../kube/controller-kit.js';
import { apiErrorMessage } from '../../kube/api-errors.js';
import { ControllerLoop, objectKey, resolveWorkloadOptions, type ResolvedWorkloadOptions } from './controller-loop.js';
import { HpaApi, type Hpa, type HpaMetric, type HpaStatus, type Scale, type ScaleTarget } from './hpa-api.js';
import {
  AbleToScale,
  ScalingActive,
  ScalingLimited,
  cpuPod,
  cpuSamples,
  milliQuantity,
  rfc3339,
  withCondition,
} from './hpa-inputs.js';
import { cpuReplicas, isProposal, type CpuProposal } from './hpa-replicas.js';
import {
  newHistory,
  normalizeReplicas,
  recordRescale,
  type ConditionSetting,
  type ScalingHistory,
} from './hpa-scaling.js';

/** Options of {@link HorizontalPodAutoscalerController}. */
export interface HorizontalPodAutoscalerControllerOptions {
  readonly kc: KubeConfig;
  /** Told of informer restarts and failed writes (retried on the next sync). Default: ignored. */
  readonly onError?: (error: unknown) => void;
  /** How often each HPA is synced, in ms. Default 15,000 (`--horizontal-pod-autoscaler-sync-period`). */
  readonly syncPeriodMs?: number;
  /**
   * The scale-down stabilization window of HPAs whose behavior names none, in ms. Default
   * 300,000 (`--horizontal-pod-autoscaler-downscale-stabilization`).
   */
  readonly downscaleStabilizationMs?: number;
  /** Utilization ratios within this distance of 1 leave the count alone. Default 0.1. */
  readonly tolerance?: number;
  /** After a pod starts, samples from before it was Ready for one window are ignored, in ms. Default 300,000. */
  readonly cpuInitializationPeriodMs?: number;
  /** A pod unready this soon after its start counts as never ready, in ms. Default 30,000. */
  readonly initialReadinessDelayMs?: number;
  /** The clock, epoch ms. Default `Date.now`. */
  readonly now?: () => number;
}

const DEFAULTS = {
  syncPeriodMs: 15_000,
  downscaleStabilizationMs: 300_000,
  tolerance: 0.1,
  cpuInitializationPeriodMs: 300_000,
  initialReadinessDelayMs: 30_000,
};

type Periods = typeof DEFAULTS;

/** What one sync found out about the metrics: a proposal and its name, or the failure's reason and message. */
type MetricsOutcome = { proposal: CpuProposal; metricName: string } | { reason: string; message: string };

/** The count a sync decided on, why, and the metric statuses to report. */
interface Decision {
  readonly desired: number;
  readonly reason: string;
  readonly metrics: unknown[];
}

/** One sync of one HPA: what it read, and the status it builds. */
interface Sync {
  readonly key: string;
  readonly hpa: Hpa;
  readonly now: number;
  readonly status: HpaStatus;
}

const CPU_METRIC_NAME = 'cpu resource utilization (percentage of request)';

/**
 * The horizontal pod autoscaler: every `syncPeriodMs` it reads each HPA's target through the
 * target's `scale` subresource (any kind that has one, built-in or custom), the target's pods
 * by the scale's `status.selector`, and their CPU from metrics.k8s.io; proposes
 * ceil(ready pods × utilization / target), stabilizes and rate-limits it as the HPA's behavior
 * (or the defaults) says, rescales the target, and writes the HPA's status, conditions and
 * Events as a cluster's controller does. Only Resource cpu Utilization metrics are computed:
 * the local plane serves no custom or external metrics API.
 */
export class HorizontalPodAutoscalerController {
  readonly #options: ResolvedWorkloadOptions & Periods;
  readonly #loop: ControllerLoop;
  readonly #informer: ResilientInformer<Hpa>;
  readonly #api: HpaApi;
  readonly #events: EventRecorder;
  readonly #histories = new Map<string, ScalingHistory>();
  /** `namespace/name/reason` → the last Warning message: a failure repeated every sync is recorded once. */
  readonly #warned = new Map<string, string>();

  constructor(options: HorizontalPodAutoscalerControllerOptions) {
    this.#options = resolveOptions(options);
    const { kc, onError } = this.#options;
    this.#api = new HpaApi(kc);
    this.#events = new EventRecorder(kc, 'horizontal-pod-autoscaler', onError);
    this.#informer = new ResilientInformer<Hpa>({
      kc,
      onError,
      path: '/apis/autoscaling/v2/horizontalpodautoscalers',
      list: () => this.#api.listHpas(),
    });
    this.#loop = new ControllerLoop({
      name: 'HorizontalPodAutoscalerController',
      options: this.#options,
      startInformers: () => this.#informer.start(),
      closeInformers: () => this.#informer.close(),
      keys: () => this.#informer.list().map(objectKey),
      reconcile: (key) => this.#reconcile(key),
    });
    // Syncs run every period, not on each change: the controller's own status writes would loop.
    this.#informer.on('add', (hpa) => this.#loop.enqueue(objectKey(hpa)));
    this.#informer.on('delete', (hpa) => this.#forget(objectKey(hpa)));
  }

  /** Starts watching HPAs; resolves once they are listed. Refused after `close()`. */
  start(): Promise<void> {
    return this.#loop.start();
  }

  /** Stops syncing; waits for the running sync. Idempotent. */
  close(): Promise<void> {
    return this.#loop.close();
  }

  async #reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const cached = this.#informer.get(name, namespace);
    if (!cached) return this.#forget(key);
    const hpa = structuredClone(cached);
    const before = JSON.stringify(hpa.status ?? {});
    const sync: Sync = { key, hpa, now: this.#options.now(), status: { ...hpa.status } };
    const target = await this.#api.scaleOf(hpa).catch((error: unknown) => apiErrorMessage(error));
    if (typeof target === 'string') {
      await this.#warn(hpa, 'FailedGetScale', target);
      const message = `the HPA controller was unable to get the target's current scale: ${target}`;
      this.#set(sync, AbleToScale, { status: 'False', reason: 'FailedGetScale', message });
    } else {
      const message = "the HPA controller was able to get the target's current scale";
      this.#set(sync, AbleToScale, { status: 'True', reason: 'SucceededGetScale', message });
      const current = target.scale.spec?.replicas ?? 0;
      sync.status.currentReplicas = current;
      const decision = await this.#decide(sync, target.scale);
      if (decision && (decision.desired === current || (await this.#rescale(sync, target, decision)))) {
        sync.status.desiredReplicas = decision.desired;
        sync.status.currentMetrics = decision.metrics;
      }
    }
    if (JSON.stringify(sync.status) === before) return;
    await this.#api.writeStatus(hpa, sync.status).catch((error: unknown) => {
      // A conflict means the cache was stale: the next sync writes from the newer object.
      this.#options.onError(new Error(`while writing the status of HPA ${key}`, { cause: error }));
    });
  }

  /**
   * The count to scale to and why, with the conditions that explain it set; undefined when the
   * metrics failed (the status keeps its last figures) or scaling is disabled.
   */
  async #decide(sync: Sync, scale: Scale): Promise<Decision | undefined> {
    const { hpa, now } = sync;
    const current = scale.spec?.replicas ?? 0;
    const history = this.#history(sync.key, current, now);
    const min = hpa.spec?.minReplicas ?? 1;
    const max = hpa.spec?.maxReplicas ?? min;
    if (current === 0 && min !== 0) {
      const message = 'scaling is disabled since the replica count of the target is zero';
      this.#set(sync, ScalingActive, { status: 'False', reason: 'ScalingDisabled', message });
      sync.status.desiredReplicas = 0;
      return undefined;
    }
    if (current > max)
      return { desired: max, reason: 'Current number of replicas above Spec.MaxReplicas', metrics: [] };
    if (current < min)
      return { desired: min, reason: 'Current number of replicas below Spec.MinReplicas', metrics: [] };
    const outcome = await this.#metrics(hpa, scale, current);
    if ('reason' in outcome) {
      await this.#metricsFailed(sync, outcome);
      return undefined;
    }
    const found = `the HPA was able to successfully calculate a replica count from ${outcome.metricName}`;
    this.#set(sync, ScalingActive, { status: 'True', reason: 'ValidMetricFound', message: found });
    this.#forgetWarnings(sync.key);
    const proposed = outcome.proposal.replicas;
    const normalized = normalizeReplicas(history, {
      current,
      proposed,
      min,
      max,
      behavior: hpa.spec?.behavior,
      downscaleStabilizationMs: this.#options.downscaleStabilizationMs,
      now,
    });
    this.#set(sync, AbleToScale, normalized.ableToScale);
    this.#set(sync, ScalingLimited, normalized.scalingLimited);
    const reason = proposed > current ? `${outcome.metricName} above target` : 'All metrics below target';
    return { desired: normalized.desired, reason, metrics: [cpuStatus(outcome.proposal)] };
  }

  /** ScalingActive False and the two Warnings a cluster records when no metric could be computed. */
  async #metricsFailed(sync: Sync, failure: { reason: string; message: string }): Promise<void> {
    const message = `the HPA was unable to compute the replica count: ${failure.message}`;
    this.#set(sync, ScalingActive, { status: 'False', reason: failure.reason, message });
    await this.#warn(sync.hpa, failure.reason, failure.message);
    const count = sync.hpa.spec?.metrics?.length ?? 1;
    const first = `failed to get ${metricLabel(sync.hpa.spec?.metrics?.[0])} metric value: ${failure.message}`;
    const summary = `invalid metrics (${count} invalid out of ${count}), first error is: ${first}`;
    await this.#warn(sync.hpa, 'FailedComputeMetricsReplicas', summary);
  }

  /** The Resource cpu Utilization proposal, or why there is none; other metric types are not served here. */
  async #metrics(hpa: Hpa, scale: Scale, current: number): Promise<MetricsOutcome> {
    const metrics = hpa.spec?.metrics ?? [];
    const target = metrics[0]?.resource?.target;
    if (metrics.length !== 1 || !isCpuUtilization(metrics[0])) {
      const message = 'the local control plane computes only one Resource cpu Utilization metric per HPA';
      return { reason: 'FailedGetResourceMetric', message };
    }
    const selector = scale.status?.selector;
    if (!selector) return { reason: 'InvalidSelector', message: "the HPA target's scale is missing a selector" };
    const namespace = hpa.metadata.namespace ?? 'default';
    const failed = (why: string): MetricsOutcome => ({
      reason: 'FailedGetResourceMetric',
      message: `failed to get cpu utilization: ${why}`,
    });
    const items = await this.#api.podMetrics(namespace, selector).catch((error: unknown) => apiErrorMessage(error));
    if (typeof items === 'string') {
      return failed(
        `unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: ${items}`,
      );
    }
    if (items.length === 0) {
      return failed('unable to get metrics for resource cpu: no metrics returned from resource metrics API');
    }
    const result = cpuReplicas({
      currentReplicas: current,
      targetUtilization: target?.averageUtilization ?? 0,
      pods: (await this.#api.pods(namespace, selector)).map(cpuPod),
      samples: cpuSamples(items),
      tolerance: this.#options.tolerance,
      cpuInitializationPeriodMs: this.#options.cpuInitializationPeriodMs,
      initialReadinessDelayMs: this.#options.initialReadinessDelayMs,
      now: this.#options.now(),
    });
    return isProposal(result) ? { proposal: result, metricName: CPU_METRIC_NAME } : failed(result.error);
  }

  /** Sets the target's replicas, with the condition and Event a cluster records; false when refused. */
  async #rescale(sync: Sync, target: ScaleTarget, decision: Decision): Promise<boolean> {
    const { hpa, now } = sync;
    const current = target.scale.spec?.replicas ?? 0;
    const { desired, reason } = decision;
    try {
      await this.#api.rescale(target, desired);
    } catch (error) {
      const why = apiErrorMessage(error);
      const text = `New size: ${desired}; reason: ${reason}; error: ${why}`;
      await this.#events.record(eventTarget(hpa), 'Warning', 'FailedRescale', text);
      const message = `the HPA controller was unable to update the target scale: ${why}`;
      this.#set(sync, AbleToScale, { status: 'False', reason: 'FailedUpdateScale', message });
      return false;
    }
    const message = `the HPA controller was able to update the target scale to ${desired}`;
    this.#set(sync, AbleToScale, { status: 'True', reason: 'SucceededRescale', message });
    await this.#events.record(
      eventTarget(hpa),
      'Normal',
      'SuccessfulRescale',
      `New size: ${desired}; reason: ${reason}`,
    );
    recordRescale(this.#history(sync.key, current, now), current, desired, now);
    sync.status.lastScaleTime = rfc3339(new Date(now));
    return true;
  }

  #set(sync: Sync, type: string, setting: ConditionSetting): void {
    sync.status.conditions = withCondition(sync.status.conditions ?? [], type, setting, new Date(sync.now));
  }

  async #warn(hpa: Hpa, reason: string, message: string): Promise<void> {
    const key = `${objectKey(hpa)}/${reason}`;
    if (this.#warned.get(key) === message) return;
    this.#warned.set(key, message);
    await this.#events.record(eventTarget(hpa), 'Warning', reason, message);
  }

  #history(key: string, current: number, now: number): ScalingHistory {
    let history = this.#histories.get(key);
    if (!history) {
      history = newHistory(current, now);
      this.#histories.set(key, history);
    }
    return history;
  }

  #forget(key: string): void {
    this.#histories.delete(key);
    this.#forgetWarnings(key);
  }

  #forgetWarnings(key: string): void {
    for (const warned of [...this.#warned.keys()]) if (warned.startsWith(`${key}/`)) this.#warned.delete(warned);
  }
}

function isCpuUtilization(metric: HpaMetric | undefined): boolean {
  return (
    metric?.type === 'Resource' && metric.resource?.name === 'cpu' && metric.resource.target?.type === 'Utilization'
  );
}

/** `cpu resource` for a Resource metric, as the controller names it in errors. */
function metricLabel(metric: HpaMetric | undefined): string {
  return metric?.type === 'Resource' ? `${metric.resource?.name ?? ''} resource` : (metric?.type ?? 'unknown');
}

function eventTarget(hpa: Hpa): { apiVersion: string; kind: string; metadata: Hpa['metadata'] } {
  return { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: hpa.metadata };
}

function cpuStatus(proposal: CpuProposal): Record<string, unknown> {
  const current = { averageUtilization: proposal.utilization, averageValue: milliQuantity(proposal.averageMilli) };
  return { type: 'Resource', resource: { name: 'cpu', current } };
}

/** What each option must be: its test and the words of the error. */
const RULES: Record<keyof Periods, [(value: number) => boolean, string]> = {
  syncPeriodMs: [(v) => Number.isFinite(v) && v > 0, 'a positive number of ms'],
  downscaleStabilizationMs: [(v) => Number.isFinite(v) && v >= 0, 'a number of ms >= 0'],
  cpuInitializationPeriodMs: [(v) => Number.isFinite(v) && v >= 0, 'a number of ms >= 0'],
  initialReadinessDelayMs: [(v) => Number.isFinite(v) && v >= 0, 'a number of ms >= 0'],
  tolerance: [(v) => v >= 0 && v < 1, 'in [0, 1)'],
};

function resolveOptions(options: HorizontalPodAutoscalerControllerOptions): ResolvedWorkloadOptions & Periods {
  const periods: Periods = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof Periods)[]) {
    const value = options?.[key] ?? DEFAULTS[key];
    const [isValid, expected] = RULES[key];
    if (!isValid(value))
      throw new RangeError(`HorizontalPodAutoscalerController: ${key} must be ${expected}, got ${value}`);
    periods[key] = value;
  }
  const loop = resolveWorkloadOptions('HorizontalPodAutoscalerController', {
    kc: options?.kc,
    resyncMs: periods.syncPeriodMs,
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  return { ...loop, ...periods };
}
