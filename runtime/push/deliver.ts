import { DEFAULT_POLICY, type Ring, type RingMember } from '../../ring/index.js';
import type { GatewayMessage, PushMessage, PushResult, UserResult } from '../protos.js';
import type { RingSource } from '../ring-source.js';
import {
  gatewayMessages,
  groupByOwner,
  nextStep,
  orderedResults,
  outcomeKey,
  outcomeLabel,
  reachedOutcome,
  toResult,
  type OwnerGroup,
  type Outcome,
  type Reached,
  type Stage,
  type StepInput,
  type Unit,
} from './plan.js';

/**
 * What an ask of a user's previous owner for the platforms its current owner did not reach
 * found: `delivered` (more platforms), `none`, `migrated` (one moved away there: the current
 * owner is asked once more), `error` (the result stays realtime); or `avoided`: not asked,
 * that gateway reported no misplaced connection, or push cannot reach it now.
 */
export type PlatformAsk = 'delivered' | 'none' | 'migrated' | 'error' | 'avoided';

/** What {@link deliverMessages} needs: the ring, the gateways, the sink and a clock. */
export interface DeliverContext {
  /**
   * Asked for its routing ring at each round; fenced or without a ring, the users left are
   * offline (`no_ring`, or `not_connected` for those waiting for a handoff).
   */
  readonly ringSource: Pick<RingSource, 'routingRing'>;
  /**
   * Delivers `messages` at `member`: the result of each (message, user) pair in the order sent
   * (`undefined` where the gateway gave none), or rejects (the batch failed).
   */
  readonly deliver: (
    member: RingMember,
    messages: GatewayMessage[],
    ringVersion: number,
  ) => Promise<(UserResult | undefined)[]>;
  /**
   * True when `member`'s latest answer reported 0 misplaced connections while it served
   * `ringVersion` or a later ring: no user moves away from it, so it holds no platform of a
   * user owned elsewhere. False when unknown.
   */
  readonly holdsNoMovingUser: (member: RingMember, ringVersion: number) => boolean;
  /**
   * True when push cannot reach `member` now: not resolvable, refusing connections or its stream
   * failed, since its latest answer, and no stream to it is open (e.g. a removed member whose pod
   * is gone, while the ring still names it in `previous`). It is not asked for other platforms, an
   * ask that would fail; asks of other stages still go, and its first answer ends this.
   */
  readonly isUnreachable: (member: RingMember) => boolean;
  /** Told of each ask of a previous owner for other platforms (and of each one avoided). */
  readonly onPlatformAsk: (result: PlatformAsk) => void;
  /** Told of each unit's final outcome as soon as it is known (metrics, offline sink). */
  readonly onOutcomes: (outcomes: readonly { result: PushResult; label: string }[]) => void;
  /** Wait between handoff retries of a user at its current owner, in ms. */
  readonly handoffRetryMs: number;
  readonly now: () => number;
  /** Resolves after `ms` (injected: tests advance a fake clock instead of sleeping). */
  readonly sleep: (ms: number) => Promise<void>;
  /** True once push is closing: handoff waits end early. */
  readonly isClosing: () => boolean;
}

/** A unit still to be answered, and where to ask next. */
interface Pending {
  readonly unit: Unit;
  readonly stage: Stage;
  /** The previous ring's owner (stages `previous` and `platforms`). */
  readonly previousOwner?: RingMember;
  /** Stage `previous`: the ask of the current owner failed. */
  readonly currentFailed?: boolean;
  /** End of this user's handoff window, on the injected clock, in ms (stage `handoff` only). */
  readonly deadline?: number;
  /**
   * What earlier asks delivered (stages `platforms` and `recheck`, and `handoff` after `platforms`): its
   * platforms are skipped.
   */
  readonly reached?: Reached;
}

