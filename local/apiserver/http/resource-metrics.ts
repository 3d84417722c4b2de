/**
 * The resource metrics API (`metrics.k8s.io/v1beta1`, what metrics-server serves through the
 * aggregator): NodeMetrics `nodes` and PodMetrics `pods`, get and list, with label and field
 * selectors. The figures come from the kubelet's collector ({@link ResourceMetricsSource}).
 */
import { ApiError, methodNotAllowed } from '../errors.js';
import { timestamp } from '../store/metadata.js';
import { matchesFields, parseFieldSelector } from '../store/field-selectors.js';
import { matchesLabels, parseLabelSelector } from '../store/selectors.js';
import type { ObjectStore } from '../store/store.js';
import type { KubeObject, ResourceType } from '../types.js';
import type { ResourceRoute } from './router.js';

/** One container's usage over the last window. */
export interface ContainerUsage {
  readonly name: string;
  /** CPU, in billionths of a core. */
  readonly cpuNanoCores: number;
  /** Memory in use (the working set), in bytes. */
  readonly memoryBytes: number;
}

/** One pod's usage: its running containers'. */
export interface PodUsage {
  readonly namespace: string;
  readonly name: string;
  /** The node it runs on. */
  readonly node: string;
  readonly containers: readonly ContainerUsage[];
}

/** The usage of every measured pod over one window, which ended at `timestamp`. */
export interface ResourceMetricsSnapshot {
  readonly timestamp: Date;
  readonly windowMs: number;
  readonly pods: readonly PodUsage[];
}

/** What serves resource metrics (a kubelet's part): the last snapshot, undefined before the first window ends. */
export type ResourceMetricsSource = () => ResourceMetricsSnapshot | undefined;

const GROUP = 'metrics.k8s.io';
const VERSION = 'v1beta1';

function metricsType(kind: string, plural: string, namespaced: boolean): ResourceType {
  return {
    group: GROUP,
    version: VERSION,
    kind,
    listKind: `${kind}List`,
    plural,
    // metrics-server registers these without a singular name.
    singular: '',
    shortNames: [],
    categories: [],
    namespaced,
    verbs: ['get', 'list'],
    statusSubresource: false,
    printerColumns: [],
    custom: false,
  };
}

/** The served metrics resources, for the catalog (and so discovery). */
export const RESOURCE_METRICS_TYPES: readonly ResourceType[] = [
  metricsType('NodeMetrics', 'nodes', false),
  metricsType('PodMetrics', 'pods', true),
];

/** A request for resource metrics. */
export function isResourceMetrics(route: ResourceRoute): boolean {
  return route.type.group === GROUP && !route.type.custom;
}

/** What {@link resourceMetrics} reads. */
export interface MetricsContext {
  readonly store: ObjectStore;
  readonly source: ResourceMetricsSource | undefined;
}

/**
 * Answers a resource metrics request: a PodMetrics/NodeMetrics, or a list of those matching the
 * query's selectors (objects without figures are left out of lists, as metrics-server does).
 * Refuses other verbs with 405 and an object without figures with 404.
 */
export function resourceMetrics(route: ResourceRoute, query: URLSearchParams, ctx: MetricsContext): KubeObject {
  if (route.verb !== 'get' && route.verb !== 'list') {
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  }
  if (route.subresource !== undefined) throw notFoundMetrics(route, `${route.name}/${route.subresource}`);
  const snapshot = ctx.source?.();
  const all = route.type.kind === 'PodMetrics' ? podMetrics(snapshot, ctx.store) : nodeMetrics(snapshot, ctx.store);
  const inScope = all.filter((o) => route.namespace === undefined || o.metadata?.namespace === route.namespace);
  if (route.verb === 'get') {
    const found = inScope.find((o) => o.metadata?.name === route.name);
    if (!found) throw notFoundMetrics(route, route.namespace ? `${route.namespace}/${route.name}` : route.name!);
    return found;
  }
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '', route.type);
  return {
    kind: route.type.listKind,
    apiVersion: `${GROUP}/${VERSION}`,
    metadata: {},
    items: inScope.filter((o) => matchesLabels(labels, o.metadata?.labels) && matchesFields(fields, o)),
  };
}

