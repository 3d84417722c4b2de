import { CloseCodes, DEFAULT_POLICY, type Ring, type RingPolicy } from '../../ring/index.js';
import type { DeliverRequest, DeliverResponse, KickRequest, KickResponse, OnlineRequest, OnlineResponse } from '../protos.js';
import { verifyClientToken } from '../client-token.js';
import { ConnectionRegistry, type ClientConnection } from './connections.js';
import { deliverBatch, type DeliveryTally } from './deliver.js';
import { gatewayImplementation, startGrpcServer, type GrpcServer } from './grpc-service.js';
import { gatewayMetrics } from './metrics.js';
import { PacedCloser, usersToMigrate } from './migration.js';
import { resolveGatewayOptions, type GatewayOptions, type ResolvedGatewayOptions } from './options.js';
import { startWsServer } from './ws-server.js';

export { DEFAULTS, type GatewayOptions, type Timers } from './options.js';

/**
 * Close code of `Kick`: 1000 (normal closure, reason `kicked`). Not 4001/4002, which tell the
 * client SDK to reconnect at once, and not 4003, which means "replaced by your newer
 * connection"; a kicked client should not come straight back.
 */
export const KICK_CLOSE_CODE = 1000;

/** A running gateway (DESIGN.md section 6). */
export interface Gateway {
  /** The bound ws and gRPC ports. */
  readonly ports: { ws: number; grpc: number };
  /** Open connections, and those of users this gateway does not own in the served ring. */
  stats(): { connections: number; misplaced: number };
  /** True with a ring loaded, until drain() or close(). */
  ready(): boolean;
  /**
   * The SIGTERM path: ready() turns false, new upgrades get 503, every connection is closed
   * with 4002 at `shutdownCloseRatePerSecond`; resolves when no socket is left.
   */
  drain(): Promise<void>;
  /** Stops both servers at once (remaining sockets are terminated). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the gateway: the client websocket server (`GET /ws`) and the gRPC
 * `imring.gateway.v1.Gateway` service, following `options.ringSource`: misplaced connections
 * are counted on every ring, and migrated (closed 4001, paced) once a ring is Committed.
 *
 * Auth failures are answered after the upgrade with close code 4401 (a browser cannot read
 * the status of a refused upgrade); only a missing userID/platform (400), a wrong path (404)
 * and a full or draining gateway (503) are refused before it.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const o = resolveGatewayOptions(options);
  const core = new GatewayCore(o);
  const ws = await startWsServer({
    host: o.host,
    port: o.ports.ws,
    maxPayloadBytes: o.maxPayloadBytes,
    maxSendBufferBytes: o.maxSendBufferBytes,
    pingIntervalMs: o.pingIntervalMs,
    closeTimeoutMs: o.closeTimeoutMs,
    registry: core.registry,
    logger: o.logger,
    admits: (open) => core.admits(open),
    authenticate: (token, userID) => verifyClientToken(token, userID, o.tokenKey),
    onConnection: (connection) => core.accept(connection),
    onClose: (code) => core.metrics.closes.inc({ code: String(code) }),
    onAuthFailure: (reason) => core.metrics.authFailures.inc({ reason }),
    onSocketClosed: () => core.checkDrained(ws.sockets),
  });
  let grpc: GrpcServer;
  try {
    grpc = await startGrpcServer({ host: o.host, port: o.ports.grpc, implementation: gatewayImplementation(core, o.logger) });
  } catch (error) {
    await ws.close();
    throw new Error(`while binding the gateway gRPC port ${o.ports.grpc}`, { cause: error });
  }
  core.follow();
  o.logger.info({ ports: { ws: ws.port, grpc: grpc.port }, self: o.self }, 'gateway listening');
  let closing: Promise<void> | undefined;
  return {
    ports: { ws: ws.port, grpc: grpc.port },
    stats: () => core.stats(),
    ready: () => core.ready(),
    drain: () => core.drain(ws.sockets),
    close() {
      closing ??= (async () => {
        core.stop();
        await ws.close();
        await grpc.close();
        core.checkDrained(0);
      })();
      return closing;
    },
  };
}

/** The gateway's state and decisions, between the two servers. */
class GatewayCore {
  readonly registry: ConnectionRegistry;
  readonly metrics: ReturnType<typeof gatewayMetrics>;
  readonly #o: ResolvedGatewayOptions;
  readonly #migrator: PacedCloser;
  readonly #drainer: PacedCloser;
  #unsubscribe: (() => void) | undefined;
  #draining: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  #stopped = false;

  constructor(o: ResolvedGatewayOptions) {
    this.#o = o;
    this.registry = new ConnectionRegistry(o.self, o.ringSource.current());
    this.metrics = gatewayMetrics(o.registry, () => this.stats());
    const pacing = { timers: o.timers, now: o.now, random: o.random };
    this.#migrator = new PacedCloser({ ...pacing, close: (userID) => this.#migrate(userID) });
    this.#drainer = new PacedCloser({ ...pacing, close: (userID) => this.registry.closeUser(userID, CloseCodes.shuttingDown, 'shutting down') });
  }

