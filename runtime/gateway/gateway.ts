import { CloseCodes, DEFAULT_POLICY, REPLACED_BY_SAME_CLIENT, type Ring, type RingPolicy } from '../../ring/index.js';
import type {
  DeliverRequest,
  DeliverResponse,
  KickRequest,
  KickResponse,
  OnlineRequest,
  OnlineResponse,
} from '../protos.js';
import { verifyClientToken } from '../client-token.js';
import { ConnectionTable, type ClientConnection } from './connections.js';
import { deliverBatch, type DeliveryTally } from './deliver.js';
import { gatewayImplementation, startGrpcServer, type GrpcServer } from './grpc-service.js';
import { gatewayMetrics } from './metrics.js';
import { moveWindow, PacedCloser, usersToMigrate } from './migration.js';
import { ConnectionMover } from './mover.js';
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
   * The SIGTERM path (DESIGN.md section 5): ready() turns false and new upgrades get 503, but the
   * connections stay and are delivered to while the committed ring lists this gateway. Once a
   * committed ring no longer does, its users move as for any ring, paced at the ring's
   * `migrateRatePerSecond`, with reason `shutdown` (a migrate frame to a client that opted in, 4002
   * to the others). Without a ring, and at `terminationGraceMs - forceCloseMarginMs`, every
   * connection left is closed with 4002. Resolves when no socket is left. Idempotent.
   */
  drain(): Promise<void>;
  /** Stops both servers at once (remaining sockets are terminated). Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the gateway: the client websocket server (`GET /ws`) and the gRPC
 * `imring.gateway.v1.Gateway` service, following `options.ringSource`: misplaced connections
 * are counted on every ring, and migrated (paced) once a ring is Committed: a client that opted in
 * (`migrate=graceful`) gets a migrate frame and is closed with 4001 only if still here after the
 * policy's `moveDeadlineMs`; the others are closed with 4001 at once.
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
    connections: core.connections,
    logger: o.logger,
    admits: (open) => core.admits(open),
    authenticate: (token, userID) => verifyClientToken(token, userID, o.tokenKey),
    onConnection: (connection) => core.accept(connection),
    onClose: (code) => core.metrics.closes.inc({ code: String(code) }),
    onAuthFailure: (reason) => core.metrics.authFailures.inc({ reason }),
    onSocketClosed: () => core.checkDrained(ws.sockets),
    onConnectionClosed: (connection, init) => {
      core.mover.closed(connection, init);
      core.checkSettled();
    },
  });
  let grpc: GrpcServer;
  try {
    grpc = await startGrpcServer({
      host: o.host,
      port: o.ports.grpc,
      implementation: gatewayImplementation(core, o.logger),
    });
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
  readonly connections: ConnectionTable;
  readonly metrics: ReturnType<typeof gatewayMetrics>;
  readonly mover: ConnectionMover;
  readonly #o: ResolvedGatewayOptions;
  readonly #migrator: PacedCloser;
  #unsubscribe: (() => void) | undefined;
  #draining: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  /** The timer of the forced close before the grace period ends, while draining. */
  #deadline: unknown;
  /** The ring version whose leaving was logged, while draining. */
  #leftAt: number | undefined;
  #stopped = false;
  /** Misplaced connections and connections at the last {@link GatewayCore.checkSettled}. */
  #lastCounts = { misplaced: 0, size: 0 };

  constructor(o: ResolvedGatewayOptions) {
    this.#o = o;
    this.connections = new ConnectionTable(o.self, o.ringSource.current());
    this.metrics = gatewayMetrics(o.registry, () => this.stats());
    this.mover = new ConnectionMover({
      connections: this.connections,
      timers: o.timers,
      now: o.now,
      policy: () => policyOf(o.ringSource.current()),
      isKept: (userID) => this.connections.isOwned(userID),
      onOutcome: (outcome) => this.metrics.migrations.inc({ outcome }),
      onSettled: () => this.#migrator.wake(),
    });
    const pacing = { timers: o.timers, now: o.now, random: o.random };
    this.#migrator = new PacedCloser({
      ...pacing,
      close: (userID) => this.#migrate(userID),
      room: () => moveWindow(policyOf(o.ringSource.current()).migrateRatePerSecond) - this.mover.moving,
    });
  }

  /** Subscribes to ring changes and acts on the ring served now. */
  follow(): void {
    this.#unsubscribe = this.#o.ringSource.onChange((ring) => this.#onRing(ring));
    const ring = this.#o.ringSource.current();
    if (ring) this.#onRing(ring);
  }

  stats(): { connections: number; misplaced: number } {
    return { connections: this.connections.size, misplaced: this.connections.misplaced };
  }

  ready(): boolean {
    return !this.#stopped && this.#draining === undefined && this.#o.ringSource.current() !== undefined;
  }

  admits(open: number): boolean {
    return !this.#stopped && this.#draining === undefined && open < this.#o.maxConnections;
  }

  /** Adds an authenticated connection to the table (replacing the user's one on the same platform). */
  accept(connection: ClientConnection): void {
    if (this.#stopped || this.#draining !== undefined) {
      connection.close(CloseCodes.shuttingDown, 'shutting down');
      return;
    }
    const replaced = this.connections.add(connection);
    if (replaced !== undefined) {
      this.mover.replaced(replaced);
      const own = replaced.clientID !== undefined && replaced.clientID === connection.clientID;
      replaced.close(CloseCodes.replaced, own ? REPLACED_BY_SAME_CLIENT : 'replaced');
    }
    // Routed here by a proxy a ring behind: once committed it must move too, or misplaced never reaches 0.
    if (this.#o.ringSource.current()?.state === 'Committed' && !this.connections.isOwned(connection.userID)) {
      this.#migrator.add(connection.userID);
    }
  }

  deliver(request: DeliverRequest): DeliverResponse {
    const ring = this.#o.ringSource.current();
    const tally: DeliveryTally = { delivered: 0, notHere: 0, migrated: 0 };
    const response = deliverBatch(request, {
      connections: this.connections,
      nowMs: this.#o.now(),
      handoffWindowMs: policyOf(ring).handoffWindowMs,
      isMoving: (connection) => this.mover.isMoving(connection),
      ringVersion: ring?.version ?? 0,
      tally,
    });
    const { deliveries } = this.metrics;
    if (tally.delivered > 0) deliveries.inc({ result: 'delivered' }, tally.delivered);
    if (tally.notHere > 0) deliveries.inc({ result: 'not_here' }, tally.notHere);
    if (tally.migrated > 0) deliveries.inc({ result: 'migrated' }, tally.migrated);
    return response;
  }

  online(request: OnlineRequest): OnlineResponse {
    return {
      users: (request.userIds ?? []).map((userId) => {
        const connections = this.connections.connectionsOf(userId);
        return { userId, connections: connections.length, platforms: connections.map((c) => c.platform) };
      }),
    };
  }

  kick(request: KickRequest): KickResponse {
    return { closed: this.connections.closeUser(request.userId, KICK_CLOSE_CODE, 'kicked') };
  }

  drain(sockets: number): Promise<void> {
    this.#draining ??= new Promise<void>((resolve) => {
      this.#drained = resolve;
      const { terminationGraceMs, forceCloseMarginMs, logger, self } = this.#o;
      const deadlineMs = terminationGraceMs - forceCloseMarginMs;
      this.#deadline = this.#o.timers.setTimeout(() => this.#closeAll('deadline'), deadlineMs);
      const ring = this.#o.ringSource.current();
      const member = ring?.member(self) !== undefined;
      logger.info({ connections: this.connections.size, member, deadlineMs }, 'draining');
      if (ring === undefined) this.#closeAll('no ring');
      else if (this.#o.shutdown === 'close') this.#closeAll('shutdown: close');
      else this.#logLeft(ring);
      this.checkDrained(sockets);
    });
    return this.#draining;
  }

  /** Calls `onSettled` when the last misplaced connection, or the last connection, went since the last check. */
  checkSettled(): void {
    const counts = { misplaced: this.connections.misplaced, size: this.connections.size };
    const last = this.#lastCounts;
    this.#lastCounts = counts;
    if ((last.misplaced > 0 && counts.misplaced === 0) || (last.size > 0 && counts.size === 0)) this.#o.onSettled();
  }

  /** Resolves drain() once no socket is left. */
  checkDrained(sockets: number): void {
    if (this.#drained === undefined || sockets > 0) return;
    this.#o.timers.clearTimeout(this.#deadline);
    this.#o.logger.info('drained');
    this.#drained();
    this.#drained = undefined;
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#o.timers.clearTimeout(this.#deadline);
    this.#migrator.clear();
    this.mover.clear();
  }

  /**
   * Closes every connection left with 4002, without a migrate frame: the gateway is going away with
   * no ring to send its users to, or no time left for a move.
   */
  #closeAll(why: 'deadline' | 'no ring' | 'shutdown: close'): void {
    this.#migrator.clear();
    this.mover.clear();
    const users = [...this.connections.userIDs()];
    let closed = 0;
    for (const userID of users) closed += this.connections.closeUser(userID, CloseCodes.shuttingDown, 'shutting down');
    this.#o.logger.warn({ closed, why }, 'closed every connection left');
  }

  /** Logs, once per ring, that a draining gateway's committed ring no longer lists it (its users move). */
  #logLeft(ring: Ring): void {
    if (this.#draining === undefined || ring.state !== 'Committed' || ring.member(this.#o.self) !== undefined) return;
    if (this.#leftAt === ring.version) return;
    this.#leftAt = ring.version;
    this.#o.logger.info({ version: ring.version, connections: this.connections.size }, 'left the ring');
  }

  #onRing(ring: Ring): void {
    if (this.#stopped) return;
    this.connections.setRing(ring);
    this.checkSettled();
    const policy = policyOf(ring);
    this.connections.pruneMigrated(this.#o.now(), policy.handoffWindowMs);
    this.#o.logger.info({ version: ring.version, state: ring.state, ...this.stats() }, 'serving ring');
    // Prepared: clients may still be connecting per the old ring; only a committed ring moves anyone.
    if (ring.state !== 'Committed') {
      this.#migrator.clear();
      return;
    }
    this.#logLeft(ring);
    const users = usersToMigrate(this.connections.userIDs(), (userID) => this.connections.isOwned(userID));
    this.#migrator.replace(users, policy.migrateRatePerSecond);
    if (users.length > 0)
      this.#o.logger.info(
        { version: ring.version, users: users.length, ratePerSecond: policy.migrateRatePerSecond },
        'migrating',
      );
  }

  /**
   * Moves a user's connections away unless the current ring gave it back to us: reason `ring`, or
   * `shutdown` while draining (the client must not come back here).
   */
  #migrate(userID: string): number {
    if (this.connections.isOwned(userID)) return 0;
    return this.mover.move(userID, this.#draining === undefined ? 'ring' : 'shutdown');
  }
}

function policyOf(ring: Ring | undefined): RingPolicy {
  return ring?.document?.policy ?? DEFAULT_POLICY;
}
