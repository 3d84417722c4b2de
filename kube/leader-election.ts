import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { apiStatusCode } from './api-errors.js';
import {
  claimedLeaseSpec,
  isHeldByOther,
  isSameRecord,
  leaderRecord,
  releasedLeaseSpec,
  type LeaderRecord,
} from './leader-record.js';

/**
 * Leader election over a `coordination.k8s.io/v1` Lease, with the semantics of client-go's
 * `tools/leaderelection` (DESIGN.md section 7): one holder at a time, renewals every
 * `retryPeriodSeconds`, leadership given up when no renewal succeeds within
 * `renewDeadlineSeconds`, and a Lease taken over only once its record has not changed for
 * its `leaseDurationSeconds` as observed on this process's clock (so clock skew between
 * candidates does not matter, only clock rate).
 */

export interface LeaderElectorOptions {
  readonly kc: KubeConfig;
  /** Namespace of the Lease. */
  readonly namespace: string;
  /** Name of the Lease; every candidate for the same leadership uses the same name. */
  readonly name: string;
  /** This candidate's unique identity (e.g. pod name plus a random suffix): the Lease's holderIdentity. */
  readonly identity: string;
  /** How long a Lease is valid after its last change, whole seconds. Default 15. */
  readonly leaseDurationSeconds?: number;
  /**
   * A leader that has not renewed for this long stops leading, seconds (fractions allowed).
   * Default 10; must be < leaseDurationSeconds.
   */
  readonly renewDeadlineSeconds?: number;
  /** Between attempts to acquire or renew, seconds (fractions allowed; plus jitter, up to 1.2×). Default 2. */
  readonly retryPeriodSeconds?: number;
  /** Default silent. */
  readonly logger?: Logger;
  /** Wall clock, ms since the epoch: Lease times written and lease expiry observed. Default Date.now. */
  readonly now?: () => number;
  /** Uniform in [0, 1): the candidates' retry jitter. Default Math.random. */
  readonly random?: () => number;
  /** Called when this candidate becomes the leader (same as `on('started', fn)`). */
  readonly onStartedLeading?: () => void;
  /** Called when it stops leading: renew deadline passed, Lease taken, or close (same as `on('stopped', fn)`). */
  readonly onStoppedLeading?: () => void;
}

/** Defaults of {@link LeaderElectorOptions}: client-go's 15 s / 10 s / 2 s. */
export const LEADER_ELECTOR_DEFAULTS = {
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
} as const;

/** client-go's JitterFactor: a candidate waits retryPeriod × (1 + random × 1.2) between attempts. */
export const LEADER_ELECTION_JITTER = 1.2;

/** `code` of the error `whenLeader()` rejects with when the elector closes first. */
export const ELECTOR_CLOSED = 'IMRING_LEADER_ELECTOR_CLOSED';

type ResolvedOptions = Required<Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading'>> &
  Pick<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading'>;

/**
 * Validates every option at once (client-go's NewLeaderElector rules). @throws {TypeError|RangeError} naming the
 * option.
 */
export function resolveLeaderElectorOptions(options: LeaderElectorOptions): ResolvedOptions {
  if (options.kc === undefined || options.kc === null) throw new TypeError('kc must be a KubeConfig');
  for (const key of ['namespace', 'name', 'identity'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '')
      throw new TypeError(`${key} must be a non-empty string`);
  }
  const resolved = {
    ...LEADER_ELECTOR_DEFAULTS,
    now: Date.now,
    random: Math.random,
    logger: pino({ level: 'silent' }),
    ...options,
  };
  checkLeaderElectionPeriods(resolved);
  for (const key of ['now', 'random', 'onStartedLeading', 'onStoppedLeading'] as const) {
    if (resolved[key] !== undefined && typeof resolved[key] !== 'function')
      throw new TypeError(`${key} must be a function`);
  }
  return resolved;
}

/** The three periods of leader election, in seconds (see {@link LeaderElectorOptions}). */
export type LeaderElectionPeriods = Pick<Required<LeaderElectorOptions>, keyof typeof LEADER_ELECTOR_DEFAULTS>;

/**
 * Checks the periods by client-go's NewLeaderElector rules. Each error names a period by
 * `label(key)`: the option's name by default; the CLI passes its flags'. Pure.
 * @throws {RangeError} on the first rule broken.
 */
export function checkLeaderElectionPeriods(
  periods: LeaderElectionPeriods,
  label = (key: keyof LeaderElectionPeriods): string => key,
): void {
  const { leaseDurationSeconds: lease, renewDeadlineSeconds: renew, retryPeriodSeconds: retry } = periods;
  const leaseName = label('leaseDurationSeconds');
  const renewName = label('renewDeadlineSeconds');
  const retryName = label('retryPeriodSeconds');
  // Lease spec.leaseDurationSeconds is an int32.
  if (!Number.isInteger(lease) || lease < 1) {
    throw new RangeError(`${leaseName} must be a positive integer, got ${lease}`);
  }
  if (!(renew > 0)) throw new RangeError(`${renewName} must be positive, got ${renew}`);
  if (!(retry > 0)) throw new RangeError(`${retryName} must be positive, got ${retry}`);
  if (renew >= lease) throw new RangeError(`${renewName} (${renew}) must be less than ${leaseName} (${lease})`);
  // A leader must get at least one jittered retry in before its deadline.
  if (renew <= LEADER_ELECTION_JITTER * retry) {
    const jitter = LEADER_ELECTION_JITTER;
    throw new RangeError(`${renewName} (${renew}) must be greater than ${jitter} × ${retryName} (${retry})`);
  }
}

