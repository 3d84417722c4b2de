import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api, Watch, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import {
  ELECTOR_CLOSED,
  LEADER_ELECTOR_DEFAULTS,
  LeaderElector,
  resolveLeaderElectorOptions,
  type LeaderElectorOptions,
} from '../kube/leader-election.js';
import {
  claimedLeaseSpec,
  isHeldByOther,
  leaderRecord,
  releasedLeaseSpec,
  type LeaderRecord,
} from '../kube/leader-record.js';
import { startLocalApi, type LocalApi } from './support/local-api.js';
import { watchUntil } from './support/wait.js';

const namespace = 'default';
const leasesPath = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
/** Short timings, so takeovers happen within a second or two: lease 1 s, renew deadline 0.5 s, retry 0.1 s. */
const FAST = { leaseDurationSeconds: 1, renewDeadlineSeconds: 0.5, retryPeriodSeconds: 0.1 } as const;
let api: LocalApi;
let leases: CoordinationV1Api;
let leaseCount = 0;
/** A bound for a broken build, not a delay: every awaited takeover here comes within seconds. */
const BOUND_MS = 15_000;

before(async () => {
  api = await startLocalApi();
  leases = api.kc.makeApiClient(CoordinationV1Api);
});
after(() => api.close());

function newElector(name: string, identity: string, options: Partial<LeaderElectorOptions> = {}): LeaderElector {
  return new LeaderElector({ kc: api.kc, namespace, name, identity, ...FAST, ...options });
}

/** A fresh Lease name per test, so tests never see each other's electors. */
function newLeaseName(): string {
  return `operator-leader-${++leaseCount}`;
}

/**
 * Watches Lease `name` and checks, at every change of it and every 'started', that at most one
 * of `electors` leads. Keeps the Lease's history (raw watch objects) for the test to read.
 */
async function guardSingleLeader(
  name: string,
  electors: readonly LeaderElector[],
): Promise<{ history: V1Lease[]; violations: string[]; close(): void }> {
  const history: V1Lease[] = [];
  const violations: string[] = [];
  const check = (when: string): void => {
    const leading = electors.filter((elector) => elector.isLeader()).length;
    if (leading > 1) violations.push(`${leading} leaders at ${when}`);
  };
  const removers = electors.map((elector) => elector.on('started', () => check('started')));
  const controller = await new Watch(api.kc).watch(
    leasesPath,
    { fieldSelector: `metadata.name=${name}` },
    (type: string, lease: V1Lease) => {
      history.push(lease);
      check(`${type} ${lease.spec?.holderIdentity ?? ''}`);
    },
    () => undefined,
  );
  return {
    history,
    violations,
    close: () => {
      controller.abort();
      for (const remove of removers) remove();
    },
  };
}

async function readLease(name: string): Promise<V1Lease> {
  return leases.readNamespacedLease({ name, namespace });
}

