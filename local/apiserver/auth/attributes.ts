import type { Route } from '../http/router.js';
import type { UserInfo } from './authenticator.js';

/** What the authorizer decides on (k8s.io/apiserver authorizer.Attributes). */
export interface RequestAttributes {
  readonly user: UserInfo;
  readonly verb: string;
  /** True for API objects; false for paths such as `/version`, `/api`, `/openapi/v3`. */
  readonly resourceRequest: boolean;
  /** The request's path (non-resource requests are authorized on it). */
  readonly path: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  /** `''` for cluster-scoped requests and for lists and watches across all namespaces. */
  readonly namespace: string;
  /** The object's name; for a list or watch, the `metadata.name` field selector's. */
  readonly name: string;
}

/** The HTTP request an authorization decision is about. */
export interface AuthorizedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly route: Route;
}

/**
 * The attributes of a request (k8s.io/apiserver RequestInfoFactory): GET on a collection is
 * list, `watch=1` is watch, POST is create (on a subresource too), DELETE on a collection is
 * deletecollection. Resource requests the router could not resolve are not resource requests.
 */
export function requestAttributes(user: UserInfo, request: AuthorizedRequest): RequestAttributes {
  const { route, query } = request;
  const base = { user, path: request.path, apiGroup: '', resource: '', subresource: '', namespace: '', name: '' };
  if (route.kind !== 'resource') return { ...base, verb: nonResourceVerb(request.method), resourceRequest: false };
  const named = route.name !== undefined;
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  const fieldName = named ? undefined : /^metadata\.name==?([^,]+)$/.exec(query.get('fieldSelector') ?? '')?.[1];
  return {
    ...base,
    verb: resourceVerb(request.method, named, watch),
    resourceRequest: true,
    apiGroup: route.type.group,
    resource: route.type.plural,
    subresource: route.subresource ?? '',
    namespace: route.namespace ?? (route.type.plural === 'namespaces' ? (route.name ?? '') : ''),
    name: route.name ?? fieldName ?? '',
  };
}

/** The verb of a resource request by its method, whether it names an object, and whether it watches. */
export function resourceVerb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch) return 'watch';
      return named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function nonResourceVerb(method: string): string {
  const verbs: Record<string, string> = { GET: 'get', HEAD: 'head', POST: 'post', PUT: 'put', PATCH: 'patch' };
  return verbs[method] ?? method.toLowerCase();
}
