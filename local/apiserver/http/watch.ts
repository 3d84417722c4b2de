import type { ServerResponse } from 'node:http';
import { ApiError, badRequest } from '../errors.js';
import { apiVersionOf } from '../store/paths.js';
import { servedVersion } from '../store/hpa-versions.js';
import { storageKey } from '../store/resource-catalog.js';
import type { ResourceRoute } from './router.js';
import { matchesFields, parseFieldSelector } from '../store/field-selectors.js';
import { matchesLabels, parseLabelSelector } from '../store/selectors.js';
import type { ObjectStore, StoreEvent } from '../store/store.js';
import type { KubeObject } from '../types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** How a watch stream renders each object (a Table row for `kubectl get -w`). */
export type RenderObject = (object: KubeObject) => unknown;

export interface WatchOptions {
  readonly store: ObjectStore;
  readonly render: RenderObject;
  /** Interval between BOOKMARK events when the client allows them, in ms. */
  readonly bookmarkIntervalMs: number;
  /** Upper bound of a watch's life when the client names none, in seconds. */
  readonly maxTimeoutSeconds: number;
  /** Bytes a watcher may leave unread before the server ends its stream (it re-watches). */
  readonly maxBufferedBytes: number;
}

/** An open watch stream; `close()` ends it cleanly (the client resumes from its last version). */
export interface OpenWatch {
  close(): void;
}

/**
 * Serves `GET …?watch=1`: the response headers go out at once (client-node waits for them),
 * then one JSON event per line. Without a resourceVersion (or with "0") the stream starts
 * with an ADDED event for every current object; from an older version than the kept history
 * it sends one ERROR event with a 410 Status and ends, as the API server does.
 */
export function serveWatch(
  route: ResourceRoute,
  query: URLSearchParams,
  res: ServerResponse,
  options: WatchOptions,
): OpenWatch {
  const labels = parseLabelSelector(query.get('labelSelector') ?? '');
  const fields = parseFieldSelector(query.get('fieldSelector') ?? '', route.type);
  const from = startVersion(query.get('resourceVersion'));
  const resource = storageKey(route.type);
  const matches = (o: KubeObject | undefined): boolean =>
    o !== undefined &&
    (route.namespace === undefined || o.metadata?.namespace === route.namespace) &&
    (route.name === undefined || o.metadata?.name === route.name) &&
    matchesLabels(labels, o.metadata?.labels) &&
    matchesFields(fields, o);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = (): void => undefined;
  const close = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    timers.forEach(clearTimeout);
    res.end();
  };
  const send = (type: WatchEventType, object: unknown): void => {
    if (closed) return;
    res.write(`${JSON.stringify({ type, object })}\n`);
    if (res.writableLength > options.maxBufferedBytes) close();
  };
  const served = (o: KubeObject): unknown =>
    options.render(route.type.custom ? { ...o, apiVersion: apiVersionOf(route.type) } : servedVersion(route.type, o));
  const onEvent = (event: StoreEvent): void => {
    if (event.resource !== resource) return;
    const type = transition(event, matches);
    if (type) send(type, served(event.object));
  };

  try {
    if (from === undefined) {
      for (const object of options.store.list(resource, route.namespace))
        if (matches(object)) send('ADDED', served(object));
    }
    unsubscribe = options.store.subscribe(from ?? options.store.resourceVersion, onEvent);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 410) throw error;
    send('ERROR', error.toStatus());
    close();
    return { close };
  }
  res.on('close', close);
  const timeout = Number(query.get('timeoutSeconds') ?? options.maxTimeoutSeconds);
  timers.push(setTimeout(close, Math.min(Math.max(timeout, 0), options.maxTimeoutSeconds) * 1000));
  if (query.get('allowWatchBookmarks') === 'true') {
    const bookmark = (): void => {
      send('BOOKMARK', {
        kind: route.type.kind,
        apiVersion: apiVersionOf(route.type),
        metadata: { resourceVersion: String(options.store.resourceVersion) },
      });
      timers[1] = setTimeout(bookmark, options.bookmarkIntervalMs);
    };
    timers[1] = setTimeout(bookmark, options.bookmarkIntervalMs);
  }
  return { close };
}

/** What a watcher with a filter sees of a change: objects entering and leaving it too. */
function transition(event: StoreEvent, matches: (o: KubeObject | undefined) => boolean): WatchEventType | undefined {
  const now = matches(event.object);
  if (event.type !== 'MODIFIED') return now ? event.type : undefined;
  const before = matches(event.previous);
  if (before && now) return 'MODIFIED';
  if (now) return 'ADDED';
  return before ? 'DELETED' : undefined;
}

/** The resourceVersion to resume after, or undefined to start with the current state. */
function startVersion(value: string | null): number | undefined {
  if (value === null || value === '' || value === '0') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw badRequest(`resourceVersion: Invalid value: "${value}": must be a non-negative integer`);
  return n;
}
