import { createServer, type Server, type Socket } from 'node:net';
import type { KubeConfig, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { EventRecorder, type ResilientInformer } from '../../kube/controller-kit.js';
import { servicesInformer, slicesInformer } from './service-informers.js';
import { Lifecycle } from './lifecycle.js';
import { forward } from './proxy-connection.js';
import { proxyPlan, type ProxyRoute, type SkippedPort } from './service-proxy-plan.js';

/** Options of {@link ServiceProxy}. */
export interface ServiceProxyOptions {
  readonly kc: KubeConfig;
  /** Picks the endpoint of each new connection, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Told of informer restarts and failed Event writes. Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

/** Component name on the Events it records, as kube-proxy's. */
const COMPONENT = 'kube-proxy';

/** One virtual address being served. */
interface Listener {
  readonly server: Server;
  readonly service: string;
  /** Settles once the listen succeeded or failed. */
  bound: Promise<void>;
  /** The route's ready endpoints, replaced as the slices change. */
  backends: readonly string[];
}

/**
 * The accept queue of each Service listener (capped by the kernel's somaxconn). kube-proxy
 * forwards in the kernel (DNAT) and has no queue of its own; this proxy accepts in user space,
 * in the control plane's process, so its queue must not be what limits a burst of new
 * connections. With Node's default of 511, clients moving during a scale under load (2,000 users,
 * the control plane's event loop busy) overflowed it: the kernel dropped their handshakes'
 * last ACK and retried for seconds, past the client's 10 s move deadline.
 */
export const SERVICE_LISTEN_BACKLOG = 4096;

/**
 * The service proxy of the local control plane (a local kube-proxy): for every TCP port of
 * every ClusterIP Service it listens on `clusterIP:port` (a loopback address of the Service
 * range) and forwards each new connection to a ready endpoint of the Service's EndpointSlices
 * (see `forward`). Connections already open stay open when the endpoints change or the Service
 * goes, as conntrack keeps them; `close()` ends them. A port that cannot be bound, and a UDP or
 * SCTP port, get a Warning Event on the Service saying why and what to do; a port that failed
 * is tried again when its Service changes.
 */
export class ServiceProxy {
  readonly #random: () => number;
  readonly #events: EventRecorder;
  readonly #services: ResilientInformer<V1Service>;
  readonly #slices: ResilientInformer<V1EndpointSlice>;
  readonly #listeners = new Map<string, Listener>();
  readonly #sockets = new Set<Socket>();
  /** Per address that failed to bind, the resourceVersion of its Service then. */
  readonly #failed = new Map<string, string>();
  /** Skipped ports already reported: `service@resourceVersion:port`. */
  readonly #reported = new Set<string>();
  readonly #pending = new Set<Promise<void>>();
  #scheduled = false;
  readonly #lifecycle = new Lifecycle('ServiceProxy', { start: () => this.#start(), close: () => this.#close() });

  constructor(options: ServiceProxyOptions) {
    const { kc } = options;
    const onError = options.onError ?? (() => undefined);
    this.#random = options.random ?? Math.random;
    this.#events = new EventRecorder(kc, COMPONENT, onError);
    this.#services = servicesInformer({ kc, onError });
    this.#slices = slicesInformer({ kc, onError });
    for (const informer of [this.#services, this.#slices] as const) {
      for (const event of ['add', 'update', 'delete'] as const) informer.on(event, () => this.#schedule());
    }
  }

  /** Starts watching; resolves once the listeners of the Services present are bound (or failed). */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops watching, closes every listener and ends every forwarded connection. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    await Promise.all([this.#services.start(), this.#slices.start()]);
    this.#reconcile();
    await this.#settled();
  }

  async #close(): Promise<void> {
    await Promise.all([this.#services.close(), this.#slices.close()]);
    await this.#settled();
    const closed = [...this.#listeners.values()].map(closeListener);
    this.#listeners.clear();
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(closed);
  }

  async #settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /** Coalesces a burst of changes into one pass. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#reconcile();
    });
  }

  #reconcile(): void {
    if (this.#lifecycle.isClosed) return;
    const plan = proxyPlan(this.#services.list(), this.#slices.list());
    const wanted = new Map(plan.routes.map((r) => [r.address, r]));
    for (const [address, listener] of this.#listeners) {
      if (wanted.get(address)?.service === listener.service) continue;
      this.#listeners.delete(address);
      this.#track(closeListener(listener));
    }
    for (const route of plan.routes) {
      const listener = this.#listeners.get(route.address);
      if (listener) listener.backends = route.backends;
      else this.#open(route);
    }
    for (const skipped of plan.skipped) this.#reportSkipped(skipped);
  }

  #open(route: ProxyRoute): void {
    const service = this.#serviceOf(route.service);
    const version = service?.metadata?.resourceVersion ?? '';
    if (this.#failed.get(route.address) === version) return;
    this.#failed.delete(route.address);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
      const listener = this.#listeners.get(route.address);
      forward(client, { backends: listener?.backends ?? [], random: this.#random, sockets: this.#sockets });
      client.resume();
    });
    const listener: Listener = { server, service: route.service, backends: route.backends, bound: Promise.resolve() };
    this.#listeners.set(route.address, listener);
    listener.bound = new Promise<void>((resolve) => {
      server.once('error', (error: NodeJS.ErrnoException) => {
        if (this.#listeners.get(route.address) === listener) this.#listeners.delete(route.address);
        this.#failed.set(route.address, version);
        if (service) this.#warn(service, 'FailedToListen', bindFailure(route, error));
        resolve();
      });
      server.listen({ host: route.host, port: route.port, backlog: SERVICE_LISTEN_BACKLOG }, () => resolve());
    });
    this.#track(listener.bound);
  }

  #reportSkipped(skipped: SkippedPort): void {
    const service = this.#serviceOf(skipped.service);
    const key = `${skipped.service}@${service?.metadata?.resourceVersion ?? ''}:${skipped.port}`;
    if (!service || this.#reported.has(key)) return;
    this.#reported.add(key);
    const message =
      `port ${skipped.port}/${skipped.protocol} is not forwarded: the local control plane forwards TCP only; ` +
      'use a TCP port, or reach the pods by their own addresses';
    this.#warn(service, 'UnsupportedProtocol', message);
  }

  #warn(service: V1Service, reason: string, message: string): void {
    this.#track(
      this.#events.record(
        { apiVersion: 'v1', kind: 'Service', metadata: service.metadata },
        'Warning',
        reason,
        message,
      ),
    );
  }

  #serviceOf(key: string): V1Service | undefined {
    const [namespace = '', name = ''] = key.split('/');
    return this.#services.get(name, namespace);
  }

  #track(promise: Promise<void>): void {
    this.#pending.add(promise);
    void promise.finally(() => this.#pending.delete(promise));
  }
}

/** The Event message of a port that could not be bound: why, and what to do. */
function bindFailure(route: ProxyRoute, error: NodeJS.ErrnoException): string {
  const what = `cannot listen on ${route.address}`;
  switch (error.code) {
    case 'EACCES':
      return (
        `${what}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE); ` +
        'give the Service a port of 1024 or above, or run the local cluster with that privilege'
      );
    case 'EADDRINUSE':
      return (
        `${what}: address already in use by another process on this machine; ` +
        'stop that process, or give the Service another port'
      );
    default:
      return `${what}: ${error.message}`;
  }
}

/** Closes a listener once its listen has settled (a listen in progress would bind after a close). */
async function closeListener(listener: Listener): Promise<void> {
  await listener.bound;
  const { server } = listener;
  if (!server.listening) return;
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
