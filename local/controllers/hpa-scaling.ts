/**
 * How far an HPA may move its target at once (the HPA controller's normalization,
 * kubernetes/pkg/controller/podautoscaler/horizontal.go): stabilization over recent
 * recommendations, then the behavior's rate policies (or, without a behavior, the legacy
 * limits), then min and max. Works on a per-HPA {@link ScalingHistory} the controller keeps.
 */

/** One direction's rules (`spec.behavior.scaleUp`/`scaleDown`, defaults filled by the API server). */
export interface ScalingRules {
  readonly stabilizationWindowSeconds?: number;
  readonly selectPolicy?: string;
  readonly policies?: readonly { readonly type: string; readonly value: number; readonly periodSeconds: number }[];
}

/** `spec.behavior`. */
export interface ScalingBehavior {
  readonly scaleUp?: ScalingRules;
  readonly scaleDown?: ScalingRules;
}

/** What the controller remembers of one HPA between syncs. */
export interface ScalingHistory {
  /** Recent proposals, oldest first. */
  recommendations: { replicas: number; at: number }[];
  /** Recent rescales up and down: how many replicas each added or removed. */
  scaleUps: { change: number; at: number }[];
  scaleDowns: { change: number; at: number }[];
}

/** What {@link normalizeReplicas} decides from. */
export interface NormalizeInput {
  readonly current: number;
  /** The metrics' proposal. */
  readonly proposed: number;
  readonly min: number;
  readonly max: number;
  readonly behavior: ScalingBehavior | undefined;
  /** The scale-down stabilization window when the behavior names none (or there is no behavior), in ms. */
  readonly downscaleStabilizationMs: number;
  readonly now: number;
}

/** A condition the normalization sets: its status, reason and message. */
export interface ConditionSetting {
  readonly status: 'True' | 'False';
  readonly reason: string;
  readonly message: string;
}

/** The replica count to set, and the AbleToScale and ScalingLimited conditions that explain it. */
export interface Normalized {
  readonly desired: number;
  readonly ableToScale: ConditionSetting;
  readonly scalingLimited: ConditionSetting;
}

/** Without a behavior, a scale-up goes at most to max(2 × current, 4). */
const LEGACY_SCALE_UP_FACTOR = 2;
const LEGACY_SCALE_UP_MINIMUM = 4;

/** A new, empty history holding `current` as its first recommendation. */
export function newHistory(current: number, now: number): ScalingHistory {
  return { recommendations: [{ replicas: current, at: now }], scaleUps: [], scaleDowns: [] };
}

/** Normalizes `proposed` and records it among the recommendations. */
export function normalizeReplicas(history: ScalingHistory, input: NormalizeInput): Normalized {
  const behavior = input.behavior;
  const upWindowMs = behavior ? (behavior.scaleUp?.stabilizationWindowSeconds ?? 0) * 1000 : 0;
  const downSeconds = behavior?.scaleDown?.stabilizationWindowSeconds;
  const downWindowMs = downSeconds === undefined ? input.downscaleStabilizationMs : downSeconds * 1000;
  const stabilized = stabilize(history, input, { upWindowMs, downWindowMs });
  const ableToScale: ConditionSetting =
    stabilized.replicas === input.proposed
      ? { status: 'True', reason: 'ReadyForNewScale', message: 'recommended size matches current size' }
      : { status: 'True', reason: stabilized.reason, message: stabilized.message };
  const limited = behavior
    ? rateLimited(history, input, stabilized.replicas, behavior)
    : legacyLimited(input, stabilized.replicas);
  return {
    desired: limited.replicas,
    ableToScale,
    scalingLimited: {
      status: limited.replicas === stabilized.replicas ? 'False' : 'True',
      reason: limited.reason,
      message: limited.message,
    },
  };
}

/** Remembers a rescale from `from` to `to`, for the rate policies of later syncs. */
export function recordRescale(history: ScalingHistory, from: number, to: number, now: number): void {
  if (to > from) history.scaleUps.push({ change: to - from, at: now });
  else if (to < from) history.scaleDowns.push({ change: from - to, at: now });
}

interface Limited {
  readonly replicas: number;
  readonly reason: string;
  readonly message: string;
}

