import type { DeliverRequest, DeliverResponse, UserResult } from '../protos.js';
import type { ConnectionTable } from './connections.js';

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
 * Delivers a batch to whoever is connected here (never consults ring ownership) and answers
 * one result per (message, user) in request order: DELIVERED with the connections written,
 * MIGRATED when the user was closed here for migration within the handoff window, else
 * NOT_HERE. A user whose every connection was too slow (closed 4008 on this send) is NOT_HERE.
 */
export function deliverBatch(request: DeliverRequest, context: DeliverContext): DeliverResponse {
  const table = context.connections;
  const results: UserResult[] = [];
  for (const message of request.messages ?? []) {
    // Encoded once per message, lazily: a message for nobody here costs no frame.
    let frame: Buffer | undefined;
    for (const userId of message.userIds ?? []) {
      const connections = table.connectionsOf(userId);
      let written = 0;
      // Backwards: a send that overflows closes its connection, which splices it out.
      for (let i = connections.length - 1; i >= 0; i--) {
        frame ??= encodeMessageFrame(message.msgId, message.payload);
        if (connections[i]!.send(frame)) written++;
      }
      results.push({ msgId: message.msgId, userId, status: statusOf(written, userId, context), connections: written });
    }
  }
  return { batchId: request.batchId ?? 0, results, ringVersion: context.ringVersion };
}

function statusOf(written: number, userId: string, context: DeliverContext): UserResult['status'] {
  if (written > 0) {
    context.tally.delivered++;
    return 'DELIVERED';
  }
  if (context.connections.wasMigrated(userId, context.nowMs, context.handoffWindowMs)) {
    context.tally.migrated++;
    return 'MIGRATED';
  }
  context.tally.notHere++;
  return 'NOT_HERE';
}