  /** Subscribes to ring changes and acts on the ring served now. */
  follow(): void {
    this.#unsubscribe = this.#o.ringSource.onChange((ring) => this.#onRing(ring));
    const ring = this.#o.ringSource.current();
    if (ring) this.#onRing(ring);
  }

  stats(): { connections: number; misplaced: number } {
    return { connections: this.registry.size, misplaced: this.registry.misplaced };
  }

  ready(): boolean {
    return !this.#stopped && this.#draining === undefined && this.#o.ringSource.current() !== undefined;
  }

  admits(open: number): boolean {
    return !this.#stopped && this.#draining === undefined && open < this.#o.maxConnections;
  }

  /** Registers an authenticated connection (replacing the user's one on the same platform). */
  accept(connection: ClientConnection): void {
    if (this.#stopped || this.#draining !== undefined) {
      connection.close(CloseCodes.shuttingDown, 'shutting down');
      return;
    }
    this.registry.add(connection)?.close(CloseCodes.replaced, 'replaced');
    // Routed here by a proxy a ring behind: once committed it must move too, or misplaced never reaches 0.
    if (this.#o.ringSource.current()?.state === 'Committed' && !this.registry.isOwned(connection.userID)) {
      this.#migrator.add(connection.userID);
    }
  }

  deliver(request: DeliverRequest): DeliverResponse {
    const ring = this.#o.ringSource.current();
    const tally: DeliveryTally = { delivered: 0, notHere: 0, migrated: 0 };
    const response = deliverBatch(request, { registry: this.registry, nowMs: this.#o.now(), handoffWindowMs: policyOf(ring).handoffWindowMs, ringVersion: ring?.version ?? 0, tally });
    const { deliveries } = this.metrics;
    if (tally.delivered > 0) deliveries.inc({ result: 'delivered' }, tally.delivered);
    if (tally.notHere > 0) deliveries.inc({ result: 'not_here' }, tally.notHere);
    if (tally.migrated > 0) deliveries.inc({ result: 'migrated' }, tally.migrated);
    return response;
  }

  online(request: OnlineRequest): OnlineResponse {
    return {
      users: (request.userIds ?? []).map((userId) => {
        const connections = this.registry.connectionsOf(userId);
        return { userId, connections: connections.length, platforms: connections.map((c) => c.platform) };
      }),
    };
  }

  kick(request: KickRequest): KickResponse {
    return { closed: this.registry.closeUser(request.userId, KICK_CLOSE_CODE, 'kicked') };
  }

  drain(sockets: number): Promise<void> {
    this.#draining ??= new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#migrator.clear();
      this.#o.logger.info({ connections: this.registry.size, ratePerSecond: this.#o.shutdownCloseRatePerSecond }, 'draining');
      this.#drainer.replace([...this.registry.userIDs()], this.#o.shutdownCloseRatePerSecond);
      this.checkDrained(sockets);
    });
    return this.#draining;
  }

  /** Resolves drain() once no socket is left. */
  checkDrained(sockets: number): void {
    if (this.#drained === undefined || sockets > 0) return;
    this.#drained();
    this.#drained = undefined;
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#migrator.clear();
    this.#drainer.clear();
  }

  #onRing(ring: Ring): void {
    if (this.#stopped) return;
    this.registry.setRing(ring);
    const policy = policyOf(ring);
    this.registry.pruneMigrated(this.#o.now(), policy.handoffWindowMs);
    this.#o.logger.info({ version: ring.version, state: ring.state, ...this.stats() }, 'serving ring');
    // Prepared: clients may still be connecting per the old ring; only a committed ring moves anyone.
    if (ring.state !== 'Committed' || this.#draining !== undefined) {
      this.#migrator.clear();
      return;
    }
    const users = usersToMigrate(this.registry.userIDs(), (userID) => this.registry.isOwned(userID));
    this.#migrator.replace(users, policy.migrateRatePerSecond);
    if (users.length > 0) this.#o.logger.info({ version: ring.version, users: users.length, ratePerSecond: policy.migrateRatePerSecond }, 'migrating');
  }

  /** Closes a user's connections with 4001 unless the current ring gave it back to us. */
  #migrate(userID: string): number {
    if (this.registry.isOwned(userID)) return 0;
    const closed = this.registry.closeUser(userID, CloseCodes.moved, 'moved');
    if (closed > 0) {
      const now = this.#o.now();
      this.registry.pruneMigrated(now, policyOf(this.#o.ringSource.current()).handoffWindowMs);
      this.registry.markMigrated(userID, now);
      this.metrics.migrations.inc(closed);
    }
    return closed;
  }
}

function policyOf(ring: Ring | undefined): RingPolicy {
  return ring?.document?.policy ?? DEFAULT_POLICY;
}
