/**
 * Runs every test file under dist/test (`npm run test:unit`, which wraps it in c8), or those
 * named as arguments (relative to dist/test): first the files that can share the machine, two
 * at a time, then those in {@link ALONE}, one at a time. Both runs inherit c8's
 * NODE_V8_COVERAGE, so one report covers them. Both always run; the exit code is non-zero when
 * either failed.
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
  'abuse.test.js': 'floods of 5,000 connections at once',
  'abuse-push.test.js': 'push requests of 100k recipients, 8 MiB bodies and 100,000 nested arrays',
  'local/imring-local-demo.test.js': 'imring local with every component as a process and demo traffic',
  'operator/failover.test.js': 'operator, proxy, push and gateway processes; the operator killed at each step',
  'operator/leader.test.js': 'operator processes taking over a Lease on its real duration',
  'operator/scale.test.js': 'operator, proxy, push and up to 5 gateway processes',
  'rbac.test.js': 'operator, proxy, push and gateway processes, every request checked',
  'kube-leader-election.test.js': 'asserts lease durations and renew deadlines on the real clock',
  'runtime/ring-fence.test.js': 'a 600 ms Lease with a 200 ms margin on the real clock',
  'runtime/ring-watcher.test.js': 'a ring must be served within 500 ms of its write',
};

/** Files run at once in the first run. */
const CONCURRENCY = 2;

const root = fileURLToPath(new URL('.', import.meta.url));
const files = testFiles(root).map((f) => relative(root, f));
const missing = Object.keys(ALONE).filter((f) => !files.includes(f));
if (missing.length > 0) throw new Error(`ALONE in test/run-tests.ts names missing files: ${missing.join(', ')}`);
const named = process.argv.slice(2);
const unknown = named.filter((f) => !files.includes(f));
if (unknown.length > 0) throw new Error(`no such test file under dist/test: ${unknown.join(', ')}`);
const selected = named.length > 0 ? files.filter((f) => named.includes(f)) : files;
const shared = selected.filter((f) => !(f in ALONE));
const alone = selected.filter((f) => f in ALONE);
const failed = [run(shared, CONCURRENCY), run(alone, 1)].some((ok) => !ok);
process.exitCode = failed ? 1 : 0;

/** Runs `node --test` on `names` (relative to dist/test), `concurrency` files at a time; true when it passed. */
function run(names: readonly string[], concurrency: number): boolean {
  if (names.length === 0) return true;
  const paths = names.map((n) => join(root, n));
  const args = ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...paths];
  process.stdout.write(`# ${names.length} test file(s), ${concurrency} at a time\n`);
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  return result.status === 0;
}

/** Every `*.test.js` below `dir`, sorted. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(dir, f))
    .sort();
}
