import { errors, jwtVerify } from 'jose';
import type { Rejection } from './routing.js';

/**
 * The proxy's optional early token check (DESIGN.md section 8): the same rule as the gateway's,
 * an HS256 JWT with `exp` whose `sub` is the user ID, verified by jose. The gateway checks
 * again; this only keeps bad clients from costing a gateway connection.
 * @returns undefined when the token is good, else the 401 to answer.
 */
export async function checkToken(token: string | undefined, userID: string, key: Uint8Array): Promise<Rejection | undefined> {
  if (token === undefined || token === '') return unauthorized('a token is required (token query parameter or Authorization: Bearer)');
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
    return payload.sub === userID ? undefined : unauthorized('the token is for another user');
  } catch (error) {
    return unauthorized(error instanceof errors.JWTExpired ? 'the token has expired' : 'the token is invalid');
  }
}

function unauthorized(reason: string): Rejection {
  // RFC 6750 section 3: a 401 names the scheme it wants.
  return { result: 'unauthorized', status: 401, reason, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } };
}
