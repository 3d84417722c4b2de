/**
 * What the operator and the runtimes must agree on besides the document itself (DESIGN.md
 * sections 3 and 6): names, labels, annotations and close codes. The operator and the
 * runtimes never import each other; both import this.
 */

/** The ConfigMap that holds gateway `<gateway>`'s ring document (data key `ring.json`). */
export function ringConfigMapName(gateway: string): string {
  return `${gateway}-ring`;
}

/** The runtime components that report on Leases. */
export type RuntimeComponent = 'gateway' | 'proxy' | 'push';

/** The Lease a runtime pod holds: `<gateway>-<component>-<pod>`. */
export function runtimeLeaseName(gateway: string, component: RuntimeComponent, pod: string): string {
  return `${gateway}-${component}-${pod}`;
}

export const Labels = {
  /** On runtime Leases (and gateway pods): the IMGateway they serve. */
  gateway: 'imring.dev/gateway',
  /** On runtime Leases: `gateway`, `proxy` or `push`. */
  component: 'imring.dev/component',
} as const;

export const Annotations = {
  /** The ring version the runtime serves. */
  ringVersion: 'imring.dev/ring-version',
  /** `Prepared` or `Committed`: the state of the served ring. */
  ringState: 'imring.dev/ring-state',
  /** Gateways: open client connections. */
  connections: 'imring.dev/connections',
  /** Gateways: connections of users this gateway does not own in the served ring. */
  misplaced: 'imring.dev/misplaced',
  /** The last refused ring document's error (`<code>: <message>`), absent when none. */
  ringError: 'imring.dev/ring-error',
  /**
   * Gateways: `"true"` from SIGTERM on (absent otherwise): the pod is going away, so the operator
   * takes the member out of the ring at once (DESIGN.md section 5).
   */
  draining: 'imring.dev/draining',
} as const;

/** Renewal of runtime Leases: renewed every 5 s, live for 15 s (DESIGN.md section 6). */
export const LEASE_RENEW_SECONDS = 5;
export const LEASE_DURATION_SECONDS = 15;

/**
 * The path clients open their websocket at (`GET /ws?userID=…`), on the proxy and on each
 * gateway alike (DESIGN.md section 6, wire formats): the proxy pipes the request unchanged.
 */
export const WS_PATH = '/ws';

/** The query parameters of `GET /ws` (DESIGN.md section 6, wire formats). */
export const ConnectParams = {
  userID: 'userID',
  platform: 'platform',
  /** The client token, unless sent as `Authorization: Bearer`. */
  token: 'token',
  /** `migrate=graceful`: the client moves make-before-break when asked (a `migrate` frame). */
  migrate: 'migrate',
  /**
   * Optional: an ID the client picks once for itself (up to 64 of `A-Z a-z 0-9 _ -`). A connection replaced by a
   * newer one with the same clientID is closed with 4003 and reason {@link REPLACED_BY_SAME_CLIENT}: the newer one
   * is an attempt of its own that it had given up on (a handshake that timed out, yet reached the gateway), so it
   * reconnects instead of stopping as for another device's connection.
   */
  clientID: 'clientID',
} as const;

/** The reason of a 4003 close when the replacing connection has the replaced one's clientID. */
export const REPLACED_BY_SAME_CLIENT = 'replaced by this client';

/** The value of {@link ConnectParams.migrate} by which a client opts in to graceful migration. */
export const MIGRATE_GRACEFUL = 'graceful';

/** Why a gateway asks a client to move: its ring moved the user, or the gateway is shutting down. */
export type MigrateReason = 'ring' | 'shutdown';

/**
 * The text frame a gateway sends a client that opted in, instead of closing it with 4001/4002:
 * open a new connection (same URL, through the proxy), then close this one with 1000. Past
 * `deadlineMs` the gateway closes this one with 4001 (`ring`) or 4002 (`shutdown`).
 */
export interface MigrateFrame {
  readonly type: 'migrate';
  readonly reason: MigrateReason;
  readonly deadlineMs: number;
}

/** WebSocket close codes the gateway uses (DESIGN.md section 6, wire formats). */
export const CloseCodes = {
  /** Moved by a ring change: reconnect now (through the proxy). */
  moved: 4001,
  /** The gateway is shutting down: reconnect. */
  shuttingDown: 4002,
  /** Replaced by a newer connection of the same user and platform. */
  replaced: 4003,
  /** The client read too slowly; its send buffer overflowed. */
  tooSlow: 4008,
  /** Missing, invalid or expired token, or a token for another user. */
  unauthorized: 4401,
  /** A frame larger than the gateway accepts (RFC 6455 "message too big"). */
  tooBig: 1009,
} as const;