const WITHIN_RANGE = { reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
const TOO_MANY = limitedBy('TooManyReplicas', 'more than the maximum replica count');
const TOO_FEW = limitedBy('TooFewReplicas', 'less than the minimum replica count');
const UP_LIMIT = limitedBy('ScaleUpLimit', 'increasing faster than the maximum scale rate');
const DOWN_LIMIT = limitedBy('ScaleDownLimit', 'decreasing faster than the maximum scale rate');

/** A ScalingLimited reason and its message, `the desired replica count is <how>`. */
function limitedBy(reason: string, how: string): { reason: string; message: string } {
  return { reason, message: `the desired replica count is ${how}` };
}

/**
 * The lowest recommendation of the scale-up window when going up, the highest of the scale-down
 * window when going down: a brief spike or dip does not move the target.
 */
function stabilize(
  history: ScalingHistory,
  input: NormalizeInput,
  windows: { upWindowMs: number; downWindowMs: number },
): { replicas: number; reason: string; message: string } {
  const up = input.proposed >= input.current;
  const windowMs = up ? windows.upWindowMs : windows.downWindowMs;
  let replicas = input.proposed;
  for (const rec of history.recommendations) {
    if (rec.at <= input.now - windowMs) continue;
    replicas = up ? Math.min(replicas, rec.replicas) : Math.max(replicas, rec.replicas);
  }
  const keepMs = Math.max(windows.upWindowMs, windows.downWindowMs);
  history.recommendations = history.recommendations.filter((r) => r.at > input.now - keepMs);
  history.recommendations.push({ replicas: input.proposed, at: input.now });
  return up
    ? {
        replicas,
        reason: 'ScaleUpStabilized',
        message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
      }
    : {
        replicas,
        reason: 'ScaleDownStabilized',
        message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
      };
}

function legacyLimited(input: NormalizeInput, desired: number): Limited {
  const upLimit = Math.max(LEGACY_SCALE_UP_FACTOR * input.current, LEGACY_SCALE_UP_MINIMUM);
  const ceiling = input.max > upLimit ? { replicas: upLimit, ...UP_LIMIT } : { replicas: input.max, ...TOO_MANY };
  if (desired < input.min) return { replicas: input.min, ...TOO_FEW };
  if (desired > ceiling.replicas) return ceiling;
  return { replicas: desired, ...WITHIN_RANGE };
}

function rateLimited(
  history: ScalingHistory,
  input: NormalizeInput,
  desired: number,
  behavior: ScalingBehavior,
): Limited {
  const { current, now } = input;
  if (desired > current) {
    const rules = behavior.scaleUp ?? {};
    history.scaleUps = recent(history.scaleUps, longestPeriod(rules), now);
    const limit = Math.max(current, scaleLimit(rules, current, history.scaleUps, { now, direction: 'up' }));
    const ceiling = input.max > limit ? { replicas: limit, ...UP_LIMIT } : { replicas: input.max, ...TOO_MANY };
    return desired > ceiling.replicas ? ceiling : { replicas: desired, ...WITHIN_RANGE };
  }
  if (desired < current) {
    const rules = behavior.scaleDown ?? {};
    history.scaleDowns = recent(history.scaleDowns, longestPeriod(rules), now);
    const limit = Math.min(current, scaleLimit(rules, current, history.scaleDowns, { now, direction: 'down' }));
    const floor = input.min < limit ? { replicas: limit, ...DOWN_LIMIT } : { replicas: input.min, ...TOO_FEW };
    return desired < floor.replicas ? floor : { replicas: desired, ...WITHIN_RANGE };
  }
  return { replicas: desired, ...WITHIN_RANGE };
}

/**
 * The furthest count the policies allow from where each policy's period began (current minus
 * what was added in it, or plus what was removed); `Max` picks the policy allowing the biggest
 * change, `Min` the smallest, `Disabled` none.
 */
function scaleLimit(
  rules: ScalingRules,
  current: number,
  events: readonly { change: number; at: number }[],
  at: { now: number; direction: 'up' | 'down' },
): number {
  const { now, direction } = at;
  if (rules.selectPolicy === 'Disabled') return current;
  const proposals = (rules.policies ?? []).map((policy) => {
    const changed = events.filter((e) => e.at > now - policy.periodSeconds * 1000).reduce((s, e) => s + e.change, 0);
    if (direction === 'up') {
      const start = current - changed;
      return policy.type === 'Pods' ? start + policy.value : Math.ceil(start * (1 + policy.value / 100));
    }
    const start = current + changed;
    return policy.type === 'Pods' ? start - policy.value : Math.trunc(start * (1 - policy.value / 100));
  });
  if (proposals.length === 0) return current;
  const biggest = direction === 'up' ? Math.max(...proposals) : Math.min(...proposals);
  const smallest = direction === 'up' ? Math.min(...proposals) : Math.max(...proposals);
  return rules.selectPolicy === 'Min' ? smallest : biggest;
}

function longestPeriod(rules: ScalingRules): number {
  return Math.max(0, ...(rules.policies ?? []).map((p) => p.periodSeconds));
}

function recent<T extends { at: number }>(events: T[], periodSeconds: number, now: number): T[] {
  return events.filter((e) => e.at > now - periodSeconds * 1000);
}
