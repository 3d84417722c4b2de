/**
 * Runs the test files under dist/test: with no argument every file but the {@link SYSTEM} tier
 * (`npm run test:unit`, which wraps it in c8); with `--system` that tier alone (`npm run
 * test:system`); or the files named as arguments (relative to dist/test). First the files that
 * can share the machine, two at a time, then those in {@link ALONE}, one at a time. The runs
 * inherit c8's NODE_V8_COVERAGE, so one report covers them, except the system tests in
 * {@link WITHOUT_COVERAGE}. Every run always happens; the exit code is non-zero when any failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Test files (relative to dist/test) that must not run beside another one, and why: they load
 * both cores on their own, or they assert timing that a busy neighbour could stretch.
 */
const ALONE: Readonly<Record<string, string>> = {
  'chaos.test.js': 'the whole system under faults with traffic running',
  'scenario.test.js': '2,000 users through a scale sequence, every pair accounted for',
  'lifecycle.test.js': '2,000 users through rollouts, a pod deletion and a gateway kill',
  'autoscale.test.js': 'heavy demo traffic drives an HPA to scale the gateways out, then in',
  'abuse.test.js': 'floods of 5,000 connections at once',
  'web-status.test.js': 'imring scaled 3 to 5 on a local cluster, watched by chromium through the status page',
  'abuse-push.test.js': 'push requests of 100k recipients, 8 MiB bodies and 100,000 nested arrays',
  'local/imring-local-demo.test.js': 'imring local with every component as a process and demo traffic',
  'operator/failover.test.js': 'operator, proxy, push and gateway processes; the operator killed at each step',
  'operator/leader.test.js': 'operator processes taking over a Lease on its real duration',
  'kube-leader-election.test.js': 'asserts lease durations and renew deadlines on the real clock',
  'runtime/ring-fence.test.js': 'a 600 ms Lease with a 200 ms margin on the real clock',
  'runtime/ring-watcher.test.js': 'a ring must be served within 500 ms of its write',
  'growth.test.js': '100 simulated gateways, each with a ring watch and a Lease, through transitions and a rollout',
};

/**
 * Files of {@link ALONE} run without coverage collection: whole systems of processes under load.
 * Each of their dozens of processes writes its V8 coverage (client-node included) at exit, about
 * 1 GB in all, and collecting it slows them by about a tenth; what they run, the other files
 * cover (`npm run coverage` reports it). The 95 % gate is on ring/, which unit tests cover.
 */
const WITHOUT_COVERAGE: ReadonlySet<string> = new Set([
  'chaos.test.js',
  'scenario.test.js',
  'lifecycle.test.js',
  'autoscale.test.js',
  'abuse.test.js',
  'web-status.test.js',
  'local/imring-local-demo.test.js',
  'operator/failover.test.js',
  'operator/leader.test.js',
  'growth.test.js',
]);

/**
 * The system tier: whole systems under traffic through every planned and unplanned event, and at
 * a hundred gateways, about six minutes on two cores. `npm test` leaves them out to stay near five
 * minutes; `.ci/run` runs both, so nothing lands without them.
 */
const SYSTEM: ReadonlySet<string> = new Set([
  'chaos.test.js',
  'lifecycle.test.js',
  'scenario.test.js',
  'growth.test.js',
]);

/**
 * Files run only when named (`npm run test:autoscale`), and why. The autoscale test overloads the machine on
 * purpose (the HPA needs busy gateways); on two cores a client's move can then outlast its handshake timeout while
 * the gateway already delivered on the new connection, and that message is lost (a known limit, noted on issue 17):
 * until delivery is confirmed end to end, it stays out of CI's gate.
 */
const ONLY_NAMED: ReadonlySet<string> = new Set(['autoscale.test.js']);

/** Files run at once in the first run. */
const CONCURRENCY = 2;

const root = fileURLToPath(new URL('.', import.meta.url));
const files = testFiles(root).map((f) => relative(root, f));
const missing = [...Object.keys(ALONE), ...WITHOUT_COVERAGE].filter((f) => !files.includes(f));
if (missing.length > 0) throw new Error(`test/run-tests.ts names missing files: ${missing.join(', ')}`);
const shareable = [...WITHOUT_COVERAGE].filter((f) => !(f in ALONE));
if (shareable.length > 0) throw new Error(`WITHOUT_COVERAGE names files not in ALONE: ${shareable.join(', ')}`);
const outside = [...SYSTEM].filter((f) => !(f in ALONE));
if (outside.length > 0) throw new Error(`SYSTEM names files not in ALONE: ${outside.join(', ')}`);
const systemTier = process.argv[2] === '--system';
const named = systemTier ? [...SYSTEM] : process.argv.slice(2);
const unknown = named.filter((f) => !files.includes(f));
if (unknown.length > 0) throw new Error(`no such test file under dist/test: ${unknown.join(', ')}`);
const selected =
  named.length > 0 ? files.filter((f) => named.includes(f)) : files.filter((f) => !SYSTEM.has(f) && !ONLY_NAMED.has(f));
const shared = selected.filter((f) => !(f in ALONE));
const alone = selected.filter((f) => f in ALONE && !WITHOUT_COVERAGE.has(f));
const uncovered = selected.filter((f) => f in ALONE && WITHOUT_COVERAGE.has(f));
const failed = [run(shared, CONCURRENCY), run(alone, 1), run(uncovered, 1, { coverage: false })].some((ok) => !ok);
process.exitCode = failed ? 1 : 0;

/** Runs `node --test` on `names` (relative to dist/test), `concurrency` files at a time; true when it passed. */
function run(names: readonly string[], concurrency: number, options: { coverage?: boolean } = {}): boolean {
  if (names.length === 0) return true;
  const paths = names.map((n) => join(root, n));
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...paths];
  const env = { ...process.env };
  if (options.coverage === false) delete env.NODE_V8_COVERAGE;
  const note = options.coverage === false ? ', without coverage' : '';
  process.stdout.write(`# ${names.length} test file(s), ${concurrency} at a time${note}\n`);
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
  return result.status === 0;
}

/** Every `*.test.js` below `dir`, sorted. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(dir, f))
    .sort();
}