/**
 * `promise`, or a rejection naming `what` after BOUND_MS: a broken build fails the test (and
 * its `finally` still closes the electors) instead of hanging it.
 */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${BOUND_MS} ms`)), BOUND_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `elector` next stops leading. */
function nextStop(elector: LeaderElector): Promise<void> {
  return new Promise((resolve) => {
    const remove = elector.on('stopped', () => {
      remove();
      resolve();
    });
  });
}

/** Two candidates on one fresh Lease, watched by {@link guardSingleLeader}. */
interface Pair {
  readonly name: string;
  readonly a: LeaderElector;
  readonly b: LeaderElector;
  readonly guard: Awaited<ReturnType<typeof guardSingleLeader>>;
}

/**
 * Runs `body` with candidates 'op-a' and 'op-b' (options per identity on top of FAST), not yet
 * started; then closes both and the guard whatever happened, and checks that never two led.
 */
async function withPair(
  options: (identity: string) => Partial<LeaderElectorOptions>,
  body: (pair: Pair) => Promise<void>,
): Promise<void> {
  const name = newLeaseName();
  const a = newElector(name, 'op-a', options('op-a'));
  const b = newElector(name, 'op-b', options('op-b'));
  const guard = await guardSingleLeader(name, [a, b]);
  try {
    await body({ name, a, b, guard });
  } finally {
    api.faults.clear();
    guard.close();
    await Promise.all([a.close(), b.close()]);
  }
  assert.deepEqual(guard.violations, []);
}

const fast = (): Partial<LeaderElectorOptions> => ({});

/** Starts both; once one leads: [leader, standby] and their identities. */
async function startBoth({
  a,
  b,
}: Pair): Promise<{ leader: LeaderElector; standby: LeaderElector; leaderId: string; standbyId: string }> {
  a.start();
  b.start();
  await bounded(Promise.race([a.whenLeader(), b.whenLeader()]), 'a leader');
  return a.isLeader()
    ? { leader: a, standby: b, leaderId: 'op-a', standbyId: 'op-b' }
    : { leader: b, standby: a, leaderId: 'op-b', standbyId: 'op-a' };
}

/** Resolves once the Lease's holder has renewed it for more than `ms` since it acquired it. */
async function renewedFor(name: string, ms: number): Promise<void> {
  await watchUntil(
    api.kc,
    leasesPath,
    async () => {
      const record = leaderRecord((await readLease(name)).spec);
      return (record.renewTime ?? 0) - (record.acquireTime ?? 0) > ms ? true : undefined;
    },
    BOUND_MS,
  );
}

/** The renewTime (ms) of `identity`'s last record in the watched history. */
function lastRenewalOf(guard: Pair['guard'], identity: string): number {
  return (
    leaderRecord(guard.history.filter((lease) => lease.spec?.holderIdentity === identity).at(-1)?.spec).renewTime ?? NaN
  );
}

test('one of two electors leads and the other stands by while the leader renews, never both', () =>
  withPair(fast, async (pair) => {
    const { leader, standby, leaderId } = await startBoth(pair);
    // Renewed for more than two lease durations: the standby saw the record change and never took it.
    await renewedFor(pair.name, 2 * FAST.leaseDurationSeconds * 1000);
    assert.equal(standby.isLeader(), false);
    assert.equal(leader.isLeader(), true);
    const lease = await readLease(pair.name);
    assert.equal(lease.spec?.holderIdentity, leaderId);
    assert.equal(lease.spec?.leaseDurationSeconds, FAST.leaseDurationSeconds);
    assert.equal(lease.spec?.leaseTransitions, 0);
    assert.equal(standby.observedLeader(), leaderId);
  }));

test('a leader that closes releases the Lease and the standby takes over without waiting out the lease', async () => {
  // A 30 s lease: only the release lets the standby lead within the test's bound.
  const leaseMs = 30_000;
  const started: string[] = [];
  await withPair(
    (identity) => ({ leaseDurationSeconds: leaseMs / 1000, onStartedLeading: () => started.push(identity) }),
    async (pair) => {
      const { leader, standby, leaderId, standbyId } = await startBoth(pair);
      const stopped = nextStop(leader);
      await leader.close();
      await bounded(stopped, 'the leader stopping');
      assert.equal(leader.isLeader(), false);
      // Released by the time close() resolves (unless the standby was quicker still).
      assert.ok(
        ['', standbyId].includes((await readLease(pair.name)).spec?.holderIdentity ?? leaderId),
        'released on close',
      );
      await bounded(standby.whenLeader(), 'the standby leading');

      const released = pair.guard.history.find((lease) => lease.spec?.holderIdentity === '');
      assert.ok(released, 'the leader wrote a released record');
      assert.equal(released.spec?.leaseDurationSeconds, 1);
      const taken = await watchUntil(
        api.kc,
        leasesPath,
        async () => {
          const lease = await readLease(pair.name);
          return lease.spec?.holderIdentity === standbyId ? lease : undefined;
        },
        BOUND_MS,
      );
      assert.equal(taken.spec?.leaseTransitions, 1);
      const releasedAt = leaderRecord(released.spec).renewTime ?? NaN;
      const acquiredAt = leaderRecord(taken.spec).acquireTime ?? NaN;
      assert.ok(acquiredAt - releasedAt < leaseMs, 'taken over before the lease ran out');
      assert.deepEqual(started, [leaderId, standbyId]);
    },
  );
});

test('a leader that vanishes without releasing is replaced only after its lease duration has passed', () =>
  withPair(fast, async (pair) => {
    const { leader, standby, leaderId, standbyId } = await startBoth(pair);
    await leader.close({ release: false });
    assert.equal((await readLease(pair.name)).spec?.holderIdentity, leaderId, 'the Lease was left as it was');
    await bounded(standby.whenLeader(), 'the standby leading');

    assert.ok(!pair.guard.history.some((lease) => lease.spec?.holderIdentity === ''), 'nothing released the Lease');
    const taken = await readLease(pair.name);
    assert.equal(taken.spec?.holderIdentity, standbyId);
    assert.equal(taken.spec?.leaseTransitions, 1);
    const waitedMs = (leaderRecord(taken.spec).acquireTime ?? NaN) - lastRenewalOf(pair.guard, leaderId);
    assert.ok(waitedMs >= FAST.leaseDurationSeconds * 1000, `taken ${waitedMs} ms after the last renewal`);
  }));

test('a standby whose clock is an hour ahead still waits while the leader renews, and takes over once it stops', () =>
  // With expiry judged by renewTime + duration against its own clock, op-b would take over at once.
  withPair(
    (identity) => (identity === 'op-b' ? { now: () => Date.now() + 3_600_000 } : {}),
    async ({ name, a, b }) => {
      a.start();
      await bounded(a.whenLeader(), 'op-a leading');
      b.start();
      await renewedFor(name, 2 * FAST.leaseDurationSeconds * 1000);
      assert.equal(b.isLeader(), false);
      assert.equal(b.observedLeader(), 'op-a');
      await a.close({ release: false });
      await bounded(b.whenLeader(), 'op-b leading');
      assert.equal((await readLease(name)).spec?.holderIdentity, 'op-b');
    },
  ));

test('a leader whose renewals fail stops leading after the renew deadline, and an elector leads again once they succeed', () =>
  withPair(fast, async ({ a, b, guard }) => {
    let stoppedAt = NaN;
    a.on('stopped', () => (stoppedAt = Date.now()));
    a.start();
    await bounded(a.whenLeader(), 'op-a leading');
    b.start();
    const stopped = nextStop(a);
    api.faults.set({ failureRate: 1 });
    await bounded(stopped, 'the leader stopping');
    assert.equal(a.isLeader(), false);
    assert.equal(b.isLeader(), false);
    api.faults.clear();
    const sinceRenewalMs = stoppedAt - lastRenewalOf(guard, 'op-a');
    assert.ok(
      sinceRenewalMs >= FAST.renewDeadlineSeconds * 1000,
      `stopped ${sinceRenewalMs} ms after the last renewal`,
    );
    await bounded(Promise.race([a.whenLeader(), b.whenLeader()]), 'a leader again');
  }));

test('close() three times resolves each time and releases the Lease once; whenLeader() then rejects', async () => {
  const name = newLeaseName();
  const elector = newElector(name, 'op-a');
  let stops = 0;
  elector.on('stopped', () => stops++);
  elector.start();
  await bounded(elector.whenLeader(), 'leading');
  await Promise.all([elector.close(), elector.close({ release: false })]);
  await elector.close();
  assert.equal(stops, 1);
  assert.equal(elector.isLeader(), false);
  const lease = await readLease(name);
  assert.equal(lease.spec?.holderIdentity, '');
  assert.equal(lease.spec?.leaseDurationSeconds, 1);
  await assert.rejects(elector.whenLeader(), { code: ELECTOR_CLOSED });
  elector.start();
  assert.equal(elector.isLeader(), false);

  const unstarted = newElector(newLeaseName(), 'op-b');
  const waiting = unstarted.whenLeader();
  for (let i = 0; i < 3; i++) await unstarted.close();
  await assert.rejects(waiting, { code: ELECTOR_CLOSED });
});

test('a listener remover stops further calls, and a throwing listener does not stop the elector', async () => {
  const name = newLeaseName();
  const elector = newElector(name, 'op-a');
  let calls = 0;
  const remove = elector.on('started', () => calls++);
  remove();
  elector.on('started', () => {
    throw new Error('listener bug');
  });
  try {
    elector.start();
    await bounded(elector.whenLeader(), 'leading');
    assert.equal(calls, 0);
    // Still renewing after the listener threw.
    const first = leaderRecord((await readLease(name)).spec).renewTime ?? 0;
    await watchUntil(
      api.kc,
      leasesPath,
      async () => ((leaderRecord((await readLease(name)).spec).renewTime ?? 0) > first ? true : undefined),
      BOUND_MS,
    );
  } finally {
    await elector.close();
  }
});

test('bad options throw a RangeError or TypeError naming the option', () => {
  const base = { kc: api.kc, namespace, name: 'x', identity: 'op-a' };
  const cases: [Partial<LeaderElectorOptions>, typeof RangeError | typeof TypeError, RegExp][] = [
    [{ leaseDurationSeconds: 0 }, RangeError, /^leaseDurationSeconds must be a positive integer/],
    [{ leaseDurationSeconds: 2.5 }, RangeError, /^leaseDurationSeconds must be a positive integer/],
    [{ renewDeadlineSeconds: 0 }, RangeError, /^renewDeadlineSeconds must be positive/],
    [
      { renewDeadlineSeconds: 15 },
      RangeError,
      /^renewDeadlineSeconds \(15\) must be less than leaseDurationSeconds \(15\)/,
    ],
    [
      { leaseDurationSeconds: 5, renewDeadlineSeconds: 6 },
      RangeError,
      /^renewDeadlineSeconds \(6\) must be less than leaseDurationSeconds/,
    ],
    [{ retryPeriodSeconds: 0 }, RangeError, /^retryPeriodSeconds must be positive/],
    [{ retryPeriodSeconds: Number.NaN }, RangeError, /^retryPeriodSeconds must be positive/],
    [
      { retryPeriodSeconds: 9 },
      RangeError,
      /^renewDeadlineSeconds \(10\) must be greater than 1.2 × retryPeriodSeconds \(9\)/,
    ],
    [{ identity: '' }, TypeError, /^identity must be a non-empty string/],
    [{ name: '' }, TypeError, /^name must be a non-empty string/],
    [{ namespace: undefined }, TypeError, /^namespace must be a non-empty string/],
    [{ now: 5 as unknown as () => number }, TypeError, /^now must be a function/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(
      () => new LeaderElector({ ...base, ...options }),
      (error: Error) => error instanceof type && message.test(error.message),
      JSON.stringify(options),
    );
  }
  assert.deepEqual(LEADER_ELECTOR_DEFAULTS, {
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
  });
  const resolved = resolveLeaderElectorOptions(base);
  assert.equal(resolved.leaseDurationSeconds, 15);
  assert.equal(resolved.renewDeadlineSeconds, 10);
  assert.equal(resolved.retryPeriodSeconds, 2);
});

test("claimedLeaseSpec keeps the holder's acquireTime on renewal and counts a transition on takeover", () => {
  const t0 = Date.parse('2030-01-01T00:00:00.000Z');
  const claim = (current: V1LeaseSpec | undefined, identity: string, nowMs: number): LeaderRecord =>
    leaderRecord(claimedLeaseSpec(current, { identity, leaseDurationSeconds: 15, nowMs }));
  const created = claimedLeaseSpec(undefined, { identity: 'a', leaseDurationSeconds: 15, nowMs: t0 });
  const cases: [string, V1LeaseSpec | undefined, string, LeaderRecord][] = [
    [
      'create',
      undefined,
      'a',
      { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: t0 + 1, renewTime: t0 + 1, leaseTransitions: 0 },
    ],
    [
      'renew',
      created,
      'a',
      { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0 + 1, leaseTransitions: 0 },
    ],
    [
      'take over',
      created,
      'b',
      { holderIdentity: 'b', leaseDurationSeconds: 15, acquireTime: t0 + 1, renewTime: t0 + 1, leaseTransitions: 1 },
    ],
    [
      'take a released Lease',
      releasedLeaseSpec({ ...created, leaseTransitions: 4 }, t0),
      'b',
      { holderIdentity: 'b', leaseDurationSeconds: 15, acquireTime: t0 + 1, renewTime: t0 + 1, leaseTransitions: 5 },
    ],
  ];
  for (const [what, current, identity, expected] of cases)
    assert.deepEqual(claim(current, identity, t0 + 1), expected, what);
  assert.equal(
    claimedLeaseSpec(undefined, { identity: 'a', leaseDurationSeconds: 15, nowMs: t0 }).renewTime?.toISOString(),
    '2030-01-01T00:00:00.000000Z',
  );
  const released = leaderRecord(releasedLeaseSpec({ ...created, leaseTransitions: 4 }, t0 + 7));
  assert.deepEqual(released, {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: t0 + 7,
    renewTime: t0 + 7,
    leaseTransitions: 4,
  });
});

test('isHeldByOther: a Lease is held until its record has gone unchanged for its duration on the local clock', () => {
  const record = (holderIdentity: string, leaseDurationSeconds?: number): LeaderRecord => ({
    holderIdentity,
    leaseDurationSeconds,
    acquireTime: 0,
    renewTime: 0,
    leaseTransitions: 0,
  });
  const cases: [string, LeaderRecord, number, boolean][] = [
    ['held by another, just observed', record('b', 15), 0, true],
    ['held by another, 14.999 s later', record('b', 15), 14_999, true],
    ['held by another, 15 s later', record('b', 15), 15_000, false],
    ['released (no holder)', record('', 15), 0, false],
    ['released with duration 1, 1 s later', record('', 1), 1000, false],
    ['held by us', record('a', 15), 0, false],
    ['no duration: our own 10 s apply, 9 s later', record('b'), 9000, true],
    ['no duration: our own 10 s apply, 10 s later', record('b'), 10_000, false],
  ];
  // The record's renewTime (0, far in the past) never matters: only when we observed it.
  const observedAtMs = 1_000_000;
  for (const [what, held, elapsedMs, expected] of cases) {
    assert.equal(
      isHeldByOther(held, 'a', { observedAtMs, nowMs: observedAtMs + elapsedMs, fallbackSeconds: 10 }),
      expected,
      what,
    );
  }
});
