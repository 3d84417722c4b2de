import type { IncomingMessage } from 'node:http';
import { ApiError, methodNotAllowed } from '../errors.js';
import type { Route } from '../http/router.js';
import { timestamp } from '../store/metadata.js';
import type { ObjectStore } from '../store/store.js';
import type { KubeObject, ResourceType } from '../types.js';
import { answerReview } from './access-reviews.js';
import { requestAttributes } from './attributes.js';
import { Authenticator, type UserInfo } from './authenticator.js';
import { bootstrapPolicy } from './bootstrap-policy.js';
import { forbidden } from './forbidden.js';
import { impersonatedUser } from './impersonation.js';
import { RbacAuthorizer } from './rbac-authorizer.js';

/** Options of {@link AccessControl}. */
export interface AccessControlOptions {
  readonly adminToken: string;
  readonly store: ObjectStore;
  readonly now: () => Date;
}

/**
 * Who may do what on the API server: authentication (the admin token, ServiceAccount tokens),
 * impersonation, RBAC authorization, the authorization.k8s.io reviews, and what a cluster
 * bootstraps for them (the default ClusterRoles, a `default` ServiceAccount per namespace).
 */
export class AccessControl {
  readonly #authenticator: Authenticator;
  readonly #rbac: RbacAuthorizer;
  readonly #store: ObjectStore;
  readonly #now: () => Date;

  constructor(options: AccessControlOptions) {
    this.#store = options.store;
    this.#now = options.now;
    this.#authenticator = new Authenticator({ adminToken: options.adminToken, store: options.store });
    this.#rbac = new RbacAuthorizer(options.store);
    bootstrapPolicy(options.store, timestamp(options.now()));
    for (const namespace of options.store.list('/namespaces')) this.#ensureDefaultAccount(namespace);
    // The ServiceAccount controller's part, done at once so a pod created right after its
    // namespace finds its account.
    options.store.subscribe(options.store.resourceVersion, (event) => {
      if (event.resource === '/namespaces' && event.type === 'ADDED') {
        const namespace = event.object;
        queueMicrotask(() => this.#ensureDefaultAccount(namespace));
      }
    });
  }

  /**
   * The user a request acts as, once authenticated, impersonated and authorized. Throws 401
   * for an unknown token and the cluster's 403 for a denied request. `public` routes (health,
   * version) need no token.
   */
  admit(req: IncomingMessage, route: Route, url: URL): UserInfo | undefined {
    const authenticated = this.#authenticator.authenticate(req.headers);
    if (isPublic(route)) return authenticated;
    if (!authenticated) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    const authorize = this.#rbac.authorize.bind(this.#rbac);
    const user = impersonatedUser(authenticated, req.headers, authorize);
    if (route.kind === 'not-found') return user;
    const attributes = requestAttributes(user, {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      route,
    });
    if (!authorize(attributes).allowed) throw forbidden(attributes);
    return user;
  }

  /** A bearer token for ServiceAccount `namespace/name`, or undefined when it does not exist. */
  serviceAccountToken(namespace: string, name: string): string | undefined {
    return this.#authenticator.serviceAccountToken(namespace, name);
  }

  /** The answer to a created authorization.k8s.io review. */
  review(type: ResourceType, verb: string, body: KubeObject, user: UserInfo): KubeObject {
    if (verb !== 'create') throw methodNotAllowed(`${verb} is not supported on ${type.plural}`);
    return answerReview(type, body, user, this.#rbac);
  }

  #ensureDefaultAccount(namespace: KubeObject): void {
    const name = namespace.metadata?.name;
    const live = name === undefined ? undefined : this.#store.get('/namespaces', '', name);
    if (!live || live.metadata?.uid !== namespace.metadata?.uid || live.metadata?.deletionTimestamp) return;
    if (this.#store.get('/serviceaccounts', name!, 'default')) return;
    this.#store.put('/serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name: 'default',
        namespace: name,
        uid: crypto.randomUUID(),
        creationTimestamp: timestamp(this.#now()),
      },
    });
  }
}

/** Endpoints served without a token, as `system:public-info-viewer` allows. */
function isPublic(route: Route): boolean {
  return route.kind === 'version' || route.kind === 'health';
}
