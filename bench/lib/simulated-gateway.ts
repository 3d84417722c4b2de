/**
 * A simulated gateway for the growth bench: what a gateway pod does towards the API server and
 * the operator, without websockets or gRPC. It runs the real ring watcher (an informer on the
 * ring ConfigMap, as every runtime) and the real Lease reporter (component gateway, 0
 * connections, 0 misplaced), so it acknowledges each ring version exactly as a gateway does;
 * stopping it does what a gateway with no connection left does on SIGTERM (cli/gateway.ts):
 * the Lease says draining at once, then is deleted, then the watch stops.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { LeaseReporter, type GatewayStats } from '../../runtime/lease-reporter.js';
import { RingWatcher } from '../../runtime/ring-watcher.js';

/** Who the simulated gateway is (what a gateway reads from its pod's env) and its Lease periods. */
export interface SimulatedGatewayOptions {
  /** The client the gateway's requests go through (its user agent names the writer). */
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** The IMGateway served (`IMRING_GATEWAY`). */
  readonly gateway: string;
  /** The pod's name (`POD_NAME`): the Lease holder and the member name. */
  readonly pod: string;
  /** Lease renew period, s (`--lease-renew-period`). */
  readonly renewSeconds: number;
  /** Lease duration, whole s (`--lease-duration`). */
  readonly durationSeconds: number;
}

/** One simulated gateway: ring watcher + Lease reporter. */
export class SimulatedGateway {
  readonly #watcher: RingWatcher;
  readonly #lease: LeaseReporter;
  #draining = false;
  #stopping: Promise<void> | undefined;

  constructor(options: SimulatedGatewayOptions) {
    const { kc, namespace, gateway, pod } = options;
    this.#watcher = new RingWatcher({ kc, namespace, gateway });
    this.#lease = new LeaseReporter({
      kc,
      namespace,
      gateway,
      component: 'gateway',
      pod,
      ringSource: this.#watcher,
      renewSeconds: options.renewSeconds,
      durationSeconds: options.durationSeconds,
      stats: (): GatewayStats => ({ connections: 0, misplaced: 0, draining: this.#draining }),
    });
  }

  /** Ready as a gateway is (`/readyz`): with a ring loaded, until it drains. */
  ready(): boolean {
    return !this.#draining && this.#watcher.current() !== undefined;
  }

  /** The ring version served, if any. */
  version(): number | undefined {
    return this.#watcher.current()?.version;
  }

  /** Calls `listener` whenever the served ring changes; returns its remover. */
  onRingChange(listener: () => void): () => void {
    return this.#watcher.onChange(listener);
  }

  /** As `runRuntimeCommand`: the watcher's first list, then the Lease. */
  async start(): Promise<void> {
    await this.#watcher.start();
    if (this.#stopping === undefined) await this.#lease.start();
  }

  /**
   * The gateway's SIGTERM with no connection left: Lease marked draining at once (the operator
   * takes the member out of the ring), then deleted, then the ring watch closed. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#draining = true;
      await this.#lease.flush();
      await this.#lease.close();
      await this.#watcher.close();
    })();
    return this.#stopping;
  }
}
