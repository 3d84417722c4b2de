import type { DeliverRequest, DeliverResponse, GatewayMessage, UserResult } from '../protos.js';
import type { ClientConnection, ConnectionTable } from './connections.js';

/** Per-result counts of one or more batches (metrics are incremented once per batch from them). */
export interface DeliveryTally {
  delivered: number;
  notHere: number;
  migrated: number;
}

/** What {@link deliverBatch} needs besides the request. */
export interface DeliverContext {
  connections: ConnectionTable;
  /** Clock reading for the handoff window, ms. */
  nowMs: number;
  /** The current ring's `policy.handoffWindowMs`. */
  handoffWindowMs: number;
  /** Whether `connection` was asked to move and is still here (DESIGN.md section 5, graceful migration). */
  isMoving: (connection: ClientConnection) => boolean;
  /** The ring version this gateway serves (echoed in the response). */
  ringVersion: number;
  /** Added to, not reset. */
  tally: DeliveryTally;
}

/** The client frame of DESIGN.md section 6, as the bytes sent on every connection. */
export function encodeMessageFrame(msgID: string, payload: string): Buffer {
  return Buffer.from(JSON.stringify({ type: 'message', msgID, payload }));
}

/**
 * Delivers a batch to whoever is connected here (never consults ring ownership), except on the
 * platforms a message skips for a user, and answers one result per (message, user) in request
 * order: DELIVERED with the connections and platforms written, MIGRATED when the user was closed
 * here for migration within the handoff window or is leaving now, else NOT_HERE. A user whose every
 * connection was skipped, or too slow (closed 4008 on this send), is NOT_HERE (or MIGRATED).
 * `misplaced` is the connection table's, after the writes.
 *
 * Leaving: a moving connection that refused the frame and is still here. Its client is closing it,
 * its new connection already open (make-before-break), and the table keeps it until the closing
 * handshake ends; NOT_HERE then would tell push the user is nowhere, while push may have asked the
 * new owner just before the new connection arrived there. MIGRATED makes push ask the new owner again.
 */
export function deliverBatch(request: DeliverRequest, context: DeliverContext): DeliverResponse {
  const table = context.connections;
  const results: UserResult[] = [];
  for (const message of request.messages ?? []) {
    // Encoded once per message, lazily: a message for nobody here costs no frame.
    let frame: Buffer | undefined;
    const skips = skipsOf(message);
    for (const userId of message.userIds ?? []) {
      const connections = table.connectionsOf(userId);
      const skipped = skips?.get(userId);
      let platforms: string[] | undefined;
      let leaving = false;
      // Backwards: a send that overflows closes its connection, which splices it out.
      for (let i = connections.length - 1; i >= 0; i--) {
        const connection = connections[i]!;
        if (skipped?.includes(connection.platform)) continue;
        frame ??= encodeMessageFrame(message.msgId, message.payload);
        if (connection.send(frame)) (platforms ??= []).push(connection.platform);
        else if (connections[i] === connection && context.isMoving(connection)) leaving = true;
      }
      results.push(resultOf({ msgId: message.msgId, userId, platforms, leaving }, context));
    }
  }
  return { batchId: request.batchId ?? 0, results, ringVersion: context.ringVersion, misplaced: table.misplaced };
}

/** userID → platforms not to write to, or undefined when the message skips none (the usual case). */
function skipsOf(message: GatewayMessage): Map<string, readonly string[]> | undefined {
  if (message.skip === undefined || message.skip.length === 0) return undefined;
  const skips = new Map<string, readonly string[]>();
  for (const { userId, platforms } of message.skip) skips.set(userId, [...(skips.get(userId) ?? []), ...platforms]);
  return skips;
}

/** What the writes of one (message, user) did: the platforms written, and whether a connection is leaving. */
interface Written {
  readonly msgId: string;
  readonly userId: string;
  readonly platforms: string[] | undefined;
  readonly leaving: boolean;
}

function resultOf({ msgId, userId, platforms, leaving }: Written, context: DeliverContext): UserResult {
  if (platforms !== undefined) {
    context.tally.delivered++;
    return { msgId, userId, status: 'DELIVERED', connections: platforms.length, platforms };
  }
  if (leaving || context.connections.wasMigrated(userId, context.nowMs, context.handoffWindowMs)) {
    context.tally.migrated++;
    return { msgId, userId, status: 'MIGRATED', connections: 0 };
  }
  context.tally.notHere++;
  return { msgId, userId, status: 'NOT_HERE', connections: 0 };
}
