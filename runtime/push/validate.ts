import type { PushMessage, PushResult } from '../protos.js';

/** Request limits shared by the HTTP and gRPC APIs (see PushOptions). */
export interface RequestLimits {
  readonly maxMessagesPerRequest: number;
  readonly maxRecipientsPerRequest: number;
  readonly maxPayloadBytes: number;
}

/** Why a request is refused: `invalid` → 400 / INVALID_ARGUMENT, `too_large` → 413 / RESOURCE_EXHAUSTED. */
export type RequestError = { readonly kind: 'invalid' | 'too_large'; readonly message: string };

export type Checked =
  { readonly ok: true; readonly messages: PushMessage[] } | { readonly ok: false; readonly error: RequestError };

/**
 * Checks decoded messages (from either API) against the limits: a non-empty `msgID`, a
 * string payload of at most `maxPayloadBytes` UTF-8 bytes, an array of non-empty string user
 * IDs; at most `maxMessagesPerRequest` messages and `maxRecipientsPerRequest` recipients in
 * all. The first problem found is reported, naming the message index and field.
 */
export function checkMessages(
  messages: readonly unknown[],
  limits: RequestLimits,
  api: 'json' | 'grpc' = 'json',
): Checked {
  const fields = api === 'json' ? JSON_FIELDS : GRPC_FIELDS;
  if (messages.length > limits.maxMessagesPerRequest)
    return invalid(`at most ${limits.maxMessagesPerRequest} messages per request, got ${messages.length}`);
  const checked: PushMessage[] = [];
  let recipients = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = checkMessage(messages[i], i, { limits, fields });
    if ('kind' in message) return { ok: false, error: message };
    recipients += message.toUserIds.length;
    if (recipients > limits.maxRecipientsPerRequest)
      return tooLarge(`at most ${limits.maxRecipientsPerRequest} recipients per request (over all messages)`);
    checked.push(message);
  }
  return { ok: true, messages: checked };
}

/** Field names as the API that sent them spells them. */
interface Fields {
  readonly msgId: string;
  readonly toUserIds: string;
}

const JSON_FIELDS: Fields = { msgId: 'msgID', toUserIds: 'toUserIDs' };
const GRPC_FIELDS: Fields = { msgId: 'msgId', toUserIds: 'toUserIds' };

function checkMessage(
  value: unknown,
  index: number,
  { limits, fields }: { limits: RequestLimits; fields: Fields },
): PushMessage | RequestError {
  const at = `messages[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { kind: 'invalid', message: `${at} must be an object` };
  const { [fields.msgId]: msgId, [fields.toUserIds]: toUserIds, payload } = value as Record<string, unknown>;
  if (typeof msgId !== 'string' || msgId === '')
    return { kind: 'invalid', message: `${at}.${fields.msgId} must be a non-empty string` };
  if (typeof payload !== 'string') return { kind: 'invalid', message: `${at}.payload must be a string` };
  if (!Array.isArray(toUserIds))
    return { kind: 'invalid', message: `${at}.${fields.toUserIds} must be an array of user IDs` };
  for (let j = 0; j < toUserIds.length; j++) {
    const userId: unknown = toUserIds[j];
    if (typeof userId !== 'string' || userId === '')
      return { kind: 'invalid', message: `${at}.${fields.toUserIds}[${j}] must be a non-empty string` };
  }
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (payload.length * 3 > limits.maxPayloadBytes && Buffer.byteLength(payload) > limits.maxPayloadBytes) {
    return { kind: 'too_large', message: `${at}.payload is larger than ${limits.maxPayloadBytes} bytes` };
  }
  return { msgId, toUserIds: toUserIds as string[], payload };
}

/**
 * Parses a `POST /v1/push` body: `{"messages":[{msgID, toUserIDs, payload}]}`; the messages
 * themselves are checked by {@link checkMessages}.
 */
export function parsePushBody(body: string): { ok: true; messages: unknown[] } | { ok: false; error: RequestError } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    return invalid(`body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return invalid('body must be a JSON object {"messages":[…]}');
  const messages: unknown = (parsed as Record<string, unknown>).messages;
  if (!Array.isArray(messages)) return invalid('messages must be an array');
  return { ok: true, messages };
}

/** A result in the HTTP API's JSON shape (DESIGN.md section 6): empty fields left out. */
export function jsonResult(result: PushResult): Record<string, unknown> {
  return result.status === 'realtime'
    ? {
        msgID: result.msgId,
        userID: result.userId,
        status: 'realtime',
        via: result.via,
        connections: result.connections,
      }
    : { msgID: result.msgId, userID: result.userId, status: 'offline', reason: result.reason };
}

function invalid(message: string): { ok: false; error: RequestError } {
  return { ok: false, error: { kind: 'invalid', message } };
}

function tooLarge(message: string): Checked {
  return { ok: false, error: { kind: 'too_large', message } };
}
