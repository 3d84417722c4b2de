import { Counter, Gauge, type Registry } from 'prom-client';
import { MIGRATION_OUTCOMES } from './mover.js';

/** The gateway's Prometheus metrics (DESIGN.md section 6). */
export interface GatewayMetrics {
  migrations: Counter<'outcome'>;
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
  const migrations = new Counter({
    name: 'imring_gateway_migrations_total',
    help:
      'Connections moved off this gateway (ring moved their user away, or shutting down), by outcome: graceful ' +
      '(asked to move, gone before the deadline), deadline (asked, closed at the deadline), closed (did not opt in: ' +
      'closed with 4001/4002 at once).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Every outcome from 0, so a rate over the first move is not missing a sample.
  for (const outcome of MIGRATION_OUTCOMES) migrations.inc({ outcome }, 0);
  return {
    migrations,
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
