import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { badRequest, methodNotAllowed, notFound } from '../errors.js';
import type { ResourceRoute } from '../http/router.js';
import { storageKey } from '../store/resource-catalog.js';
import type { ObjectStore } from '../store/store.js';
import type { KubeObject } from '../types.js';
import { proxyHttp } from './http-proxy.js';
import { forwardPorts, PORT_FORWARD_PROTOCOL } from './port-forward.js';
import { podProxyTarget, proxyName, serviceProxyTarget, type ProxyTarget } from './proxy-targets.js';
import type { SpdySession } from './spdy-session.js';
import { upgradeToSpdy, type Upgraded } from './spdy-upgrade.js';

export type { Upgraded };

/** Options of {@link ConnectSubresources}. */
export interface ConnectSubresourcesOptions {
  /** Where pods, Services and EndpointSlices are read. */
  readonly store: ObjectStore;
  /** Picks a Service's endpoint for `services/proxy`, in [0, 1). */
  readonly random: () => number;
}

const SLICES = storageKey({ group: 'discovery.k8s.io', plural: 'endpointslices' });
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** The connect subresources, by `<kind>/<subresource>` of the core group. */
const SERVED = new Set(['Pod/portforward', 'Pod/proxy', 'Pod/exec', 'Pod/attach', 'Service/proxy']);

/**
 * The API's "connect" subresources, where a request reaches into a pod rather than the store:
 * `pods/portforward` (SPDY/3.1, plain or tunnelled in a websocket), `pods/proxy` and
 * `services/proxy` (HTTP relayed to the pod's address). Pods here are processes on this machine
 * with loopback addresses, so the API server connects to them itself. `pods/exec` and
 * `pods/attach` are refused: there is no container to run a command in or attach to.
 */
export class ConnectSubresources {
  readonly #options: ConnectSubresourcesOptions;
  readonly #sessions = new Set<SpdySession>();
  #closed = false;

  constructor(options: ConnectSubresourcesOptions) {
    this.#options = options;
  }

  /** Whether `route` asks for one of the subresources served here. */
  static serves(route: ResourceRoute): boolean {
    return route.type.group === '' && SERVED.has(`${route.type.kind}/${route.subresource}`);
  }

  /**
   * Answers `route` (one {@link serves}): relays it, or switches `upgraded`'s socket to a port
   * forwarding session (then `res` stays unwritten, its status set to 101 for the request log).
   * @throws ApiError for an unknown object, a request that cannot be served, or exec/attach.
   */
  async serve(route: ResourceRoute, req: IncomingMessage, res: ServerResponse, upgraded?: Upgraded): Promise<void> {
    const namespace = route.namespace ?? '';
    const name = route.name ?? '';
    if (route.subresource === 'proxy') {
      const target = this.#proxyTarget(route);
      const url = new URL(req.url ?? '/', 'http://local');
      const path = (/\/[^/]+\/proxy(\/.*)?$/.exec(url.pathname)?.[1] ?? '/') + url.search;
      return proxyHttp(req, res, { target, path });
    }
    const pod = this.#options.store.get('/pods', namespace, name);
    if (!pod) throw notFound(route.type, name);
    if (route.subresource !== 'portforward') {
      throw methodNotAllowed(
        `${route.subresource} is not supported by the local control plane: pods are processes on this machine; ` +
          'use kubectl logs, kubectl port-forward or run the command yourself',
      );
    }
    const address = (pod.status as { podIP?: string } | undefined)?.podIP;
    if (!address) throw badRequest(`pod ${name} has no IP address yet: it is not running`);
    if (!upgraded) throw badRequest('Upgrade request required');
    if (this.#closed) throw new Error('the API server is shutting down');
    const transport = await upgradeToSpdy({ req, ...upgraded }, PORT_FORWARD_PROTOCOL);
    res.statusCode = 101;
    const session = forwardPorts(transport, { address, pod: `${namespace}/${name}`, uid: pod.metadata?.uid ?? '' });
    this.#sessions.add(session);
    transport.once('close', () => this.#sessions.delete(session));
  }

  /** Ends every port forwarding session. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#sessions].map((s) => s.close()));
  }

  #proxyTarget(route: ResourceRoute): ProxyTarget {
    const resource = route.type.kind === 'Pod' ? 'pod' : 'service';
    const namespace = route.namespace ?? '';
    const asked = proxyName(route.name ?? '', resource);
    const store = this.#options.store;
    const object = store.get(`/${route.type.plural}`, namespace, asked.name);
    if (!object) throw notFound(route.type, asked.name);
    if (resource === 'pod') return podProxyTarget(object, asked);
    const slices = store.list(SLICES, namespace).filter((s) => labelOf(s, SERVICE_NAME_LABEL) === asked.name);
    return serviceProxyTarget(object, slices, asked, this.#options.random);
  }
}

function labelOf(object: KubeObject, key: string): string | undefined {
  return object.metadata?.labels?.[key];
}

/**
 * A response written on an upgrade request's `socket`, so that the request is answered as any
 * other (a Status, an object) unless {@link ConnectSubresources.serve} takes the socket over.
 */
export function upgradeResponse(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  res.once('finish', () => socket.end());
  // A reset before the socket is taken over must not go unheard (an 'error' without listener throws).
  socket.on('error', () => socket.destroy());
  return res;
}
