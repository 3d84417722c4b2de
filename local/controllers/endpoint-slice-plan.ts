import type {
  V1Endpoint,
  DiscoveryV1EndpointPort,
  V1EndpointAddress,
  V1EndpointSlice,
  V1Endpoints,
  V1EndpointSubset,
  V1Pod,
  V1Service,
  V1ServicePort,
} from '@kubernetes/client-node';
import { matchesSelector } from './dns-records.js';

/**
 * The pure decisions of the endpoints controller (endpoints.ts does the I/O), after
 * kube-controller-manager's endpointslice controller: which pods are a Service's endpoints,
 * with which conditions and ports, grouped into EndpointSlices by their port numbers (a named
 * `targetPort` resolves per pod), and what to create, update and delete to get there.
 */

/** The label naming a slice's Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** The label naming the controller that keeps a slice. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** This controller's value of {@link MANAGED_BY_LABEL}, a cluster's. */
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
/** The label a cluster puts on the slices of a headless Service. */
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** The endpoints of one set of resolved ports: one slice's content. */
export interface EndpointGroup {
  readonly ports: DiscoveryV1EndpointPort[];
  readonly endpoints: V1Endpoint[];
}

/** What to write so that a Service's slices are the desired ones. */
export interface SlicePlan {
  readonly create: V1EndpointSlice[];
  readonly update: V1EndpointSlice[];
  /** Names of slices to delete. */
  readonly delete: string[];
}

/** Whether a Service has endpoints by selector (a non-empty selector). */
export function hasSelector(service: V1Service): boolean {
  return Object.keys(service.spec?.selector ?? {}).length > 0;
}

/**
 * The Service's endpoints grouped by resolved ports, sorted by address: every selected pod
 * with an IP that is not terminal, terminating ones included (`ready` false unless
 * `publishNotReadyAddresses`), as the endpointslice controller lists them. A Service with no
 * endpoints gets one empty group, the placeholder slice a cluster keeps.
 */
export function endpointGroups(service: V1Service, pods: readonly V1Pod[]): EndpointGroup[] {
  const selector = service.spec?.selector ?? {};
  const groups = new Map<string, EndpointGroup>();
  for (const pod of pods) {
    if (!isEndpointPod(pod) || !matchesSelector(selector, pod.metadata?.labels)) continue;
    const ports = (service.spec?.ports ?? []).map((p) => slicePort(p, pod));
    if (ports.some((p) => p === undefined)) continue;
    const key = JSON.stringify(ports);
    const group = groups.get(key) ?? { ports: ports as DiscoveryV1EndpointPort[], endpoints: [] };
    group.endpoints.push(endpointOf(pod, service.spec?.publishNotReadyAddresses === true));
    groups.set(key, group);
  }
  if (groups.size === 0) return [{ ports: [], endpoints: [] }];
  for (const group of groups.values()) group.endpoints.sort((a, b) => compare(a.addresses[0]!, b.addresses[0]!));
  return [...groups.values()];
}

/**
 * The writes that turn `existing` (the slices this controller keeps for the Service) into one
 * slice per group: a slice whose ports match a group keeps its name and is updated if its
 * content differs; groups left over are created (`generateName` `<svc>-`), slices left over
 * are deleted.
 */
export function planSlices(
  service: V1Service,
  groups: readonly EndpointGroup[],
  existing: V1EndpointSlice[],
): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const unmatched = [...existing];
  for (const group of groups) {
    const key = JSON.stringify(group.ports);
    const index = unmatched.findIndex((s) => JSON.stringify(s.ports ?? []) === key);
    const current = index < 0 ? undefined : unmatched.splice(index, 1)[0];
    const desired = desiredSlice(service, group, current);
    if (!current) plan.create.push(desired);
    else if (!sameSlice(current, desired)) plan.update.push(desired);
  }
  plan.delete.push(...unmatched.map((s) => s.metadata!.name!));
  return plan;
}

