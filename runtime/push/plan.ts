import type { RingMember } from '../../ring/index.js';
import type { DeliveryStatus, GatewayMessage, PushMessage, PushResult, UserResult } from '../protos.js';

/**
 * The pure half of push (DESIGN.md section 6): which gateway to ask about whom, and how the
 * answers become one result per (message, recipient). No I/O, no clock.
 */

/** One (message, user) pair to deliver. Duplicate recipients of one message share one unit. */
export interface Unit {
  /** Index of the message in the push request. */
  readonly message: number;
  readonly userId: string;
}

/**
 * Where a unit is asked next: its owner in the current ring, in `previous`, (handoff) current
 * again, (platforms) its owner in `previous` for the platforms the current owner did not reach,
 * or (recheck) its current owner once more for the platforms the previous owner did not reach.
 */
export type Stage = 'current' | 'previous' | 'handoff' | 'platforms' | 'recheck';

/** Which ask delivered a unit first: its `via` in the result. */
export type Via = 'current' | 'previous' | 'handoff';

/** The final answer for a unit. */
export type Outcome =
  | { readonly status: 'realtime'; readonly via: Via; readonly connections: number }
  | { readonly status: 'offline'; readonly reason: 'not_connected' | 'gateway_error' | 'no_ring' };

/** What earlier asks of a unit delivered: connections, their platforms, and which ask reached them. */
export interface Reached {
  readonly connections: number;
  readonly platforms: readonly string[];
  readonly via: Via;
}

/** Items (units, or units with their stage) bound for one gateway, in first-seen order. */
export interface OwnerGroup<T> {
  readonly member: RingMember;
  readonly items: T[];
}

/**
 * The distinct (message, user) pairs of a request, in request order. A user listed twice in
 * one message is delivered once; {@link orderedResults} answers every occurrence.
 */
export function uniqueUnits(messages: readonly PushMessage[]): Unit[] {
  const units: Unit[] = [];
  messages.forEach((message, index) => {
    const seen = new Set<string>();
    for (const userId of message.toUserIds) {
      if (seen.has(userId)) continue;
      seen.add(userId);
      units.push({ message: index, userId });
    }
  });
  return units;
}

/**
 * Groups `items` by the gateway `ownerOf` names for each (member name → group, in first-seen
 * order, one batch per gateway); items without an owner (a ring with no members) come back in
 * `unowned`.
 */
export function groupByOwner<T>(
  items: readonly T[],
  ownerOf: (item: T) => RingMember | undefined,
): { groups: OwnerGroup<T>[]; unowned: T[] } {
  const byName = new Map<string, OwnerGroup<T>>();
  const unowned: T[] = [];
  for (const item of items) {
    const member = ownerOf(item);
    if (member === undefined) {
      unowned.push(item);
      continue;
    }
    let group = byName.get(member.name);
    if (group === undefined) {
      group = { member, items: [] };
      byName.set(member.name, group);
    }
    group.items.push(item);
  }
  return { groups: [...byName.values()], unowned };
}

/**
 * The gateway messages for `units`: one per push message, carrying that message's users. The
 * (message, user) pairs are sent grouped by message, first seen first: in unit order when the
 * units are sorted by message, as push sends them. `skipOf(i)` names the platforms of
 * `units[i]` not to write to (`Message.skip`), if any.
 */
export function gatewayMessages(
  units: readonly Unit[],
  messages: readonly PushMessage[],
  skipOf: (index: number) => readonly string[] | undefined = () => undefined,
): GatewayMessage[] {
  const byMessage = new Map<number, GatewayMessage>();
  units.forEach((unit, index) => {
    let out = byMessage.get(unit.message);
    if (out === undefined) {
      const source = messages[unit.message]!;
      out = { msgId: source.msgId, userIds: [], payload: source.payload };
      byMessage.set(unit.message, out);
    }
    out.userIds.push(unit.userId);
    const platforms = skipOf(index);
    if (platforms !== undefined) (out.skip ??= []).push({ userId: unit.userId, platforms: [...platforms] });
  });
  return [...byMessage.values()];
}

/**
 * A gateway's answer to one batch, split among the requests that shared it (each a list of
 * gateway messages): for each request, the result of each of its (message, user) pairs, in the
 * order sent. Results are matched by (msgId, userId), each used once, in the order the
 * requests are given, so a gateway that reorders them is still understood; a pair without a
 * result is `undefined` (the caller treats it as a gateway error).
 */
export function matchResults(
  requests: readonly (readonly GatewayMessage[])[],
  results: readonly UserResult[],
): (UserResult | undefined)[][] {
  const byKey = new Map<string, UserResult[]>();
  for (const result of results) {
    const key = resultKey(result.msgId, result.userId);
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [result]);
    else list.push(result);
  }
  const take = (msgId: string, userId: string): UserResult | undefined => byKey.get(resultKey(msgId, userId))?.shift();
  return requests.map((messages) => messages.flatMap((m) => m.userIds.map((userId) => take(m.msgId, userId))));
}

/** What happens to a unit after `status` from the gateway asked at `stage`. */
export type Next = { readonly done: Outcome } | { readonly retry: Stage };