/** metrics-server's not-found: `podmetrics.metrics.k8s.io "ns/name" not found`. */
function notFoundMetrics(route: ResourceRoute, name: string): ApiError {
  const resource = `${route.type.kind.toLowerCase()}.${GROUP}`;
  return new ApiError(404, 'NotFound', `${resource} "${name}" not found`, {
    name,
    group: GROUP,
    kind: route.type.kind.toLowerCase(),
  });
}

/** PodMetrics of the measured pods that still exist, labelled as their pods. */
function podMetrics(snapshot: ResourceMetricsSnapshot | undefined, store: ObjectStore): KubeObject[] {
  if (!snapshot) return [];
  return snapshot.pods.flatMap((usage) => {
    const pod = store.get('/pods', usage.namespace, usage.name);
    if (!pod) return [];
    return [
      {
        kind: 'PodMetrics',
        apiVersion: `${GROUP}/${VERSION}`,
        metadata: metricsMeta(pod, snapshot.timestamp, usage.namespace),
        ...window(snapshot),
        containers: usage.containers.map((c) => ({
          name: c.name,
          usage: { cpu: cpuQuantity(c.cpuNanoCores), memory: memoryQuantity(c.memoryBytes) },
        })),
      },
    ];
  });
}

/**
 * NodeMetrics of every node: the sum of the pods measured on it (the nodes of a local cluster
 * all share this machine, whose own usage would be counted once per node).
 */
function nodeMetrics(snapshot: ResourceMetricsSnapshot | undefined, store: ObjectStore): KubeObject[] {
  if (!snapshot) return [];
  return store.list('/nodes').map((node) => {
    const name = node.metadata!.name!;
    const containers = snapshot.pods.filter((p) => p.node === name).flatMap((p) => p.containers);
    return {
      kind: 'NodeMetrics',
      apiVersion: `${GROUP}/${VERSION}`,
      metadata: metricsMeta(node, snapshot.timestamp, undefined),
      ...window(snapshot),
      usage: {
        cpu: cpuQuantity(containers.reduce((s, c) => s + c.cpuNanoCores, 0)),
        memory: memoryQuantity(containers.reduce((s, c) => s + c.memoryBytes, 0)),
      },
    };
  });
}

function metricsMeta(of: KubeObject, at: Date, namespace: string | undefined): Record<string, unknown> {
  return {
    name: of.metadata!.name!,
    ...(namespace === undefined ? {} : { namespace }),
    creationTimestamp: timestamp(at),
    ...(of.metadata?.labels ? { labels: of.metadata.labels } : {}),
  };
}

function window(snapshot: ResourceMetricsSnapshot): { timestamp: string; window: string } {
  return { timestamp: timestamp(snapshot.timestamp), window: goDuration(snapshot.windowMs) };
}

/** A CPU quantity in canonical form (`250m`, `1`, `1234567n`), as metrics-server's nanocore quantities print. */
export function cpuQuantity(nanoCores: number): string {
  let value = Math.max(0, Math.round(nanoCores));
  if (value === 0) return '0';
  for (const suffix of ['n', 'u', 'm']) {
    if (value % 1000 !== 0) return `${value}${suffix}`;
    value /= 1000;
  }
  return String(value);
}

/** A memory quantity in canonical binary form (`123Ki`, `5Mi`, or bytes). */
export function memoryQuantity(bytes: number): string {
  let value = Math.max(0, Math.round(bytes));
  if (value === 0) return '0';
  let unit = '';
  for (const next of ['Ki', 'Mi', 'Gi', 'Ti']) {
    if (value % 1024 !== 0) break;
    value /= 1024;
    unit = next;
  }
  return `${value}${unit}`;
}

/** A duration as Go's time.Duration prints it (`500ms`, `15s`, `15.2s`, `1m0s`). */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}