function desiredSlice(service: V1Service, group: EndpointGroup, current: V1EndpointSlice | undefined): V1EndpointSlice {
  const name = service.metadata!.name!;
  const labels: Record<string, string> = {
    ...service.metadata?.labels,
    [SERVICE_NAME_LABEL]: name,
    [MANAGED_BY_LABEL]: MANAGED_BY,
    ...(service.spec?.clusterIP === 'None' ? { [HEADLESS_LABEL]: '' } : {}),
  };
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      ...(current ? { name: current.metadata!.name!, resourceVersion: current.metadata?.resourceVersion } : {}),
      ...(current ? {} : { generateName: `${name}-` }),
      namespace: service.metadata?.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name,
          uid: service.metadata!.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: 'IPv4',
    endpoints: group.endpoints,
    ports: group.ports,
  };
}

/** Same labels, owner, endpoints and ports (what this controller writes). */
function sameSlice(current: V1EndpointSlice, desired: V1EndpointSlice): boolean {
  const view = (s: V1EndpointSlice): string =>
    JSON.stringify([
      s.metadata?.labels ?? {},
      s.metadata?.ownerReferences?.map((o) => o.uid) ?? [],
      s.endpoints ?? [],
      s.ports ?? [],
    ]);
  return view(current) === view(desired);
}

/** endpointutil.ShouldPodBeInEndpoints with terminating pods included. */
function isEndpointPod(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return Boolean(pod.status?.podIP) && phase !== 'Succeeded' && phase !== 'Failed';
}

function endpointOf(pod: V1Pod, publishNotReady: boolean): V1Endpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata?.deletionTimestamp !== undefined;
  return {
    addresses: [pod.status!.podIP!],
    conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
  };
}

/** Whether the pod's Ready condition is True. */
export function isPodReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The slice port of a Service port for one pod; undefined when a named targetPort is not among its ports. */
function slicePort(port: V1ServicePort, pod: V1Pod): DiscoveryV1EndpointPort | undefined {
  const number = targetPortOf(port, pod);
  if (number === undefined) return undefined;
  return { name: port.name ?? '', port: number, protocol: port.protocol ?? 'TCP' };
}

/** podutil.FindPort: a number as is, a name looked up in the pod's container ports (same protocol). */
export function targetPortOf(port: V1ServicePort, pod: V1Pod): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  const asNumber = Number(target);
  if (/^\d+$/.test(target)) return asNumber;
  const protocol = port.protocol ?? 'TCP';
  for (const container of pod.spec?.containers ?? []) {
    const found = container.ports?.find((p) => p.name === target && (p.protocol ?? 'TCP') === protocol);
    if (found) return found.containerPort;
  }
  return undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The core/v1 Endpoints of a Service (what `kubectl describe svc` reads), from its slices'
 * groups as the endpoints controller builds it: ready endpoints under `addresses`, the others
 * under `notReadyAddresses`, terminating ones left out (unless `publishNotReadyAddresses`).
 */
export function desiredEndpoints(service: V1Service, groups: readonly EndpointGroup[]): V1Endpoints {
  const subsets: V1EndpointSubset[] = [];
  for (const group of groups) {
    const kept = group.endpoints.filter((e) => e.conditions?.ready || !e.conditions?.terminating);
    if (kept.length === 0) continue;
    const address = (e: V1Endpoint): V1EndpointAddress => ({
      ip: e.addresses[0]!,
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.targetRef ? { targetRef: e.targetRef } : {}),
    });
    const ready = kept.filter((e) => e.conditions?.ready).map(address);
    const notReady = kept.filter((e) => !e.conditions?.ready).map(address);
    subsets.push({
      ...(ready.length > 0 ? { addresses: ready } : {}),
      ...(notReady.length > 0 ? { notReadyAddresses: notReady } : {}),
      ports: group.ports.map((p) => ({ name: p.name, port: p.port!, protocol: p.protocol })),
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: service.metadata!.name!,
      namespace: service.metadata?.namespace,
      labels: { ...service.metadata?.labels },
    },
    ...(subsets.length > 0 ? { subsets } : {}),
  };
}

/** Same labels and subsets. */
export function sameEndpoints(current: V1Endpoints, desired: V1Endpoints): boolean {
  const view = (e: V1Endpoints): string => JSON.stringify([e.metadata?.labels ?? {}, e.subsets ?? []]);
  return view(current) === view(desired);
}
