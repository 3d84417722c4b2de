/**
 * The operator's Prometheus metrics (DESIGN.md section 7): reconciles by result, API writes by
 * kind and verb, queue depth, reconcile duration, the duration of each transition phase, and
 * whether this process leads.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '../kube/metrics.js';
import type { TransitionDecision } from './transition-types.js';

export interface OperatorMetrics {
  readonly registry: Registry;
  readonly reconciles: Counter<'result'>;
  readonly reconcileSeconds: Histogram;
  readonly apiWrites: Counter<'kind' | 'verb'>;
  readonly queueDepth: Gauge;
  readonly transitionSteps: Counter<'step'>;
  readonly stepSeconds: Histogram<'step'>;
  readonly leader: Gauge;
  /** Watch events the informers delivered, by resource (plural) and event (add, update, delete). */
  readonly informerEvents: Counter<'resource' | 'event'>;
  /** Records a protocol step a reconcile took. */
  observeStep(step: string, decision: TransitionDecision): void;
}

/** A fresh registry with the operator's metrics and the process metrics. */
export function createOperatorMetrics(): OperatorMetrics {
  const registry = createRegistry('operator');
  const registers = [registry];
  const transitionSteps = new Counter({
    name: 'imring_operator_transition_steps_total',
    help: 'Protocol steps taken (ring writes and timeouts), by the step reached',
    labelNames: ['step'] as const,
    registers,
  });
  const stepSeconds = new Histogram({
    name: 'imring_operator_transition_step_seconds',
    help: 'How long each transition phase lasted: Barrier (Prepared written → committed), Draining (committed → converged)',
    labelNames: ['step'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  return {
    registry,
    reconciles: new Counter({
      name: 'imring_operator_reconciles_total',
      help: 'Reconciles, by result (ok, conflict, error)',
      labelNames: ['result'] as const,
      registers,
    }),
    reconcileSeconds: new Histogram({
      name: 'imring_operator_reconcile_seconds',
      help: 'Duration of one reconcile',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    apiWrites: new Counter({
      name: 'imring_operator_api_writes_total',
      help: 'Writes sent to the API server, by kind and verb',
      labelNames: ['kind', 'verb'] as const,
      registers,
    }),
    queueDepth: new Gauge({ name: 'imring_operator_queue_depth', help: 'Keys waiting in the work queue', registers }),
    transitionSteps,
    stepSeconds,
    informerEvents: new Counter({
      name: 'imring_operator_informer_events_total',
      help: 'Watch events delivered by the informers, by resource and event (each enqueues a reconcile)',
      labelNames: ['resource', 'event'] as const,
      registers,
    }),
    leader: new Gauge({
      name: 'imring_operator_leader',
      help: '1 while this process is the elected leader',
      registers,
    }),
    observeStep(step, decision) {
      transitionSteps.inc({ step });
      if (decision.completed) stepSeconds.observe({ step: decision.completed.step }, decision.completed.seconds);
    },
  };
}
