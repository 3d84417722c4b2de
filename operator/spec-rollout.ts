/**
 * `spec.rollout` of an IMGateway: how many members a rollout replaces per ring change. Pure.
 *
 * `maxUnavailable` is a Kubernetes int-or-string, as a Deployment's: an integer (1..1000) or a
 * percentage of `spec.replicas` (`"10%"`, 1..100), rounded down but at least one member.
 */
import { isObject, unknownFields, type Check } from './spec-checks.js';

/** `spec.rollout.maxUnavailable` as written: a member count, or a percentage such as `"10%"`. */
export type MaxUnavailable = number | `${number}%`;

/** `spec.rollout` with its default filled in. */
export interface ResolvedRollout {
  /** Members a rollout takes out of the ring in one ring change. Default 1. */
  readonly maxUnavailable: MaxUnavailable;
}

/** The schema's default of `spec.rollout` (crds/imgateway.yaml). */
export const ROLLOUT_DEFAULTS: ResolvedRollout = Object.freeze({ maxUnavailable: 1 });

/** The schema's pattern of the percentage form, verbatim; and the integer form's bounds. */
export const MAX_UNAVAILABLE_PERCENT = /^([1-9][0-9]?|100)%$/;
export const MAX_UNAVAILABLE_RANGE = { min: 1, max: 1000 } as const;

const PATH = 'spec.rollout';

/** Reads `spec.rollout` (absent or null: the defaults); problems name `spec.rollout.maxUnavailable`. */
export function resolveRollout(raw: unknown, check: Check): ResolvedRollout {
  if (raw === undefined || raw === null) return ROLLOUT_DEFAULTS;
  if (!isObject(raw)) {
    check.problems.push({ field: PATH, message: 'must be an object' });
    return ROLLOUT_DEFAULTS;
  }
  unknownFields(raw, ['maxUnavailable'], PATH, check);
  const value = raw.maxUnavailable;
  if (value === undefined || value === null) return ROLLOUT_DEFAULTS;
  const problem = (message: string): ResolvedRollout => {
    check.problems.push({ field: `${PATH}.maxUnavailable`, message });
    return ROLLOUT_DEFAULTS;
  };
  if (typeof value === 'string') {
    if (MAX_UNAVAILABLE_PERCENT.test(value)) return { maxUnavailable: value as `${number}%` };
    return problem(`must be an integer or a percentage from "1%" to "100%", got ${JSON.stringify(value)}`);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    return problem(`must be an integer or a percentage string, got ${JSON.stringify(value)}`);
  }
  const { min, max } = MAX_UNAVAILABLE_RANGE;
  if (value < min || value > max) return problem(`must be between ${min} and ${max}, got ${value}`);
  return { maxUnavailable: value };
}

/**
 * How many members one rollout batch takes out of the ring at `replicas`: the count, or the percentage of
 * `replicas` rounded down, at least 1; and never all of them while there are two or more (a batch that emptied the
 * ring would leave its users nowhere to move), so at most `replicas - 1`.
 */
export function maxUnavailableMembers(rollout: ResolvedRollout, replicas: number): number {
  const { maxUnavailable } = rollout;
  const wanted =
    typeof maxUnavailable === 'number' ? maxUnavailable : Math.floor((parseInt(maxUnavailable, 10) * replicas) / 100);
  return Math.max(1, Math.min(wanted, replicas - 1));
}
