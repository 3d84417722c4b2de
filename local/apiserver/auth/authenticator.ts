import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectStore } from '../store/store.js';

/** Who sent a request (k8s.io/apiserver user.Info). */
export interface UserInfo {
  readonly username: string;
  readonly uid?: string;
  readonly groups: readonly string[];
}

/** The user of the admin token: a cluster admin, as kubeadm's `kubernetes-admin`. */
export const ADMIN_USER: UserInfo = {
  username: 'kubernetes-admin',
  groups: ['system:masters', 'system:authenticated'],
};

/** The group whose members every request is allowed to (the RBAC authorizer's privileged group). */
export const MASTERS_GROUP = 'system:masters';

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/** The user a ServiceAccount's token authenticates as, with its groups. */
export function serviceAccountUser(namespace: string, name: string, uid?: string): UserInfo {
  return {
    username: `${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`,
    ...(uid ? { uid } : {}),
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

/** `{ namespace, name }` of a `system:serviceaccount:<ns>:<name>` username, else undefined. */
export function parseServiceAccountName(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return undefined;
  const [namespace, name, extra] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  return namespace && name && extra === undefined ? { namespace, name } : undefined;
}

/** Options of {@link Authenticator}. */
export interface AuthenticatorOptions {
  /** The admin bearer token (user {@link ADMIN_USER}). */
  readonly adminToken: string;
  /** Where ServiceAccounts are looked up: a token of a deleted account no longer authenticates. */
  readonly store: ObjectStore;
}

/**
 * Bearer-token authentication: the admin token, and ServiceAccount tokens this server issues.
 * A ServiceAccount token is `<base64url {namespace, name, uid}>.<HMAC-SHA256>` under a key
 * generated per server, so it needs no storage and dies with the server, like a bound token
 * dies with its signing key; it authenticates only while that account (same uid) exists.
 */
export class Authenticator {
  readonly #adminToken: Buffer;
  readonly #store: ObjectStore;
  readonly #key = randomBytes(32);

  constructor(options: AuthenticatorOptions) {
    this.#adminToken = Buffer.from(options.adminToken);
    this.#store = options.store;
  }

  /** The user of an `Authorization` header, or undefined (401). */
  authenticate(headers: IncomingHttpHeaders): UserInfo | undefined {
    const header = headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return undefined;
    const token = header.slice(7).trim();
    const given = Buffer.from(token);
    if (given.length === this.#adminToken.length && timingSafeEqual(given, this.#adminToken)) return ADMIN_USER;
    return this.#serviceAccount(token);
  }

  /** A token for ServiceAccount `namespace/name`, or undefined when that account does not exist. */
  serviceAccountToken(namespace: string, name: string): string | undefined {
    const account = this.#store.get('/serviceaccounts', namespace, name);
    if (!account) return undefined;
    const claims = Buffer.from(JSON.stringify({ namespace, name, uid: account.metadata?.uid })).toString('base64url');
    return `${claims}.${this.#sign(claims)}`;
  }

  #serviceAccount(token: string): UserInfo | undefined {
    const [claims, signature, extra] = token.split('.');
    if (!claims || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.#sign(claims));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const { namespace, name, uid } = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as {
      namespace: string;
      name: string;
      uid?: string;
    };
    const account = this.#store.get('/serviceaccounts', namespace, name);
    if (!account || account.metadata?.uid !== uid) return undefined;
    return serviceAccountUser(namespace, name, uid);
  }

  #sign(claims: string): string {
    return createHmac('sha256', this.#key).update(claims).digest('base64url');
  }
}
