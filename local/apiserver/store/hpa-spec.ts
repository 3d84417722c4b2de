/** The defaults and validation the API server gives autoscaling/v2 HorizontalPodAutoscalers. */
import type { StatusCause } from '../errors.js';
import type { KubeObject } from '../types.js';

type Json = Record<string, unknown>;

/** The CPU utilization target of an HPA that names no metric, in percent of request. */
export const DEFAULT_CPU_UTILIZATION = 80;

/**
 * The scale-up rules a `behavior` gets for what it leaves out: no stabilization, and the larger
 * of 4 pods or 100 % per 15 s.
 */
const SCALE_UP_RULES = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};

/**
 * The scale-down rules a `behavior` gets: 100 % per 15 s. The stabilization window stays unset:
 * the controller fills it from its own setting (300 s by default).
 */
const SCALE_DOWN_RULES = { selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] };

/** Fills `minReplicas` (1), `metrics` (CPU at 80 %) and the parts of a given `behavior` left out. */
export function defaultHpa(object: KubeObject): void {
  const spec = (object.spec ??= {}) as Json;
  spec.minReplicas ??= 1;
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } },
      },
    ];
  }
  if (typeof spec.behavior === 'object' && spec.behavior !== null) {
    const behavior = spec.behavior as Json;
    behavior.scaleUp = { ...structuredClone(SCALE_UP_RULES), ...withoutNulls(behavior.scaleUp) };
    behavior.scaleDown = { ...structuredClone(SCALE_DOWN_RULES), ...withoutNulls(behavior.scaleDown) };
  }
}

/** What the API server refuses in an HPA spec (the rules a client can trip over). */
export function hpaCauses(object: KubeObject): StatusCause[] {
  const spec = (object.spec ?? {}) as Json;
  const ref = (spec.scaleTargetRef ?? {}) as Json;
  const causes: StatusCause[] = [];
  for (const field of ['kind', 'name'] as const) {
    if (typeof ref[field] !== 'string' || ref[field] === '') {
      causes.push({ reason: 'FieldValueRequired', field: `spec.scaleTargetRef.${field}`, message: 'Required value' });
    }
  }
  const min = spec.minReplicas as number;
  const max = spec.maxReplicas;
  if (!Number.isInteger(min) || min < 1) {
    causes.push(invalidValue('spec.minReplicas', min, 'must be greater than or equal to 1'));
  }
  if (!Number.isInteger(max) || (max as number) < 1) {
    causes.push(invalidValue('spec.maxReplicas', max, 'must be greater than 0'));
  } else if (Number.isInteger(min) && (max as number) < min) {
    causes.push(invalidValue('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  }
  (spec.metrics as Json[]).forEach((metric, i) => {
    const target = ((metric.resource ?? {}) as Json).target as Json | undefined;
    const utilization = target?.averageUtilization;
    if (target?.type === 'Utilization' && (!Number.isInteger(utilization) || (utilization as number) < 1)) {
      const field = `spec.metrics[${i}].resource.target.averageUtilization`;
      causes.push(invalidValue(field, utilization, 'must be greater than 0'));
    }
  });
  return causes;
}

function invalidValue(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value ?? null)}: ${why}` };
}

function withoutNulls(value: unknown): Json {
  const object = typeof value === 'object' && value !== null ? (value as Json) : {};
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== null && v !== undefined));
}
