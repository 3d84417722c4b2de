import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseRfc3339Nanos } from '../../../kube/nano-clock.js';
import { badRequest, notFound } from '../errors.js';
import type { ObjectStore } from '../store/store.js';
import type { KubeObject } from '../types.js';
import type { ResourceRoute } from './router.js';

/** A request for a pod container's log (the query of `GET …/pods/{name}/log`), validated. */
export interface PodLogOptions {
  /** The container: as asked, or the pod's only one. */
  readonly container: string;
  /** Keep streaming new output until the container stops or the client goes away. */
  readonly follow: boolean;
  /** The run before the current one. */
  readonly previous: boolean;
  /** Prefix each line with when it was written (RFC 3339, nine fractional digits). */
  readonly timestamps: boolean;
  /** Only what was written at or after this time, in ms since the epoch (from `sinceSeconds` or `sinceTime`). */
  readonly sinceMs?: number;
  /** Only the last lines. */
  readonly tailLines?: number;
  /** At most this many bytes. */
  readonly limitBytes?: number;
}

/**
 * What serves the `pods/log` subresource (a kubelet's part): a stream of the log, or undefined
 * when the container has none (not started yet; no previous run).
 */
export type PodLogSource = (namespace: string, pod: string, options: PodLogOptions) => Promise<Readable | undefined>;

/** `GET …/pods/{name}/log`. */
export function isPodLog(route: ResourceRoute): boolean {
  return route.subresource === 'log' && route.verb === 'get' && route.type.group === '' && route.type.kind === 'Pod';
}

/**
 * Answers `GET …/pods/{name}/log` from `source`, as the API server relays a kubelet's: 404 for an
 * unknown pod, 400 for a bad query or a container with no log (or no source), else the log.
 */
export async function servePodLog(
  route: ResourceRoute,
  query: URLSearchParams,
  res: ServerResponse,
  from: { store: ObjectStore; source: PodLogSource | undefined },
): Promise<void> {
  const namespace = route.namespace ?? '';
  const name = route.name ?? '';
  const pod = from.store.get('/pods', namespace, name);
  if (!pod) throw notFound(route.type, name);
  const options = podLogOptions(pod, query);
  const stream = await from.source?.(namespace, name, options);
  if (!stream) {
    throw badRequest(
      options.previous
        ? `previous terminated container "${options.container}" in pod "${name}" not found`
        : `container "${options.container}" in pod "${name}" is waiting to start: ContainerCreating`,
    );
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.flushHeaders();
  // A client that goes away ends the pipeline early: that is how a follow ends, not an error.
  await pipeline(stream, res).catch(() => undefined);
}

/** The validated log options of a request for `pod`'s log, as the API server checks them. */
function podLogOptions(pod: KubeObject, query: URLSearchParams): PodLogOptions {
  const name = pod.metadata?.name ?? '';
  const containers = ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? []).map(
    (c) => c.name,
  );
  const asked = query.get('container');
  if (asked === null && containers.length !== 1)
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
  const container = asked ?? containers[0]!;
  if (!containers.includes(container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  const flag = (key: string): boolean => query.get(key) === 'true' || query.get(key) === '1';
  const count = (key: string, min: number): number | undefined => {
    const text = query.get(key);
    if (text === null) return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min)
      throw badRequest(`${key} must be an integer greater than or equal to ${min}, got ${text}`);
    return value;
  };
  const tailLines = count('tailLines', 0);
  const limitBytes = count('limitBytes', 1);
  const sinceMs = sinceOf(query, count('sinceSeconds', 1));
  return {
    container,
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(sinceMs !== undefined ? { sinceMs } : {}),
  };
}

/** The time `sinceTime` names, or `sinceSeconds` before now, in ms since the epoch; at most one may be given. */
function sinceOf(query: URLSearchParams, sinceSeconds: number | undefined): number | undefined {
  const sinceTime = query.get('sinceTime');
  if (sinceTime === null) return sinceSeconds === undefined ? undefined : Date.now() - sinceSeconds * 1000;
  if (sinceSeconds !== undefined) throw badRequest('at most one of `sinceTime` or `sinceSeconds` may be specified');
  const nanos = parseRfc3339Nanos(sinceTime);
  if (nanos === undefined) throw badRequest(`sinceTime must be an RFC 3339 time, got ${sinceTime}`);
  return Number(nanos / 1_000_000n);
}