/** A gateway's answer for a unit, or `FAILED`: the ask failed (the batch failed, or came back without it). */
export type AskStatus = DeliveryStatus | 'FAILED';

/** What {@link nextStep} decides on. */
export interface StepInput {
  stage: Stage;
  status: AskStatus;
  connections: number;
  /** Connections written by earlier asks of this unit (0: none). */
  reached: number;
  /** Which ask reached those connections (default `current`). */
  reachedVia?: Via;
  /** Stage `previous`: the ask of the current owner failed, so a user found nowhere is `gateway_error`. */
  currentFailed?: boolean;
  hasDistinctPrevious: boolean;
  /** The previous owner differs and may still hold connections of users moving away from it. */
  previousMayHoldPlatforms: boolean;
  handoffOpen: boolean;
}

/**
 * The push algorithm's step (DESIGN.md section 6): DELIVERED is final, except that DELIVERED at
 * the current owner goes to the previous owner for the other platforms when that one may hold
 * some (a user split while moving), and DELIVERED at the previous owner goes back to the current
 * owner once, for the platforms that moved there between the two asks; NOT_HERE or MIGRATED at
 * the current owner goes to the previous owner when it differs (MIGRATED there: the user left it
 * under an earlier ring); MIGRATED elsewhere goes (again) to the current owner while the handoff
 * window lasts; anything else is `not_connected`, or realtime when earlier asks
 * `reached` some connections (their sum is the result's, `via` the ask that reached them).
 *
 * A failed ask is `gateway_error` (or realtime for what earlier asks reached), except at the
 * current owner when the previous one differs: that one is asked, as after NOT_HERE. A user not
 * yet moved, or moving make-before-break, is there (the users of a new member that push cannot
 * reach yet stay at their previous owners until they reach it); found nowhere, it is `gateway_error`.
 */
export function nextStep(input: StepInput): Next {
  const { stage, status, reached } = input;
  if (status === 'DELIVERED') return afterDelivered(input);
  const reachedVia = input.reachedVia ?? 'current';
  const reachedOr = (reason: 'not_connected' | 'gateway_error'): Next => ({
    done: reached > 0 ? reachedOutcome(reached, reachedVia) : { status: 'offline', reason },
  });
  // MIGRATED at the current owner: the user left it under an earlier ring (a ring that went back and forth), so it is
  // at its previous owner, or on its way here from there; that one tells which.
  if (stage === 'current' && input.hasDistinctPrevious) return { retry: 'previous' };
  if (status === 'FAILED') return reachedOr('gateway_error');
  if (stage === 'recheck') return reachedOr('not_connected');
  const migrating = status === 'MIGRATED' || (status === 'NOT_HERE' && stage === 'handoff');
  if (migrating && input.handoffOpen) return { retry: 'handoff' };
  return reachedOr(input.currentFailed === true ? 'gateway_error' : 'not_connected');
}

function afterDelivered(input: StepInput): Next {
  const { stage, reached } = input;
  if (stage === 'current' && input.previousMayHoldPlatforms) return { retry: 'platforms' };
  if (stage === 'previous') return { retry: 'recheck' };
  const first = stage === 'platforms' || stage === 'recheck' ? 'current' : stage;
  const via = reached > 0 ? (input.reachedVia ?? 'current') : first;
  return { done: { status: 'realtime', via, connections: input.connections + reached } };
}

/** The result of a unit that earlier asks delivered to `connections` (`via` the first of them), asked no more. */
export function reachedOutcome(connections: number, via: Via = 'current'): Outcome {
  return { status: 'realtime', via, connections };
}

/**
 * One result per (message, recipient) of the request, in request order; duplicate recipients
 * of a message all get the outcome of their one delivery.
 */
export function orderedResults(messages: readonly PushMessage[], outcomes: ReadonlyMap<string, Outcome>): PushResult[] {
  const results: PushResult[] = [];
  messages.forEach((message, index) => {
    for (const userId of message.toUserIds) {
      const outcome = outcomes.get(outcomeKey(index, userId)) ?? { status: 'offline', reason: 'gateway_error' };
      results.push(toResult(message.msgId, userId, outcome));
    }
  });
  return results;
}

/** The key of a unit in an outcome map. */
export function outcomeKey(message: number, userId: string): string {
  return `${message}\u0000${userId}`;
}

/** A wire result (the gRPC shape; the HTTP API drops the empty fields). */
export function toResult(msgId: string, userId: string, outcome: Outcome): PushResult {
  return outcome.status === 'realtime'
    ? { msgId, userId, status: 'realtime', via: outcome.via, reason: '', connections: outcome.connections }
    : { msgId, userId, status: 'offline', via: '', reason: outcome.reason, connections: 0 };
}

/** The deliveries counter's label for an outcome. */
export function outcomeLabel(outcome: Outcome): string {
  if (outcome.status === 'realtime') return `realtime_${outcome.via}`;
  return outcome.reason === 'gateway_error' ? 'error' : 'offline';
}

function resultKey(msgId: string, userId: string): string {
  return `${msgId}\u0000${userId}`;
}
