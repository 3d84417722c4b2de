import type { IncomingHttpHeaders } from 'node:http';
import { ConnectParams, MIGRATE_GRACEFUL, WS_PATH } from '../../ring/index.js';
import { clientToken } from '../client-token.js';
import { originFormTarget } from '../request-target.js';

/**
 * What a `GET /ws` upgrade asks for, or why it is refused before upgrading. `graceful`: the client
 * opted in to graceful migration (`migrate=graceful`), so it is asked to move instead of being closed.
 */
export type UpgradeRequest =
  | {
      ok: true;
      userID: string;
      platform: string;
      token: string | undefined;
      graceful: boolean;
      clientID: string | undefined;
    }
  | { ok: false; status: 400 | 404; reason: string };

/** Longest userID / platform accepted, in UTF-16 code units (they are map keys and log fields). */
export const MAX_ID_LENGTH = 256;

/** A well-formed `clientID` connect parameter. */
const CLIENT_ID = /^[\w-]{1,64}$/;

/**
 * Parses the upgrade's target and headers (DESIGN.md section 6 wire format):
 * `GET /ws?userID=&platform=[&migrate=graceful]` with the token in `token` or `Authorization: Bearer`.
 * The userID is kept exactly as sent (the ring hashes it as is).
 */
export function parseUpgradeRequest(target: string | undefined, headers: IncomingHttpHeaders): UpgradeRequest {
  const url = originFormTarget(target ?? '/');
  if (url === undefined) return { ok: false, status: 400, reason: 'malformed request target' };
  if (url.pathname !== WS_PATH) return { ok: false, status: 404, reason: 'not found' };
  const params = url.searchParams;
  const userID = params.get(ConnectParams.userID);
  const platform = params.get(ConnectParams.platform);
  if (!userID || userID.length > MAX_ID_LENGTH) return { ok: false, status: 400, reason: 'missing or too long userID' };
  if (!platform || platform.length > MAX_ID_LENGTH)
    return { ok: false, status: 400, reason: 'missing or too long platform' };
  const token = clientToken(params, headers.authorization);
  const clientID = params.get(ConnectParams.clientID) ?? undefined;
  return {
    ok: true,
    userID,
    platform,
    token,
    graceful: params.get(ConnectParams.migrate) === MIGRATE_GRACEFUL,
    // Anything but a well-formed ID is ignored: the connection then behaves as one without.
    clientID: clientID !== undefined && CLIENT_ID.test(clientID) ? clientID : undefined,
  };
}