type ElectorEvent = 'started' | 'stopped';

/** The outcome of one attempt to acquire or renew. */
type Attempt = 'holding' | 'held-by-other' | 'failed';

/**
 * One candidate for the leadership a Lease stands for. `start()` begins trying; `isLeader()`
 * tells whether it leads now; `on('started' | 'stopped', fn)` and `whenLeader()` tell when
 * that changes. A leader renews every `retryPeriodSeconds` and stops leading if no renewal
 * succeeded within `renewDeadlineSeconds` of its start, or at once when it finds another
 * holder; it then goes on as a candidate. API errors are logged and retried, never thrown.
 */
export class LeaderElector {
  readonly #options: ResolvedOptions;
  readonly #api: CoordinationV1Api;
  readonly #log: Logger;
  readonly #listeners = new Map<ElectorEvent, Set<() => void>>([
    ['started', new Set()],
    ['stopped', new Set()],
  ]);
  readonly #waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** The Lease as last read or written by us; its resourceVersion makes the next write conditional. */
  #lease: V1Lease | undefined;
  #observed: LeaderRecord | undefined;
  #observedAtMs = -Infinity;
  #leading = false;
  #started = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #deadline: NodeJS.Timeout | undefined;
  #attempt: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#options = resolveLeaderElectorOptions(options);
    this.#api = this.#options.kc.makeApiClient(CoordinationV1Api);
    this.#log = this.#options.logger.child({
      lease: `${this.#options.namespace}/${this.#options.name}`,
      identity: this.#options.identity,
    });
    if (this.#options.onStartedLeading) this.on('started', this.#options.onStartedLeading);
    if (this.#options.onStoppedLeading) this.on('stopped', this.#options.onStoppedLeading);
  }

  /** Begins trying to acquire the Lease. Idempotent; does nothing after close. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule(0);
  }

  /** Whether this candidate leads now. */
  isLeader(): boolean {
    return this.#leading;
  }

  /** The holder of the Lease as last observed ('' for none or not yet read). */
  observedLeader(): string {
    return this.#observed?.holderIdentity ?? '';
  }

  /** Calls `listener` on each start or stop of leading; returns its remover. */
  on(event: ElectorEvent, listener: () => void): () => void {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) throw new TypeError(`event must be 'started' or 'stopped', got ${String(event)}`);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }

  /** Resolves when this candidate leads (at once if it does); rejects (code ELECTOR_CLOSED) if closed first. */
  whenLeader(): Promise<void> {
    if (this.#leading) return Promise.resolve();
    if (this.#closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Stops trying; a leader stops leading at once ('stopped'), then, unless `release` is false,
   * gives the Lease up (no holder, 1 s) so a standby takes over at its next attempt instead of
   * after the lease duration. Idempotent (later options are ignored); never rejects.
   */
  close(options: { release?: boolean } = {}): Promise<void> {
    this.#closing ??= this.#close(options.release ?? true);
    return this.#closing;
  }

  async #close(release: boolean): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#stopLeading('closed');
    for (const waiter of this.#waiters.splice(0)) waiter.reject(closedError());
    await this.#attempt;
    if (release && this.#lease?.spec?.holderIdentity === this.#options.identity) await this.#release();
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#attempt = this.#tick();
    }, delayMs);
  }

  async #tick(): Promise<void> {
    const startedAtMs = this.#options.now();
    const outcome = await this.#tryAcquireOrRenew(startedAtMs).catch((error: unknown): Attempt => {
      // API errors are handled inside; anything else is a bug, but must not end the loop.
      this.#log.error({ err: error }, 'leader election attempt failed');
      return 'failed';
    });
    this.#attempt = undefined;
    if (this.#closed) return;
    if (outcome === 'holding') this.#onHolding(startedAtMs);
    else if (outcome === 'held-by-other') this.#stopLeading(`the Lease is held by ${this.observedLeader()}`);
    const retryMs = this.#options.retryPeriodSeconds * 1000;
    this.#schedule(this.#leading ? retryMs : retryMs * (1 + this.#options.random() * LEADER_ELECTION_JITTER));
  }

  /** A write that started at `startedAtMs` succeeded: lead until that time plus the renew deadline. */
  #onHolding(startedAtMs: number): void {
    // Measured from before the write, so this deadline never outlasts the record others observe.
    const deadlineMs = startedAtMs + this.#options.renewDeadlineSeconds * 1000;
    if (deadlineMs <= this.#options.now()) {
      this.#stopLeading('the renewal succeeded too late');
      return;
    }
    clearTimeout(this.#deadline);
    this.#armDeadline(deadlineMs);
    if (this.#leading) return;
    this.#leading = true;
    this.#log.info({ leaseTransitions: this.#lease?.spec?.leaseTransitions }, 'started leading');
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
    this.#emit('started');
  }

  /** Stops leading once the clock reaches `deadlineMs`, unless a renewal re-arms it first. */
  #armDeadline(deadlineMs: number): void {
    const remainingMs = deadlineMs - this.#options.now();
    if (remainingMs <= 0) {
      this.#stopLeading('no renewal succeeded within renewDeadlineSeconds');
      return;
    }
    // Checked again when it fires: a timer counts from the event loop's cached time, so it may
    // fire a few ms before the clock reaches the deadline.
    this.#deadline = setTimeout(() => this.#armDeadline(deadlineMs), remainingMs);
  }

  #stopLeading(reason: string): void {
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (!this.#leading) return;
    this.#leading = false;
    this.#log.warn({ reason }, 'stopped leading');
    this.#emit('stopped');
  }

  #emit(event: ElectorEvent): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        listener();
      } catch (error) {
        this.#log.error({ err: error, event }, 'a leader election listener threw');
      }
    }
  }

  /** client-go's tryAcquireOrRenew: a leader first renews from its copy, and reads only if that fails. */
  async #tryAcquireOrRenew(nowMs: number): Promise<Attempt> {
    if (this.#leading && this.#lease !== undefined && (await this.#write(this.#lease, nowMs)) === 'holding')
      return 'holding';
    let current: V1Lease | undefined;
    try {
      current = await this.#read();
    } catch (error) {
      this.#log.warn({ err: error }, 'could not read the Lease; retrying');
      return 'failed';
    }
    if (current === undefined) return this.#create(nowMs);
    this.#lease = current;
    this.#observe(leaderRecord(current.spec), nowMs);
    const clock = { observedAtMs: this.#observedAtMs, nowMs, fallbackSeconds: this.#options.leaseDurationSeconds };
    if (this.#observed && isHeldByOther(this.#observed, this.#options.identity, clock)) return 'held-by-other';
    return this.#write(current, nowMs);
  }

  /** Notes `record` and, if it changed, when this process first saw it (client-go's observedTime). */
  #observe(record: LeaderRecord, nowMs: number): void {
    if (this.#observed !== undefined && isSameRecord(this.#observed, record)) return;
    if (this.#observed?.holderIdentity !== record.holderIdentity)
      this.#log.info({ holder: record.holderIdentity }, 'observed a new Lease holder');
    this.#observed = record;
    this.#observedAtMs = nowMs;
  }

  async #create(nowMs: number): Promise<Attempt> {
    const { namespace, name, identity, leaseDurationSeconds } = this.#options;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace },
      spec: claimedLeaseSpec(undefined, { identity, leaseDurationSeconds, nowMs }),
    };
    try {
      this.#wrote(await this.#api.createNamespacedLease({ namespace, body }), nowMs);
      return 'holding';
    } catch (error) {
      // 409: another candidate created it first; the next attempt reads it.
      this.#log[apiStatusCode(error) === 409 ? 'debug' : 'warn'](
        { err: error },
        'could not create the Lease; retrying',
      );
      return 'failed';
    }
  }

  /** Replaces `current` (conditional on its resourceVersion) with our claim. */
  async #write(current: V1Lease, nowMs: number): Promise<Attempt> {
    const { namespace, name, identity, leaseDurationSeconds } = this.#options;
    const body: V1Lease = {
      ...current,
      spec: claimedLeaseSpec(current.spec, { identity, leaseDurationSeconds, nowMs }),
    };
    try {
      this.#wrote(await this.#api.replaceNamespacedLease({ name, namespace, body }), nowMs);
      return 'holding';
    } catch (error) {
      // 409: someone wrote since we read (lost the race); 404: deleted. Either way, re-read next.
      this.#lease = undefined;
      this.#log[apiStatusCode(error) === 409 ? 'debug' : 'warn']({ err: error }, 'could not write the Lease; retrying');
      return 'failed';
    }
  }

  #wrote(lease: V1Lease, nowMs: number): void {
    this.#lease = lease;
    this.#observe(leaderRecord(lease.spec), nowMs);
  }

  async #release(): Promise<void> {
    const { namespace, name, identity } = this.#options;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const current = this.#lease;
      if (current?.spec?.holderIdentity !== identity) return;
      try {
        this.#lease = await this.#api.replaceNamespacedLease({
          name,
          namespace,
          body: { ...current, spec: releasedLeaseSpec(current.spec, this.#options.now()) },
        });
        this.#log.info('released the Lease');
        return;
      } catch (error) {
        this.#log.warn({ err: error }, 'could not release the Lease');
        // 409: our copy is stale; release the fresh one if it is still ours.
        if (apiStatusCode(error) !== 409) return;
        this.#lease = await this.#read().catch(() => undefined);
      }
    }
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.#options.name, namespace: this.#options.namespace });
    } catch (error) {
      if (apiStatusCode(error) === 404) return undefined;
      throw error;
    }
  }
}

function closedError(): Error {
  return Object.assign(new Error('the leader elector closed before it led'), { code: ELECTOR_CLOSED });
}