/**
 * The push algorithm (DESIGN.md section 6) over the distinct (message, user) `units`: rounds
 * of one batch per gateway, all gateways in parallel. Round 1 asks each user's current owner;
 * NOT_HERE users, and those whose ask failed there, are asked at their previous owner in the next
 * round (a failure stays counted, and a user found nowhere is `gateway_error`); MIGRATED users are asked
 * at their current owner again, every `handoffRetryMs`, until their handoff window (the ring's
 * `policy.handoffWindowMs` from the first MIGRATED answer) ends. A round only waits when every
 * user left is waiting for a handoff, so settled users are never held back by a wait, and the
 * whole call is bounded by one handoff window plus a few gateway round trips.
 *
 * A user with several platforms can be split while moving: users DELIVERED at their current
 * owner are asked at their previous owner too, when it differs and may still hold users moving
 * away, for the platforms not reached yet (`Message.skip`), so each platform gets the message
 * once. If that answers MIGRATED (a platform left it meanwhile), the current owner is asked
 * once more, at once: a platform moving make-before-break was open there before it left. For
 * the same reason a user found only at its previous owner is asked at its current owner once
 * more, for the platforms not reached: one may have moved there between the two asks.
 */
export async function deliverMessages(
  messages: readonly PushMessage[],
  units: readonly Unit[],
  context: DeliverContext,
): Promise<PushResult[]> {
  const outcomes = new Map<string, Outcome>();
  let pending: Pending[] = units.map((unit) => ({ unit, stage: 'current' }));
  while (pending.length > 0) {
    if (pending.every((p) => p.stage === 'handoff')) await waitForHandoff(pending, context);
    // One routing answer per round: a fence that closed since the last round stops it here.
    const routing = context.ringSource.routingRing();
    const settled: [Unit, Outcome][] = [];
    pending =
      'refused' in routing
        ? settleAll(pending, settled, NO_RING)
        : await round({ ring: routing.ring, pending, settled, messages, context });
    for (const [unit, outcome] of settled) outcomes.set(outcomeKey(unit.message, unit.userId), outcome);
    context.onOutcomes(
      settled.map(([unit, outcome]) => ({
        result: toResult(messages[unit.message]!.msgId, unit.userId, outcome),
        label: outcomeLabel(outcome),
      })),
    );
  }
  return orderedResults(messages, outcomes);
}

const NO_RING: Outcome = { status: 'offline', reason: 'no_ring' };
const NOT_CONNECTED: Outcome = { status: 'offline', reason: 'not_connected' };

interface Round {
  readonly ring: Ring;
  readonly pending: readonly Pending[];
  readonly settled: [Unit, Outcome][];
  readonly messages: readonly PushMessage[];
  readonly context: DeliverContext;
}

/** One batch per gateway, in parallel; returns the units to ask again. */
async function round({ ring, pending, settled, messages, context }: Round): Promise<Pending[]> {
  const ownerOf = (item: Pending): RingMember | undefined => item.previousOwner ?? ring.owner(item.unit.userId);
  const { groups, unowned } = groupByOwner(pending, ownerOf);
  for (const item of unowned) settled.push([item.unit, finalOutcome(item, NO_RING)]);
  const answers = await Promise.all(groups.map((group) => ask(group, { ring, messages, context })));
  const next: Pending[] = [];
  for (const { member, items, results } of answers) {
    for (let i = 0; i < items.length; i++) {
      const step = classify(items[i]!, results?.[i], { ring, context, asked: member });
      if ('done' in step) settled.push([items[i]!.unit, step.done]);
      else next.push(step.pending);
    }
  }
  return next;
}

interface Answer {
  readonly member: RingMember;
  readonly items: Pending[];
  /** Per item; undefined when the batch failed. */
  readonly results: (UserResult | undefined)[] | undefined;
}

async function ask(group: OwnerGroup<Pending>, round: Pick<Round, 'ring' | 'messages' | 'context'>): Promise<Answer> {
  // Sorted by message (stable), the items line up with the pairs sent and their results.
  const items = group.items.toSorted((a, b) => a.unit.message - b.unit.message);
  const sent = gatewayMessages(
    items.map((p) => p.unit),
    round.messages,
    (i) => items[i]!.reached?.platforms,
  );
  try {
    const results = await round.context.deliver(group.member, sent, round.ring.version);
    return { member: group.member, items, results };
  } catch {
    // Counted and logged by the gateway pool, once per incident; here the users go offline.
    return { member: group.member, items, results: undefined };
  }
}

