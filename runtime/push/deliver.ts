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
  toResult,
  type OwnerGroup,
  type Outcome,
  type Stage,
  type Unit,
} from './plan.js';

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
  /** The previous ring's owner (stage `previous` only). */
  readonly previousOwner?: RingMember;
  /** End of this user's handoff window, on the injected clock, in ms (stage `handoff` only). */
  readonly deadline?: number;
}

/**
 * The push algorithm (DESIGN.md section 6) over the distinct (message, user) `units`: rounds
 * of one batch per gateway, all gateways in parallel. Round 1 asks each user's current owner;
 * NOT_HERE users are asked at their previous owner in the next round; MIGRATED users are asked
 * at their current owner again, every `handoffRetryMs`, until their handoff window (the ring's
 * `policy.handoffWindowMs` from the first MIGRATED answer) ends. A round only waits when every
 * user left is waiting for a handoff, so settled users are never held back by a wait, and the
 * whole call is bounded by one handoff window plus a few gateway round trips.
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
const GATEWAY_ERROR: Outcome = { status: 'offline', reason: 'gateway_error' };
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
  const ownerOf = (item: Pending): RingMember | undefined =>
    item.stage === 'previous' ? item.previousOwner : ring.owner(item.unit.userId);
  const { groups, unowned } = groupByOwner(pending, ownerOf);
  for (const item of unowned) settled.push([item.unit, NO_RING]);
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
  if (result === undefined) return { done: GATEWAY_ERROR };
  const now = at.context.now();
  const previousOwner = item.stage === 'current' ? at.ring.previous?.owner(item.unit.userId) : undefined;
  const deadline = item.deadline ?? now + (at.ring.document?.policy.handoffWindowMs ?? DEFAULT_POLICY.handoffWindowMs);
  const step = nextStep({
    stage: item.stage,
    status: result.status,
    connections: result.connections,
    hasDistinctPrevious: previousOwner !== undefined && previousOwner.name !== at.asked.name,
    handoffOpen: now < deadline && !at.context.isClosing(),
  });
  if ('done' in step) return step;
  return step.retry === 'previous'
    ? { pending: { unit: item.unit, stage: 'previous', previousOwner: previousOwner! } }
    : { pending: { unit: item.unit, stage: 'handoff', deadline } };
}

/** Sleeps `handoffRetryMs`, or less so that no user's window ends unasked. */
async function waitForHandoff(pending: readonly Pending[], context: DeliverContext): Promise<void> {
  const earliest = Math.min(...pending.map((p) => p.deadline ?? Number.POSITIVE_INFINITY));
  const wait = Math.max(0, Math.min(context.handoffRetryMs, earliest - context.now()));
  if (wait > 0 && !context.isClosing()) await context.sleep(wait);
}

function settleAll(pending: readonly Pending[], settled: [Unit, Outcome][], outcome: Outcome): Pending[] {
  for (const item of pending) settled.push([item.unit, item.stage === 'handoff' ? NOT_CONNECTED : outcome]);
  return [];
}
