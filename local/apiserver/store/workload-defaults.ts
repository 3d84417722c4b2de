import type { StatusCause } from '../errors.js';
import type { KubeObject } from '../types.js';

/**
 * The defaults and validation rules of the apps/v1 workload kinds that manage pods from a
 * template (pkg/apis/apps/v1/defaults.go, pkg/apis/apps/validation): Deployments and
 * ReplicaSets; StatefulSets share the selector rule.
 */

type Json = Record<string, unknown>;

/** Kinds with `spec.selector` and `spec.template`, whose selector must select the template. */
export const TEMPLATE_KINDS: ReadonlySet<string> = new Set(['StatefulSet', 'Deployment', 'ReplicaSet']);

/** SetDefaults_Deployment: replicas, a 25%/25% RollingUpdate, history and progress deadline. */
export function defaultDeployment(spec: Json): void {
  spec.replicas ??= 1;
  const strategy = (spec.strategy ??= {}) as Json;
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rolling = (strategy.rollingUpdate ??= {}) as Json;
    rolling.maxUnavailable ??= '25%';
    rolling.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
}

/** SetDefaults_ReplicaSet: one replica. */
export function defaultReplicaSet(spec: Json): void {
  spec.replicas ??= 1;
}

/**
 * apps/v1's rules for a template kind: a selector is required and must match the template's
 * labels; a Deployment's RollingUpdate may not have both maxSurge and maxUnavailable 0, and
 * Recreate takes no rollingUpdate.
 */
export function workloadCauses(kind: string, object: KubeObject): StatusCause[] {
  if (!TEMPLATE_KINDS.has(kind)) return [];
  const spec = (object.spec ?? {}) as Json;
  const causes = selectorCauses(spec);
  if (kind === 'Deployment') causes.push(...strategyCauses(spec));
  return causes;
}

function selectorCauses(spec: Json): StatusCause[] {
  const selector = spec.selector as { matchLabels?: Record<string, string> } | undefined;
  if (!selector) return [{ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' }];
  const labels = ((spec.template as Json | undefined)?.metadata as Json | undefined)?.labels as
    Record<string, string> | undefined;
  const matches = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
  if (matches) return [];
  return [
    {
      reason: 'FieldValueInvalid',
      field: 'spec.template.metadata.labels',
      message: `Invalid value: ${JSON.stringify(labels ?? {})}: \`selector\` does not match template \`labels\``,
    },
  ];
}

function strategyCauses(spec: Json): StatusCause[] {
  const strategy = (spec.strategy ?? {}) as Json;
  const rolling = strategy.rollingUpdate as Json | undefined;
  if (strategy.type === 'Recreate') {
    if (rolling === undefined) return [];
    const message = "Forbidden: may not be specified when strategy `type` is 'Recreate'";
    return [{ reason: 'FieldValueForbidden', field: 'spec.strategy.rollingUpdate', message }];
  }
  if (rolling === undefined || !isZero(rolling.maxSurge) || !isZero(rolling.maxUnavailable)) return [];
  return [
    {
      reason: 'FieldValueInvalid',
      field: 'spec.strategy.rollingUpdate.maxUnavailable',
      message: `Invalid value: ${JSON.stringify(rolling.maxUnavailable)}: may not be 0 when \`maxSurge\` is 0`,
    },
  ];
}

/** An IntOrString of 0 or `0%`. */
function isZero(value: unknown): boolean {
  return value === 0 || value === '0%' || value === '0';
}
