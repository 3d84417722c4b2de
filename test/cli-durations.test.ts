import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { parseDuration } from '../cli/duration.js';
import { parseOperatorArgs } from '../cli/operator.js';
import { leaseTimingOf } from '../cli/runtime-lease.js';
import { runtimeLeaseName } from '../ring/index.js';
import { runCli } from './support/cli.js';
import { repoRoot } from './support/fixtures.js';
import { startLocalApi } from './support/local-api.js';
import { watchUntil } from './support/wait.js';

test("parseDuration reads Go durations as kube-controller-manager's flags take them, in ms", () => {
  const cases: [string, number][] = [
    ['15s', 15_000],
    ['500ms', 500],
    ['1.5s', 1500],
    ['2.2s', 2200],
    ['.5s', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['250us', 0.25],
    ['250µs', 0.25],
    ['1000000ns', 1],
    ['0', 0],
    ['0s', 0],
  ];
  for (const [text, expected] of cases) assert.equal(parseDuration(text), expected, JSON.stringify(text));
  const refused = ['', '15', '-1s', '+1s', '1 s', 's', '1e3s', '15sec', '1.2.3s', '1d', '1s '];
  for (const text of refused) assert.equal(parseDuration(text), undefined, JSON.stringify(text));
});

test('the operator takes the leader election periods as flags, in seconds, and defaults to 15 s / 10 s / 2 s', () => {
  const periods = (args: string[]): unknown => {
    const parsed = parseOperatorArgs(args, {});
    return parsed === 'help' ? parsed : parsed.leaderElection;
  };
  assert.deepEqual(periods([]), { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 });
  const fast = ['--leader-elect-lease-duration', '1s', '--leader-elect-renew-deadline', '500ms'];
  assert.deepEqual(periods([...fast, '--leader-elect-retry-period=0.1s']), {
    leaseDurationSeconds: 1,
    renewDeadlineSeconds: 0.5,
    retryPeriodSeconds: 0.1,
  });
  const long = ['--leader-elect-lease-duration', '1m', '--leader-elect-renew-deadline', '45s'];
  assert.deepEqual(periods(long), { leaseDurationSeconds: 60, renewDeadlineSeconds: 45, retryPeriodSeconds: 2 });
});

const NOT_WHOLE = 'must be whole seconds, at least 1s (a Lease counts in seconds)';
const NOT_A_DURATION = 'must be a duration such as 15s, 1.5s or 500ms';

const operatorFailures: [string[], string][] = [
  [['--leader-elect-lease-duration', '1500ms'], `--leader-elect-lease-duration ${NOT_WHOLE}, got "1500ms"`],
  [['--leader-elect-lease-duration', '0'], `--leader-elect-lease-duration ${NOT_WHOLE}, got "0"`],
  [['--leader-elect-renew-deadline', 'soon'], `--leader-elect-renew-deadline ${NOT_A_DURATION}, got "soon"`],
  [['--leader-elect-retry-period', '0s'], '--leader-elect-retry-period must be more than 0, got "0s"'],
  [['--leader-elect-retry-period=-2s'], `--leader-elect-retry-period ${NOT_A_DURATION}, got "-2s"`],
  [
    ['--leader-elect-lease-duration', '5s'],
    '--leader-elect-renew-deadline (10) must be less than --leader-elect-lease-duration (5)',
  ],
  [
    ['--leader-elect-retry-period', '9s'],
    '--leader-elect-renew-deadline (10) must be greater than 1.2 × --leader-elect-retry-period (9)',
  ],
];

for (const [args, message] of operatorFailures) {
  test(`imring operator ${args.join(' ')} exits 2 naming the flag, before it starts`, async () => {
    const result = await runCli(['operator', ...args]);
    assert.deepEqual([result.code, result.stderr, result.stdout], [2, `imring operator: ${message}\n`, '']);
  });
}

test('a runtime takes its Lease periods as flags, proxy and push their fence margin (default 15 s, 5 s, 3 s)', () => {
  const defaults = { 'lease-duration': '15s', 'lease-renew-period': '5s', 'lease-fence-margin': '3s' };
  assert.deepEqual(leaseTimingOf(defaults, { fenced: true }), {
    lease: { durationSeconds: 15, renewSeconds: 5 },
    fence: { leaseMs: 15_000, marginMs: 3000 },
  });
  assert.deepEqual(leaseTimingOf(defaults, { fenced: false }), { lease: { durationSeconds: 15, renewSeconds: 5 } });
  const fast = { 'lease-duration': '1s', 'lease-renew-period': '200ms', 'lease-fence-margin': '0' };
  assert.deepEqual(leaseTimingOf(fast, { fenced: true }), {
    lease: { durationSeconds: 1, renewSeconds: 0.2 },
    fence: { leaseMs: 1000, marginMs: 0 },
  });
});

const runtimeFailures: [string[], string][] = [
  [['push', '--lease-duration', '2.5s'], `imring push: --lease-duration ${NOT_WHOLE}, got "2.5s"`],
  [['push', '--lease-renew-period', '0'], 'imring push: --lease-renew-period must be more than 0, got "0"'],
  [['proxy', '--lease-fence-margin', 'later'], `imring proxy: --lease-fence-margin ${NOT_A_DURATION}, got "later"`],
  [
    ['proxy', '--lease-duration', '8s'],
    'imring proxy: --lease-renew-period (5s) plus --lease-fence-margin (3s) must be less than --lease-duration (8s)',
  ],
  [
    ['gateway', '--token-secret', 'k', '--lease-duration', '5s'],
    'imring gateway: --lease-renew-period (5s) must be less than --lease-duration (5s)',
  ],
  [
    ['gateway', '--token-secret', 'k', '--termination-grace', '30'],
    `imring gateway: --termination-grace ${NOT_A_DURATION}, got "30"`,
  ],
  [
    ['gateway', '--token-secret', 'k', '--termination-grace', '0'],
    'imring gateway: --termination-grace must be more than 0, got "0"',
  ],
  // The gateway routes nothing, so it runs no fence.
  [
    ['gateway', '--token-secret', 'k', '--lease-fence-margin', '1s'],
    "imring gateway: Unknown option '--lease-fence-margin'",
  ],
];

for (const [[component, ...args], message] of runtimeFailures) {
  test(`imring ${component} ${args.join(' ')} exits 2 naming the flag, before it starts`, async () => {
    const result = await runCli([component!, '--gateway', 'im', ...args]);
    assert.deepEqual([result.code, result.stderr, result.stdout], [2, `${message}\n`, '']);
  });
}

test('imring push holds its Lease with the duration and renew period its flags give', async () => {
  const api = await startLocalApi();
  const dir = await mkdtemp(join(tmpdir(), 'imring-lease-flags-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, api.server.kubeconfig());
  const name = runtimeLeaseName('im', 'push', 'push-a');
  const leases = api.kc.makeApiClient(CoordinationV1Api);
  const args = [
    'push',
    '--gateway',
    'im',
    '--host',
    '127.0.0.1',
    '--grpc-port',
    '0',
    '--http-port',
    '0',
    '--ops-port',
    '0',
  ];
  const timing = ['--lease-duration', '2s', '--lease-renew-period', '200ms', '--lease-fence-margin', '500ms'];
  const child = spawn(process.execPath, [join(repoRoot, 'dist/cli/imring.js'), ...args, ...timing], {
    env: { PATH: process.env.PATH, KUBECONFIG: kubeconfig, POD_NAMESPACE: 'default', POD_NAME: 'push-a' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const renewals: number[] = [];
    const renewed = watchUntil(
      api.kc,
      '/apis/coordination.k8s.io/v1/namespaces/default/leases',
      async () => {
        const current = await leases.readNamespacedLease({ name, namespace: 'default' }).catch(() => undefined);
        const at = current?.spec?.renewTime === undefined ? undefined : new Date(current.spec.renewTime).getTime();
        if (at !== undefined && at !== renewals.at(-1)) renewals.push(at);
        return renewals.length >= 3 ? current : undefined;
      },
      30_000,
    );
    const died = exited.then((code) => Promise.reject(new Error(`imring push exited (${code}) before its renewals`)));
    // Only the race needs it: the exit on SIGTERM below rejects it too, unheard.
    died.catch(() => undefined);
    const lease = await Promise.race([renewed, died]);
    assert.equal(lease?.spec?.leaseDurationSeconds, 2);
    const gaps = renewals.slice(1).map((at, i) => at - renewals[i]!);
    // Renewed every 200 ms (plus the write's own time): far below the 5 s default.
    assert.ok(
      gaps.every((gap) => gap < 2500),
      `renewed ${gaps.join(', ')} ms apart`,
    );
  } finally {
    child.kill('SIGTERM');
    assert.equal(await exited, 0, 'stops cleanly on SIGTERM');
    await api.close();
    await rm(dir, { recursive: true, force: true });
  }
});
