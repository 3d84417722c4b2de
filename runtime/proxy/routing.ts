import type { IncomingHttpHeaders } from 'node:http';
import { WS_PATH, type RingMember } from '../../ring/index.js';
import { clientToken } from '../client-token.js';
import { originFormTarget } from '../request-target.js';
import type { RoutingRing } from '../ring-source.js';

/**
 * The routing decision of the proxy, as pure functions of (request line, headers, routing
 * ring): no sockets, no clock. The server only carries the decision out.
 */

/** How an upgrade ended, the `result` label of `imring_proxy_routes_total`. */
export type RouteResult =
  'ok' | 'no_ring' | 'fenced' | 'shed' | 'bad_request' | 'unauthorized' | 'unreachable' | 'overloaded' | 'aborted';

/** What the routing decision reads of an upgrade request. */
export interface UpgradeRequest {
  readonly method?: string | undefined;
  /** The request target as sent, e.g. `/ws?userID=u1&platform=ios&token=…`. */
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
}

/** An HTTP answer instead of a pipe. */
export interface Rejection {
  readonly result: RouteResult;
  readonly status: number;
  /** Plain text for the response body (no secrets, no user input). */
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where to pipe an upgrade, or why not. */
export type RouteDecision =
  | { readonly ok: true; readonly userID: string; readonly token: string | undefined; readonly member: RingMember }
  | { readonly ok: false; readonly rejection: Rejection };

/** Refusals of the routing decision, by cause. */
export const Rejections = {
  notFound: { result: 'bad_request', status: 404, reason: `websocket upgrades are served at ${WS_PATH} only` },
  notGet: { result: 'bad_request', status: 400, reason: 'a websocket upgrade is a GET request' },
  notWebSocket: { result: 'bad_request', status: 400, reason: 'only "Upgrade: websocket" is proxied' },
  noUserID: { result: 'bad_request', status: 400, reason: 'the userID query parameter is required (exactly once)' },
  duplicateToken: { result: 'bad_request', status: 400, reason: 'the token query parameter may appear once' },
  // Retry-After in seconds (RFC 9110 section 10.2.3): the ring is loaded within moments.
  noRing: {
    result: 'no_ring',
    status: 503,
    reason: 'no ring with members is loaded yet; retry',
    headers: { 'Retry-After': '1' },
  },
  fenced: {
    result: 'fenced',
    status: 503,
    reason: 'this proxy could not renew its Lease, so its ring may be stale; retry',
    headers: { 'Retry-After': '1' },
  },
  overloaded: {
    result: 'overloaded',
    status: 503,
    reason: 'too many connections at this proxy; retry',
    headers: { 'Retry-After': '1' },
  },
  unreachable: { result: 'unreachable', status: 502, reason: 'the gateway that owns this user did not answer' },
} as const satisfies Record<string, Rejection>;

/**
 * Routes an upgrade: checks the request, then looks up the owner of its user in the ring of
 * `routing` (the ring source's answer for this upgrade); a fenced source, no ring or an empty
 * one refuse it with 503.
 */
export function decideRoute(request: UpgradeRequest, routing: RoutingRing): RouteDecision {
  const parsed = parseUpgrade(request);
  if (!parsed.ok) return parsed;
  if ('refused' in routing) {
    return { ok: false, rejection: routing.refused === 'fenced' ? Rejections.fenced : Rejections.noRing };
  }
  const member = routing.ring.owner(parsed.userID);
  if (member === undefined) return { ok: false, rejection: Rejections.noRing };
  return { ok: true, userID: parsed.userID, token: parsed.token, member };
}

/** The user and token of an upgrade request, or the 4xx that refuses it. */
export function parseUpgrade(
  request: UpgradeRequest,
): { ok: true; userID: string; token: string | undefined } | { ok: false; rejection: Rejection } {
  const target = originFormTarget(request.url);
  if (target === undefined || target.pathname !== WS_PATH) return { ok: false, rejection: Rejections.notFound };
  if (request.method !== 'GET') return { ok: false, rejection: Rejections.notGet };
  if (request.headers.upgrade?.toLowerCase() !== 'websocket') return { ok: false, rejection: Rejections.notWebSocket };
  // Exactly once: a repeated parameter could be read differently here and at the gateway.
  const userIDs = target.searchParams.getAll('userID');
  if (userIDs.length !== 1 || userIDs[0] === '') return { ok: false, rejection: Rejections.noUserID };
  const tokens = target.searchParams.getAll('token');
  if (tokens.length > 1) return { ok: false, rejection: Rejections.duplicateToken };
  return { ok: true, userID: userIDs[0]!, token: clientToken(target.searchParams, request.headers.authorization) };
}
