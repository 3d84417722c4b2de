import { verifyClientToken, type TokenFailure } from '../client-token.js';
import type { Rejection } from './routing.js';

const REASONS: Record<TokenFailure, string> = {
  missing: 'a token is required (token query parameter or Authorization: Bearer)',
  expired: 'the token has expired',
  invalid: 'the token is invalid',
  other_user: 'the token is for another user',
};

/**
 * The proxy's optional early token check (DESIGN.md section 8): the gateway's rule
 * ({@link verifyClientToken}). The gateway checks again; this only keeps bad clients from
 * costing a gateway connection.
 * @returns undefined when the token is good, else the 401 to answer.
 */
export async function checkToken(
  token: string | undefined,
  userID: string,
  key: Uint8Array,
): Promise<Rejection | undefined> {
  const failure = await verifyClientToken(token, userID, key);
  if (failure === undefined) return undefined;
  // RFC 6750 section 3: a 401 names the scheme it wants.
  return {
    result: 'unauthorized',
    status: 401,
    reason: REASONS[failure],
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  };
}
