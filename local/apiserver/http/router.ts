import type { ResourceCatalog } from '../store/resource-catalog.js';
import type { ResourceType } from '../types.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** A request for objects of one resource. */
export interface ResourceRoute {
  readonly kind: 'resource';
  readonly type: ResourceType;
  readonly verb: Verb;
  /** The namespace in the path (namespaced resources), else undefined. */
  readonly namespace: string | undefined;
  readonly name: string | undefined;
  readonly subresource: string | undefined;
}

/** Discovery, OpenAPI and server endpoints. */
export type InfoRoute =
  | { readonly kind: 'version' | 'health' | 'api' | 'apis' | 'openapi-root' | 'openapi-v2' }
  | { readonly kind: 'api-resources'; readonly group: string; readonly version: string }
  | { readonly kind: 'api-group'; readonly group: string }
  | { readonly kind: 'openapi-gv'; readonly group: string; readonly version: string };

export type Route = ResourceRoute | InfoRoute | { readonly kind: 'not-found' };

const HEALTH = new Set(['/healthz', '/readyz', '/livez']);

/** Maps a method and path (no query) to what it asks for, by the served resources. */
export function routeRequest(method: string, path: string, query: URLSearchParams, catalog: ResourceCatalog): Route {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (path === '/version' || path === '/version/') return { kind: 'version' };
  if (HEALTH.has(path) || parts[0] === 'healthz' || parts[0] === 'readyz' || parts[0] === 'livez')
    return { kind: 'health' };
  if (parts[0] === 'openapi') return openApiRoute(parts);
  if (parts[0] === 'api') return coreRoute(method, parts.slice(1), query, catalog);
  if (parts[0] === 'apis') return groupRoute(method, parts.slice(1), query, catalog);
  return { kind: 'not-found' };
}

function openApiRoute(parts: string[]): Route {
  if (parts[1] === 'v2') return { kind: 'openapi-v2' };
  if (parts[1] !== 'v3') return { kind: 'not-found' };
  if (parts.length === 2) return { kind: 'openapi-root' };
  if (parts[2] === 'api' && parts[3] && parts.length === 4) return { kind: 'openapi-gv', group: '', version: parts[3] };
  if (parts[2] === 'apis' && parts.length === 5) return { kind: 'openapi-gv', group: parts[3]!, version: parts[4]! };
  return { kind: 'not-found' };
}

function coreRoute(method: string, parts: string[], query: URLSearchParams, catalog: ResourceCatalog): Route {
  if (parts.length === 0) return { kind: 'api' };
  if (parts.length === 1) return { kind: 'api-resources', group: '', version: parts[0]! };
  return resourceRoute(method, { group: '', version: parts[0]!, rest: parts.slice(1) }, query, catalog);
}

function groupRoute(method: string, parts: string[], query: URLSearchParams, catalog: ResourceCatalog): Route {
  if (parts.length === 0) return { kind: 'apis' };
  if (parts.length === 1) return { kind: 'api-group', group: parts[0]! };
  if (parts.length === 2) return { kind: 'api-resources', group: parts[0]!, version: parts[1]! };
  return resourceRoute(method, { group: parts[0]!, version: parts[1]!, rest: parts.slice(2) }, query, catalog);
}

interface Located {
  group: string;
  version: string;
  /** Path segments after the version. */
  rest: string[];
}

function resourceRoute(method: string, at: Located, query: URLSearchParams, catalog: ResourceCatalog): Route {
  let rest = at.rest;
  let namespace: string | undefined;
  // `namespaces/<ns>/<plural>/…` addresses a namespaced resource; `namespaces/<ns>` the namespace.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = catalog.find(at.group, at.version, rest[2]!);
    if (inner?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const type = catalog.find(at.group, at.version, rest[0]!);
  // `…/{name}/proxy/{path}`: the path after `proxy` is the proxied request's, any method its own.
  const proxied = rest[2] === 'proxy';
  if (!type || (rest.length > 3 && !proxied)) return { kind: 'not-found' };
  if (type.namespaced !== (namespace !== undefined) && rest.length > 1) return { kind: 'not-found' };
  const name = rest[1];
  const subresource = rest[2];
  // POST on a named object's subresource creates it (pods/<name>/binding, pods/<name>/eviction).
  const verb = proxied
    ? proxyVerb(method)
    : method === 'POST' && subresource !== undefined
      ? 'create'
      : verbOf(method, name !== undefined, query);
  if (!verb) return { kind: 'not-found' };
  return { kind: 'resource', type, verb, namespace, name, subresource };
}

function verbOf(method: string, hasName: boolean, query: URLSearchParams): Verb | undefined {
  const watch = query.get('watch');
  switch (method) {
    case 'GET':
      if (watch === 'true' || watch === '1') return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return hasName ? undefined : 'create';
    case 'PUT':
      return hasName ? 'update' : undefined;
    case 'PATCH':
      return hasName ? 'patch' : undefined;
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}

/** The verb a proxied request is authorized as: the one its method maps to, `get` for reads. */
function proxyVerb(method: string): Verb {
  const verbs: Record<string, Verb> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
  return verbs[method] ?? 'get';
}
