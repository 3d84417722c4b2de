import type { PushMessage, PushResult } from '../protos.js';
import type { RequestGate } from './request-gate.js';
import { checkMessages, type RequestError, type RequestLimits } from './validate.js';

/** The messages of a request as its API decoded them (fields as it names them), or why they could not be read. */
export type ReadMessages =
  | { readonly ok: true; readonly messages: readonly unknown[]; readonly api: 'json' | 'grpc' }
  | { readonly ok: false; readonly error: RequestError };

/** Why a push request was refused: each API says so its own way (HTTP status, gRPC code, a rejection). */
export interface PushRefusal {
  /** `overloaded` and `fenced`: refused at admission (its body unread), retry; the others: fix the request. */
  readonly kind: RequestError['kind'] | 'overloaded' | 'fenced';
  readonly message: string;
}

/** One result per (message, recipient), in request order; or why the request was refused. */
export type PushAnswer =
  { readonly ok: true; readonly results: PushResult[] } | { readonly ok: false; readonly error: PushRefusal };

/** What {@link servePush} needs: the gate, the request limits and the delivery. */
export interface ServePushContext {
  readonly gate: RequestGate;
  readonly limits: RequestLimits;
  /** Delivers checked messages (DESIGN.md section 6); rejects only on a bug. */
  readonly deliver: (messages: PushMessage[]) => Promise<PushResult[]>;
}

/**
 * The one path of every push request, whichever way it came (`POST /v1/push`, the gRPC
 * `Push`, `Push.push()`): admission by the gate (the fence, `maxConcurrentRequests`), then
 * `read` (HTTP reads its body only then, so a refused request costs no body), the checks of
 * {@link checkMessages}, delivery; the admission is released however it ends.
 * @throws what `read` or `deliver` throw (a bug: the APIs answer 500 / INTERNAL).
 */
export async function servePush(
  context: ServePushContext,
  read: () => ReadMessages | Promise<ReadMessages>,
): Promise<PushAnswer> {
  const admission = context.gate.enter();
  if (!admission.ok) return { ok: false, error: { kind: admission.code, message: admission.message } };
  try {
    const request = await read();
    if (!request.ok) return request;
    const checked = checkMessages(request.messages, context.limits, request.api);
    if (!checked.ok) return checked;
    return { ok: true, results: await context.deliver(checked.messages) };
  } finally {
    admission.release();
  }
}
