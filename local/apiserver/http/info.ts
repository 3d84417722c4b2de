import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';
import type { ResourceType } from '../types.js';
import { send } from './bodies.js';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  legacyApiVersions,
  negotiateDiscovery,
  servedAt,
} from './discovery.js';
import type { OpenApiCache } from '../openapi/openapi-cache.js';
import type { InfoRoute } from './router.js';

/** What the server's own endpoints describe. */
export interface ServerInfo {
  /** Every resource served. */
  readonly types: ResourceType[];
  /** The server's name option: the build tag of `/version`. */
  readonly name: string;
  /** `host:port` the server listens on, for legacy discovery. */
  readonly address: string;
  /** The server's OpenAPI documents of `types`. */
  readonly openApi: OpenApiCache;
}

/**
 * Gnostic's `openapi_v2.Document` protobuf: kubectl asks for the older `…spec.v2@v1.0+protobuf`
 * spelling, which Go's media-type parser refuses in a response's Content-Type, so the answer
 * carries the dotted one, as the apiserver's.
 */
const OPENAPI_V2_PROTOBUF = /application\/com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf/;
const OPENAPI_V2_PROTOBUF_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/**
 * Answers the endpoints about the server rather than its objects: `/version`, health,
 * discovery (legacy and aggregated) and OpenAPI (v3, and v2 as protobuf or JSON).
 * @throws ApiError 404 for what is not served.
 */
export function serveInfo(
  route: InfoRoute | { readonly kind: 'not-found' },
  req: IncomingMessage,
  res: ServerResponse,
  info: ServerInfo,
): void {
  const { types } = info;
  const found = (body: unknown): void => {
    if (body === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    send(res, 200, body);
  };
  switch (route.kind) {
    case 'version':
      return send(res, 200, versionInfo(info.name));
    case 'health':
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    case 'api':
    case 'apis':
      return serveDiscovery(route.kind, req, res, info);
    case 'api-group':
      return found(apiGroup(types, route.group));
    case 'api-resources':
      return found(apiResourceList(servedAt(types, route.group, route.version)));
    case 'openapi-root':
      return send(res, 200, info.openApi.root(types));
    case 'openapi-gv':
      return found(info.openApi.groupVersion(types, route.group, route.version));
    case 'openapi-v2':
      return serveOpenApiV2(req, res, info);
    default:
      return found(undefined);
  }
}

function serveDiscovery(root: 'api' | 'apis', req: IncomingMessage, res: ServerResponse, info: ServerInfo): void {
  const negotiated = negotiateDiscovery(req.headers.accept);
  if (negotiated.aggregated) {
    const body = aggregatedDiscovery(info.types, root, negotiated.version);
    res.writeHead(200, { 'Content-Type': negotiated.contentType }).end(JSON.stringify(body));
    return;
  }
  send(res, 200, root === 'api' ? legacyApiVersions(info.address) : apiGroupList(info.types));
}

/** The v2 document as protobuf when the client accepts it (kubectl), else as JSON. */
function serveOpenApiV2(req: IncomingMessage, res: ServerResponse, info: ServerInfo): void {
  const v2 = info.openApi.v2(info.types);
  if (!OPENAPI_V2_PROTOBUF.test(req.headers.accept ?? '')) return send(res, 200, v2.json);
  const headers = { 'Content-Type': OPENAPI_V2_PROTOBUF_TYPE, 'Content-Length': String(v2.protobuf.length) };
  res.writeHead(200, headers).end(v2.protobuf);
}

/** `/version` of a server named `name`. */
function versionInfo(name: string): Record<string, string> {
  return {
    major: '1',
    minor: '32',
    gitVersion: `v1.32.0+${name}`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'n/a',
    compiler: 'n/a',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
