import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouteResult } from './routing.js';

/** Which way bytes went: `upstream` = client → gateway, `downstream` = gateway → client. */
export type Direction = 'upstream' | 'downstream';

/** The proxy's metrics, registered on one Registry. */
export interface ProxyMetrics {
  /** Counts one upgrade by how it ended and to which member (`''` when none was chosen). */
  route(result: RouteResult, owner: string): void;
  /** Adds forwarded bytes. */
  bytes(direction: Direction, count: number): void;
}

/** What the metrics read at scrape time. */
export interface MetricSources {
  /** Upgrades being dialled or piped. */
  connections(): number;
  /** Called before a scrape: adds the bytes live pipes forwarded since the last call. */
  flushBytes(): void;
}

/**
 * Registers `imring_proxy_routes_total{result,owner}`, `imring_proxy_connections` and
 * `imring_proxy_bytes_total{direction}` on `registry`.
 */
export function createProxyMetrics(registry: Registry, sources: MetricSources): ProxyMetrics {
  const routes = new Counter({
    name: 'imring_proxy_routes_total',
    help: 'Websocket upgrades by result (ok, no_ring, fenced, shed, bad_request, unauthorized, unreachable, overloaded, aborted) and owning member',
    labelNames: ['result', 'owner'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'imring_proxy_connections',
    help: 'Client connections being dialled or piped to a gateway',
    registers: [registry],
    collect() {
      this.set(sources.connections());
    },
  });
  const bytes = new Counter({
    name: 'imring_proxy_bytes_total',
    help: 'Bytes forwarded, upstream (client to gateway, request head included) and downstream (gateway to client)',
    labelNames: ['direction'] as const,
    registers: [registry],
    collect() {
      // Socket byte counts are read at scrape time: nothing is counted per chunk on the hot path.
      sources.flushBytes();
    },
  });
  // Both directions show as 0 before any traffic, so rate() works from the first scrape.
  bytes.inc({ direction: 'upstream' }, 0);
  bytes.inc({ direction: 'downstream' }, 0);
  return {
    route: (result, owner) => routes.inc({ result, owner }),
    bytes: (direction, count) => {
      if (count > 0) bytes.inc({ direction }, count);
    },
  };
}
