import { errors, jwtVerify } from 'jose';

/** Why a client token was refused. */
export type TokenFailure = 'missing' | 'expired' | 'invalid' | 'other_user';

/**
 * The client token of an upgrade (DESIGN.md section 6): the `token` query parameter, else an
 * `Authorization: Bearer` header. Gateway and proxy read it with this one rule, so both check the
 * same token when a client sends the two.
 */
export function clientToken(params: URLSearchParams, authorization: string | undefined): string | undefined {
  return params.get('token') ?? bearerToken(authorization);
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 section 2.1), else undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  return match?.[1];
}

/**
 * Checks a client token: an HS256 JWT with `exp` (honoured) whose `sub` is `userID`, verified by
 * jose. The gateway checks every upgrade; the proxy may check early with the same rule.
 * @returns undefined when the token is good, else why not; never throws for a bad token.
 */
export async function verifyClientToken(
  token: string | undefined,
  userID: string,
  key: Uint8Array,
): Promise<TokenFailure | undefined> {
  if (!token) return 'missing';
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
    return payload.sub === userID ? undefined : 'other_user';
  } catch (error) {
    return error instanceof errors.JWTExpired ? 'expired' : 'invalid';
  }
}
