import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { SERVICE_NAME_LABEL } from './endpoint-slice-plan.js';

/**
 * The pure part of the service proxy (service-proxy.ts holds the sockets), after kube-proxy:
 * which virtual addresses to listen on (`clusterIP:port` of every TCP port of every ClusterIP
 * Service) and the ready endpoints each forwards to, from Services and their EndpointSlices.
 */

/** One virtual address and where its connections go. */
export interface ProxyRoute {
  /** `clusterIP:port`: the listener's key. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** `namespace/name` of the Service. */
  readonly service: string;
  /** Ready endpoints, `ip:port`, sorted. */
  readonly backends: readonly string[];
}

/** A Service port the proxy does not forward. */
export interface SkippedPort {
  readonly service: string;
  readonly port: number;
  readonly protocol: string;
}

/** The routes of the cluster, and the ports left out (not TCP). */
export interface ProxyPlan {
  readonly routes: ProxyRoute[];
  readonly skipped: SkippedPort[];
}

/**
 * Routes for every ClusterIP Service with an address: one per TCP port, its backends the
 * endpoints with `conditions.ready` in the Service's slices (matched by port name) — as
 * kube-proxy, which forwards to ready endpoints only, and to serving terminating ones only
 * when none is ready (not done here).
 */
export function proxyPlan(services: readonly V1Service[], slices: readonly V1EndpointSlice[]): ProxyPlan {
  const plan: ProxyPlan = { routes: [], skipped: [] };
  const byService = slicesByService(slices);
  for (const service of services) {
    const host = virtualAddressOf(service);
    if (host === undefined) continue;
    const key = `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
    for (const port of service.spec?.ports ?? []) {
      const protocol = port.protocol ?? 'TCP';
      if (protocol !== 'TCP') {
        plan.skipped.push({ service: key, port: port.port, protocol });
        continue;
      }
      const backends = readyBackends(byService.get(key) ?? [], port.name ?? '');
      plan.routes.push({ address: `${host}:${port.port}`, host, port: port.port, service: key, backends });
    }
  }
  return plan;
}

/** The clusterIP of a ClusterIP Service that has one (not headless). */
function virtualAddressOf(service: V1Service): string | undefined {
  const host = service.spec?.clusterIP;
  const type = service.spec?.type ?? 'ClusterIP';
  return host && host !== 'None' && type === 'ClusterIP' ? host : undefined;
}

function slicesByService(slices: readonly V1EndpointSlice[]): Map<string, V1EndpointSlice[]> {
  const groups = new Map<string, V1EndpointSlice[]>();
  for (const slice of slices) {
    const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
    if (!name) continue;
    const key = `${slice.metadata?.namespace ?? ''}/${name}`;
    groups.set(key, [...(groups.get(key) ?? []), slice]);
  }
  return groups;
}

function readyBackends(slices: readonly V1EndpointSlice[], portName: string): string[] {
  const backends = new Set<string>();
  for (const slice of slices) {
    const port = slice.ports?.find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP')?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready !== true) continue;
      for (const address of endpoint.addresses) backends.add(`${address}:${port}`);
    }
  }
  return [...backends].sort();
}
