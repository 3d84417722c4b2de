/**
 * Pod status builders: the runner's view of its containers → the `status` it writes. Pure;
 * timestamps are RFC 3339 strings with seconds, as the API server writes them.
 */

/** How a run of a container ended (core/v1 ContainerStateTerminated). */
export interface TerminatedState {
  readonly exitCode: number;
  readonly signal?: number;
  /** `Completed` (exit 0) or `Error`. */
  readonly reason: string;
  readonly message?: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly containerID: string;
}

/** A container's current state: exactly one of the three. */
export type ContainerStateJson =
  | { readonly running: { readonly startedAt: string } }
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly terminated: TerminatedState };

/** What the runner knows of one container. */
export interface ContainerSnapshot {
  readonly name: string;
  readonly image: string;
  readonly state: ContainerStateJson;
  readonly lastTerminated?: TerminatedState;
  readonly restartCount: number;
  readonly ready: boolean;
  readonly started: boolean;
  readonly containerID?: string;
}

/** core/v1 PodCondition, as written. */
export interface PodConditionJson {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly lastProbeTime: null;
  readonly lastTransitionTime: string;
  readonly reason?: string;
}

/** core/v1 ContainerStatus, as written. */
export interface ContainerStatusJson {
  readonly name: string;
  readonly image: string;
  readonly imageID: string;
  readonly containerID?: string;
  readonly ready: boolean;
  readonly started: boolean;
  readonly restartCount: number;
  readonly state: ContainerStateJson;
  readonly lastState: { readonly terminated?: TerminatedState };
}

/** core/v1 PodStatus, the parts the runner writes. */
export interface PodStatusJson {
  readonly phase: PodPhase;
  readonly conditions: readonly PodConditionJson[];
  readonly hostIP: string;
  readonly hostIPs: readonly { readonly ip: string }[];
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  readonly startTime: string;
  readonly containerStatuses: readonly ContainerStatusJson[];
  readonly qosClass: 'BestEffort';
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** Everything {@link podStatus} needs. */
export interface PodStatusInput {
  readonly restartPolicy: RestartPolicy;
  readonly containers: readonly ContainerSnapshot[];
  readonly hostIP: string;
  readonly podIP: string | undefined;
  readonly startTime: string;
  /** Conditions last written, whose transition times are kept while their status holds. */
  readonly previous: readonly PodConditionJson[] | undefined;
  readonly now: string;
}

/** Condition types and reasons (pkg/kubelet/status). */
export const ContainersNotReady = 'ContainersNotReady';
export const PodCompleted = 'PodCompleted';

/** The pod status the kubelet would report. */
export function podStatus(input: PodStatusInput): PodStatusJson {
  const phase = podPhase(input.restartPolicy, input.containers);
  const allReady = input.containers.length > 0 && input.containers.every((c) => c.ready);
  const notReadyReason = phase === 'Succeeded' || phase === 'Failed' ? PodCompleted : ContainersNotReady;
  const condition = (type: string, status: boolean, reason?: string): PodConditionJson =>
    podCondition({ type, status, reason: status ? undefined : reason }, input);
  return {
    phase,
    conditions: [
      condition('Initialized', true),
      condition('Ready', allReady, notReadyReason),
      condition('ContainersReady', allReady, notReadyReason),
      condition('PodScheduled', true),
    ],
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    ...(input.podIP ? { podIP: input.podIP, podIPs: [{ ip: input.podIP }] } : {}),
    startTime: input.startTime,
    containerStatuses: input.containers.map(containerStatus),
    qosClass: 'BestEffort',
  };
}

/** The kubelet's getPhase (pkg/kubelet/kubelet_pods.go), without init containers. */
export function podPhase(restartPolicy: RestartPolicy, containers: readonly ContainerSnapshot[]): PodPhase {
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of containers) {
    if ('running' in c.state) running++;
    else if ('terminated' in c.state) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastTerminated) stopped++;
    else waiting++;
  }
  if (waiting > 0 || containers.length === 0) return 'Pending';
  if (running > 0) return 'Running';
  if (restartPolicy === 'Always') return 'Running';
  if (succeeded === stopped) return 'Succeeded';
  return restartPolicy === 'OnFailure' ? 'Running' : 'Failed';
}

/** Whether `status` must be written over `written` (key order aside). */
export function hasStatusChanged(status: PodStatusJson, written: PodStatusJson | undefined): boolean {
  return written === undefined || canonical(status) !== canonical(written);
}

/** RFC 3339 with seconds, as Kubernetes writes times. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The `imageID` reported for an image run locally. */
export function localImageID(image: string): string {
  return `local://${image}`;
}

function containerStatus(c: ContainerSnapshot): ContainerStatusJson {
  return {
    name: c.name,
    image: c.image,
    imageID: localImageID(c.image),
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
  };
}

function podCondition(
  init: { type: string; status: boolean; reason: string | undefined },
  input: PodStatusInput,
): PodConditionJson {
  const status = init.status ? 'True' : 'False';
  const before = input.previous?.find((c) => c.type === init.type);
  const lastTransitionTime = before?.status === status ? before.lastTransitionTime : input.now;
  return {
    type: init.type,
    status,
    lastProbeTime: null,
    lastTransitionTime,
    ...(init.reason ? { reason: init.reason } : {}),
  };
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
