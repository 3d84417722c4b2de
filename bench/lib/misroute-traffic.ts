/**
 * Traffic through a {@link LiveSystem} for `bench/misroute.ts`: seeded pushes, and per
 * (message, user) accounting from push's results and the clients' receipts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from '../../test/support/random.js';
import type { LiveSystem } from './imring-live.js';

/** What one phase of live traffic came to, per (message, user). */
export interface LiveCount {
  readonly label: string;
  units: number;
  realtime: number;
  offline: number;
  /** Offline although the user's connection was open before the push and never closed during it. */
  misroutes: number;
  /** Offline while the user was reconnecting (moved with 4001): not a misroute. */
  offlineReconnecting: number;
  /** Realtime results whose frame the client never received. */
  missing: number;
}

/** How pushes are drawn: recipients per message, messages per request, seed. */
export interface PushShape {
  readonly recipients: number;
  readonly messagesPerRequest: number;
  readonly seed: number;
}

/** Draws messages to `shape.recipients` distinct users and counts what push and the clients say. */
export class TrafficDriver {
  readonly #system: LiveSystem;
  readonly #shape: PushShape;
  readonly #random: () => number;
  readonly #users: readonly string[];
  #next = 0;
  /** Realtime (msgID, user) pairs whose receipt is awaited, with the count they belong to. */
  readonly #awaited: { msgID: string; user: string; count: LiveCount }[] = [];

  constructor(system: LiveSystem, shape: PushShape) {
    this.#system = system;
    this.#shape = shape;
    this.#random = seededRandom(shape.seed);
    this.#users = [...system.users.keys()];
  }

  /** A fresh count for a phase. */
  static count(label: string): LiveCount {
    return { label, units: 0, realtime: 0, offline: 0, misroutes: 0, offlineReconnecting: 0, missing: 0 };
  }

  /** One push request; its results are added to `count`. */
  async pushOnce(count: LiveCount): Promise<void> {
    const messages = Array.from({ length: this.#shape.messagesPerRequest }, () => ({
      msgID: `m${this.#next++}`,
      toUserIDs: this.#recipients(),
      payload: 'x',
    }));
    const before = new Map<string, number | undefined>();
    for (const m of messages) for (const id of m.toUserIDs) before.set(id, this.#closesIfOpen(id));
    const results = await this.#system.push(messages);
    for (const r of results) {
      count.units++;
      if (r.status === 'realtime') {
        count.realtime++;
        this.#awaited.push({ msgID: r.msgID, user: r.userID, count });
        continue;
      }
      count.offline++;
      const closes = before.get(r.userID);
      if (closes !== undefined && closes === this.#closesIfOpen(r.userID)) count.misroutes++;
      else count.offlineReconnecting++;
    }
  }

  /** Pushes until `until()` holds (checked between requests), at least `min` requests. */
  async pushUntil(count: LiveCount, until: () => boolean, min = 0): Promise<void> {
    for (let i = 0; i < min || !until(); i++) await this.pushOnce(count);
  }

  /**
   * Waits up to `timeoutMs` for every awaited realtime frame, then counts those never
   * received as missing. Polls: the frames come from many sockets, with no single event.
   */
  async settleReceipts(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#awaited.some((a) => !this.#hasReceived(a)) && performance.now() < deadline) await sleep(20);
    for (const a of this.#awaited) if (!this.#hasReceived(a)) a.count.missing++;
    this.#awaited.length = 0;
  }

  #hasReceived(a: { msgID: string; user: string }): boolean {
    return this.#system.users.get(a.user)?.received.has(a.msgID) ?? false;
  }

  /** The user's close count when its connection is open now, else undefined. */
  #closesIfOpen(id: string): number | undefined {
    const user = this.#system.users.get(id);
    return user?.isOpen ? user.closes : undefined;
  }

  #recipients(): string[] {
    const picked = new Set<string>();
    const count = Math.min(this.#shape.recipients, this.#users.length);
    while (picked.size < count) picked.add(this.#users[Math.floor(this.#random() * this.#users.length)]!);
    return [...picked];
  }
}
