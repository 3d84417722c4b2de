/**
 * The replica count a CPU utilization target asks for (the HPA controller's replica calculator,
 * kubernetes/pkg/controller/podautoscaler/replica_calculator.go): pure.
 */

/** A pod the HPA's selector matched, as the calculation reads it. */
export interface CpuPod {
  readonly name: string;
  readonly phase: string;
  readonly deleting: boolean;
  /** The Ready condition's status and last transition (epoch ms); undefined without one. */
  readonly ready?: { readonly status: string; readonly since: number };
  /** `status.startTime`, epoch ms. */
  readonly startedAt?: number;
  /** Its containers' cpu requests in millicores; a container without one is named by `missingRequest`. */
  readonly requestMilli: number;
  readonly missingRequest?: string;
}

/** A pod's measured CPU, from the resource metrics API. */
export interface CpuSample {
  /** Millicores over the window. */
  readonly milli: number;
  /** The window's end, epoch ms. */
  readonly at: number;
  readonly windowMs: number;
}

/** What {@link cpuReplicas} computes from. */
export interface CpuReplicasInput {
  readonly currentReplicas: number;
  /** The target, in percent of the pods' requests. */
  readonly targetUtilization: number;
  readonly pods: readonly CpuPod[];
  /** Pod name → its CPU; pods without figures are missing. */
  readonly samples: ReadonlyMap<string, CpuSample>;
  /** Ratios within this distance of 1 keep the current count. */
  readonly tolerance: number;
  /** After a pod's start, samples taken before it was Ready for one window are ignored, in ms. */
  readonly cpuInitializationPeriodMs: number;
  /** A pod unready this soon after its start counts as never ready, in ms. */
  readonly initialReadinessDelayMs: number;
  readonly now: number;
}

/** The proposal: a replica count and the utilization it came from. */
export interface CpuProposal {
  readonly replicas: number;
  /** Percent of request, across the pods counted. */
  readonly utilization: number;
  /** Average millicores per pod counted. */
  readonly averageMilli: number;
}

/** The calculator's answer: a proposal, or why there is none (the controller's error text). */
export type CpuReplicas = CpuProposal | { readonly error: string };

/**
 * desired = ceil(ready pods × utilization / target) outside the tolerance; pending and
 * just-started unready pods are set aside, and pods without figures count as using their whole
 * request on a scale-down and nothing on a scale-up, so neither pushes the count further.
 */
export function cpuReplicas(input: CpuReplicasInput): CpuReplicas {
  if (input.pods.length === 0) return { error: 'no pods returned by selector while calculating replica count' };
  const unrequested = input.pods.find((p) => p.missingRequest !== undefined);
  if (unrequested) {
    return { error: `missing request for cpu in container ${unrequested.missingRequest} of Pod ${unrequested.name}` };
  }
  const requests = new Map(input.pods.map((p) => [p.name, p.requestMilli]));
  const groups = groupPods(
    input.pods.filter((p) => !p.deleting && p.phase !== 'Failed'),
    input,
  );
  const usage = new Map([...groups.ready].map((name) => [name, input.samples.get(name)!.milli]));
  if (usage.size === 0) return { error: 'did not receive metrics for targeted pods (pods might be unready)' };
  const first = utilizationOf(usage, requests, input.targetUtilization);
  if (first === undefined) return { error: 'no metrics returned matched known pods' };
  const proposal = (replicas: number): CpuProposal => ({
    replicas,
    utilization: first.utilization,
    averageMilli: first.averageMilli,
  });
  const rebalanceIgnored = groups.ignored.length > 0 && first.ratio > 1;
  if (!rebalanceIgnored && groups.missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= input.tolerance) return proposal(input.currentReplicas);
    return proposal(Math.ceil(first.ratio * groups.ready.size));
  }
  for (const name of groups.missing) {
    if (first.ratio < 1) usage.set(name, requests.get(name) ?? 0);
    else if (first.ratio > 1) usage.set(name, 0);
  }
  if (rebalanceIgnored) for (const name of groups.ignored) usage.set(name, 0);
  return proposal(
    rebalanced(input, first.ratio, utilizationOf(usage, requests, input.targetUtilization)!.ratio, usage.size),
  );
}

/**
 * The count from the ratio recomputed with missing and unready pods filled in: the current
 * count when that lands within the tolerance or turns the direction of the first ratio.
 */
function rebalanced(input: CpuReplicasInput, firstRatio: number, ratio: number, counted: number): number {
  const flips = (firstRatio < 1 && ratio > 1) || (firstRatio > 1 && ratio < 1);
  if (Math.abs(1 - ratio) <= input.tolerance || flips) return input.currentReplicas;
  const replicas = Math.ceil(ratio * counted);
  const against = (ratio < 1 && replicas > input.currentReplicas) || (ratio > 1 && replicas < input.currentReplicas);
  return against ? input.currentReplicas : replicas;
}

/** True when `result` is a proposal rather than an error. */
export function isProposal(result: CpuReplicas): result is CpuProposal {
  return !('error' in result);
}

function groupPods(
  pods: readonly CpuPod[],
  input: CpuReplicasInput,
): { ready: Set<string>; ignored: string[]; missing: string[] } {
  const ready = new Set<string>();
  const ignored: string[] = [];
  const missing: string[] = [];
  for (const pod of pods) {
    const sample = input.samples.get(pod.name);
    if (pod.phase === 'Pending') ignored.push(pod.name);
    else if (!sample) missing.push(pod.name);
    else if (isUnreadySample(pod, sample, input)) ignored.push(pod.name);
    else ready.add(pod.name);
  }
  return { ready, ignored, missing };
}

/** A sample of a pod not ready, or taken before a window had passed since it became ready, early in its life. */
function isUnreadySample(pod: CpuPod, sample: CpuSample, input: CpuReplicasInput): boolean {
  if (!pod.ready || pod.startedAt === undefined) return true;
  if (pod.startedAt + input.cpuInitializationPeriodMs > input.now) {
    return pod.ready.status === 'False' || sample.at < pod.ready.since + sample.windowMs;
  }
  return pod.ready.status === 'False' && pod.startedAt + input.initialReadinessDelayMs > pod.ready.since;
}

function utilizationOf(
  usage: ReadonlyMap<string, number>,
  requests: ReadonlyMap<string, number>,
  target: number,
): { ratio: number; utilization: number; averageMilli: number } | undefined {
  let used = 0;
  let requested = 0;
  let counted = 0;
  for (const [name, milli] of usage) {
    const request = requests.get(name);
    if (request === undefined) continue;
    used += milli;
    requested += request;
    counted++;
  }
  if (requested === 0) return undefined;
  const utilization = Math.trunc((used * 100) / requested);
  return { ratio: utilization / target, utilization, averageMilli: Math.trunc(used / counted) };
}