function classify(
  item: Pending,
  result: UserResult | undefined,
  at: { ring: Ring; context: DeliverContext; asked: RingMember },
): { done: Outcome } | { pending: Pending } {
  const { ring, context } = at;
  if (item.stage === 'platforms') context.onPlatformAsk(platformAsk(result));
  const now = context.now();
  const previousOwner = item.stage === 'current' ? ring.previous?.owner(item.unit.userId) : undefined;
  const hasDistinctPrevious = previousOwner !== undefined && previousOwner.name !== at.asked.name;
  const deadline = item.deadline ?? handoffDeadline(item, ring, now);
  const status = result?.status ?? 'FAILED';
  const step = nextStep({
    stage: item.stage,
    status,
    connections: result?.connections ?? 0,
    ...earlierAsks(item),
    hasDistinctPrevious,
    previousMayHoldPlatforms:
      hasDistinctPrevious && status === 'DELIVERED' && shouldAskForPlatforms(previousOwner, ring, context),
    handoffOpen: !context.isClosing() && (item.stage === 'platforms' || now < deadline),
  });
  return 'done' in step ? step : { pending: pendingAfter(step.retry, item, { previousOwner, deadline, result }) };
}

/** What the asks of `item` before this one found, as {@link nextStep} takes it. */
function earlierAsks(item: Pending): Pick<StepInput, 'reached' | 'reachedVia' | 'currentFailed'> {
  return { reached: item.reached?.connections ?? 0, reachedVia: item.reached?.via, currentFailed: item.currentFailed };
}

/** `item` asked next at `stage`, after `result` (undefined: the ask failed). */
function pendingAfter(
  stage: Stage,
  item: Pending,
  after: { previousOwner: RingMember | undefined; deadline: number; result: UserResult | undefined },
): Pending {
  const { unit, reached } = item;
  const { connections = 0, platforms = [] } = after.result ?? {};
  switch (stage) {
    case 'handoff':
      return { unit, stage, deadline: after.deadline, reached };
    case 'platforms':
      return { unit, stage, previousOwner: after.previousOwner!, reached: { connections, platforms, via: 'current' } };
    case 'recheck':
      return { unit, stage, reached: { connections, platforms, via: 'previous' } };
    default:
      return { unit, stage, previousOwner: after.previousOwner!, currentFailed: after.result === undefined };
  }
}

/**
 * When a handoff that starts now ends: after the ring's handoff window, or right now after the
 * platforms ask (the current owner is asked once more, at once).
 */
function handoffDeadline(item: Pending, ring: Ring, now: number): number {
  if (item.stage === 'platforms') return now;
  return now + (ring.document?.policy.handoffWindowMs ?? DEFAULT_POLICY.handoffWindowMs);
}

/**
 * False (and counted as avoided) when `previousOwner` said it holds no user moving away, or push
 * cannot reach it now.
 */
function shouldAskForPlatforms(previousOwner: RingMember, ring: Ring, context: DeliverContext): boolean {
  if (!context.holdsNoMovingUser(previousOwner, ring.version) && !context.isUnreachable(previousOwner)) return true;
  context.onPlatformAsk('avoided');
  return false;
}

function platformAsk(result: UserResult | undefined): PlatformAsk {
  if (result === undefined) return 'error';
  if (result.status === 'DELIVERED') return 'delivered';
  return result.status === 'MIGRATED' ? 'migrated' : 'none';
}

/** The outcome of `item` when it is asked no more: realtime if an earlier ask reached it, else `otherwise`. */
function finalOutcome(item: Pending, otherwise: Outcome): Outcome {
  return item.reached === undefined ? otherwise : reachedOutcome(item.reached.connections, item.reached.via);
}

/** Sleeps `handoffRetryMs`, or less so that no user's window ends unasked. */
async function waitForHandoff(pending: readonly Pending[], context: DeliverContext): Promise<void> {
  const earliest = Math.min(...pending.map((p) => p.deadline ?? Number.POSITIVE_INFINITY));
  const wait = Math.max(0, Math.min(context.handoffRetryMs, earliest - context.now()));
  if (wait > 0 && !context.isClosing()) await context.sleep(wait);
}

function settleAll(pending: readonly Pending[], settled: [Unit, Outcome][], outcome: Outcome): Pending[] {
  for (const item of pending) {
    settled.push([item.unit, finalOutcome(item, item.stage === 'handoff' ? NOT_CONNECTED : outcome)]);
  }
  return [];
}
