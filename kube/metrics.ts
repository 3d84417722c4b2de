import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
} from 'prom-client';

/**
 * A component's Prometheus registry: every metric it exports carries the default label
 * `component` (`operator`, `gateway`, `proxy`, `push`), and the process metrics of prom-client
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`, event loop lag, heap) are
 * registered on it, so `/metrics` of one registry is the whole picture.
 */
export function createRegistry(component: string): Registry {
  if (typeof component !== 'string' || component === '') throw new TypeError('component must be a non-empty string');
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * The counter `config.name` of `registry`, created on first use. Several instances of one
 * component (tests, two watchers in one process) share a registry without a duplicate-name
 * error, and add to the same series.
 */
export function registryCounter<T extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<T>, 'registers'>,
): Counter<T> {
  return registered(registry, config.name, Counter<T>) ?? new Counter<T>({ ...config, registers: [registry] });
}

/** The gauge `config.name` of `registry`, created on first use (see {@link registryCounter}). */
export function registryGauge<T extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<T>, 'registers'>,
): Gauge<T> {
  return registered(registry, config.name, Gauge<T>) ?? new Gauge<T>({ ...config, registers: [registry] });
}

/** The metric `name` already in `registry` if it is a `kind`; throws if it is of another kind. */
function registered<M>(registry: Registry, name: string, kind: abstract new (...args: never[]) => M): M | undefined {
  const existing = registry.getSingleMetric(name);
  if (existing === undefined || existing instanceof kind) return existing;
  throw new TypeError(`metric ${name} is registered, but not as a ${kind.name.toLowerCase()}`);
}
