import { Counter, Gauge, type Registry } from 'prom-client';

/** The gateway's Prometheus metrics (DESIGN.md section 6). */
export interface GatewayMetrics {
  migrations: Counter;
  deliveries: Counter<'result'>;
  closes: Counter<'code'>;
  authFailures: Counter<'reason'>;
}

/**
 * Registers the gateway metrics in `registry`. The two gauges read `stats()` at scrape time
 * (the connection table keeps the counts incrementally, so a scrape costs two field reads).
 */
export function gatewayMetrics(
  registry: Registry,
  stats: () => { connections: number; misplaced: number },
): GatewayMetrics {
  new Gauge({
    name: 'imring_gateway_connections',
    help: 'Open client connections.',
    registers: [registry],
    collect() {
      this.set(stats().connections);
    },
  });
  new Gauge({
    name: 'imring_gateway_misplaced_connections',
    help: 'Connections of users this gateway does not own in the served ring.',
    registers: [registry],
    collect() {
      this.set(stats().misplaced);
    },
  });
  return {
    migrations: new Counter({
      name: 'imring_gateway_migrations_total',
      help: 'Connections closed with 4001 because the committed ring moved their user away.',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'imring_gateway_deliveries_total',
      help: 'Deliver results per (message, user): delivered, not_here, migrated.',
      labelNames: ['result'],
      registers: [registry],
    }),
    closes: new Counter({
      name: 'imring_gateway_closes_total',
      help: 'Connections the gateway closed, by close code (1006: ping timeout or teardown).',
      labelNames: ['code'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'imring_gateway_auth_failures_total',
      help: 'Upgrades refused for their token (closed 4401), by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
