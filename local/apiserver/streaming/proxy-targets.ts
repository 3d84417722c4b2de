import { ApiError, badRequest } from '../errors.js';
import type { KubeObject } from '../types.js';

/**
 * Where the `pods/proxy` and `services/proxy` subresources send a request, from the object
 * named `[scheme:]name[:port]` (no I/O): a pod's address and port, or one ready endpoint of a
 * Service picked at random among its EndpointSlices, as the API server resolves them.
 */

/** An HTTP(S) server a proxied request goes to. */
export interface ProxyTarget {
  readonly scheme: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

/** The parts of a proxy subresource's object name. */
export interface ProxyName {
  readonly scheme: 'http' | 'https';
  readonly name: string;
  /** A port name or number; empty when not given. */
  readonly port: string;
}

/**
 * Splits `[scheme:]name[:port]` (scheme `http` or `https`, default `http`).
 * @throws ApiError 400 for anything else.
 */
export function proxyName(id: string, resource: 'pod' | 'service'): ProxyName {
  const parts = id.split(':');
  const [scheme, name, port] =
    parts.length === 1 ? ['', id, ''] : parts.length === 2 ? ['', parts[0]!, parts[1]!] : parts;
  if (parts.length > 3 || !name || (scheme !== '' && scheme !== 'http' && scheme !== 'https'))
    throw badRequest(`invalid ${resource} request ${JSON.stringify(id)}`);
  return { scheme: scheme === 'https' ? 'https' : 'http', name, port: port ?? '' };
}

interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
}

/**
 * Where a request to pod `pod` goes: its address, on the port asked for (a number, or the name
 * of a container port), else its first container port, else the scheme's default.
 * @throws ApiError 400 for a port name no container declares, 503 for a pod without an address.
 */
export function podProxyTarget(pod: KubeObject, asked: ProxyName): ProxyTarget {
  const status = pod.status as { podIP?: string } | undefined;
  const containers = (pod.spec as { containers?: { ports?: ContainerPort[] }[] } | undefined)?.containers ?? [];
  const ports = containers.flatMap((c) => c.ports ?? []);
  let port = /^\d+$/.test(asked.port) ? Number(asked.port) : undefined;
  if (asked.port !== '' && port === undefined) {
    port = ports.find((p) => p.name === asked.port)?.containerPort;
    if (port === undefined) throw badRequest(`pod ${asked.name} has no container port named ${asked.port}`);
  }
  port ??= ports[0]?.containerPort ?? (asked.scheme === 'https' ? 443 : 80);
  if (!status?.podIP) throw unavailable(`pod ${asked.name} has no IP address yet`);
  return { scheme: asked.scheme, host: status.podIP, port };
}

interface ServicePort {
  readonly name?: string;
  readonly port: number;
}

/** An endpoint whose readiness is unknown counts as ready (discovery/v1 EndpointConditions). */
interface SliceEndpoint {
  readonly addresses?: readonly string[];
  readonly conditions?: { readonly ready?: boolean };
}

/**
 * Where a request to `service` goes: a ready endpoint, picked with `random` (in [0, 1)), of the
 * Service port asked for (by name, or by number mapped to its name), on the port its slices give.
 * @throws ApiError 503 when the Service has no such port or no ready endpoint for it.
 */
export function serviceProxyTarget(
  service: KubeObject,
  slices: readonly KubeObject[],
  asked: ProxyName,
  random: () => number,
): ProxyTarget {
  let portName = asked.port;
  if (/^\d+$/.test(asked.port)) {
    const ports = (service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? [];
    const port = ports.find((p) => p.port === Number(asked.port));
    if (!port) throw unavailable(`no service port ${asked.port} found for service ${JSON.stringify(asked.name)}`);
    portName = port.name ?? '';
  }
  const candidates = slices.flatMap((slice) => readyEndpoints(slice, portName, asked.scheme));
  const picked = candidates[Math.floor(random() * candidates.length)];
  if (!picked) throw unavailable(`no endpoints available for service ${JSON.stringify(asked.name)}`);
  return picked;
}

/** A 503 ServiceUnavailable, as the API server answers a proxy request it cannot place. */
export function unavailable(message: string): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}

/** The ready endpoints of `slice` on its port named `portName` (none when it has no such port). */
function readyEndpoints(slice: KubeObject, portName: string, scheme: ProxyTarget['scheme']): ProxyTarget[] {
  const ports = (slice.ports as { name?: string; port?: number }[] | undefined) ?? [];
  const port = ports.find((p) => (p.name ?? '') === portName)?.port;
  if (port === undefined) return [];
  return ((slice.endpoints as SliceEndpoint[] | undefined) ?? [])
    .filter((endpoint) => endpoint.conditions?.ready !== false)
    .flatMap((endpoint) => (endpoint.addresses ?? []).map((host) => ({ scheme, host, port })));
}
