import type { IncomingHttpHeaders } from 'node:http';
import { errors, jwtVerify } from 'jose';
import { WS_PATH } from '../../ring/index.js';
import { originFormTarget } from '../request-target.js';

/** What a `GET /ws` upgrade asks for, or why it is refused before upgrading. */
export type UpgradeRequest =
  | { ok: true; userID: string; platform: string; token: string | undefined }
  | { ok: false; status: 400 | 404; reason: string };

/** Longest userID / platform accepted, in UTF-16 code units (they are map keys and log fields). */
export const MAX_ID_LENGTH = 256;

/**
 * Parses the upgrade's target and headers (DESIGN.md section 6 wire format):
 * `GET /ws?userID=&platform=` with the token in `token` or `Authorization: Bearer`.
 * The userID is kept exactly as sent (the ring hashes it as is).
 */
export function parseUpgradeRequest(target: string | undefined, headers: IncomingHttpHeaders): UpgradeRequest {
  const url = originFormTarget(target ?? '/');
  if (url === undefined) return { ok: false, status: 400, reason: 'malformed request target' };
  if (url.pathname !== WS_PATH) return { ok: false, status: 404, reason: 'not found' };
  const userID = url.searchParams.get('userID');
  const platform = url.searchParams.get('platform');
  if (!userID || userID.length > MAX_ID_LENGTH) return { ok: false, status: 400, reason: 'missing or too long userID' };
  if (!platform || platform.length > MAX_ID_LENGTH) return { ok: false, status: 400, reason: 'missing or too long platform' };
  return { ok: true, userID, platform, token: bearerToken(headers.authorization) ?? url.searchParams.get('token') ?? undefined };
}

function bearerToken(authorization: string | undefined): string | undefined {
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}

/** Why a token was refused (a log field; clients only see 4401). */
export type AuthFailure = 'missing' | 'expired' | 'invalid' | 'other_user';

/**
 * Checks a client token: HS256 with `key`, `exp` honoured (jose), `sub` equal to `userID`.
 * Returns undefined when the token is good, else why not. Never throws for a bad token.
 */
export async function verifyClientToken(token: string | undefined, userID: string, key: Uint8Array): Promise<AuthFailure | undefined> {
  if (!token) return 'missing';
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
    return payload.sub === userID ? undefined : 'other_user';
  } catch (error) {
    if (error instanceof errors.JWTExpired) return 'expired';
    return 'invalid';
  }
}
