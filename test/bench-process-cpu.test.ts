import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { CpuWindow, imringCommandOf, processCpuMs } from '../bench/lib/process-cpu.js';

/** A child that spins its CPU for `ms` of its own clock, says `spun`, then waits to be killed. */
function spinner(ms: number, ...args: string[]) {
  const code = `const end = performance.now() + ${ms}; while (performance.now() < end); console.log('spun'); setInterval(() => {}, 1e6);`;
  return spawn(process.execPath, ['-e', code, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('the CPU a watched process spends in a window is counted in its group; the imring subcommand is read from its command line', async (t) => {
  if (processCpuMs(process.pid) === undefined) return t.skip('no /proc here');
  const child = spinner(300, 'dist/cli/imring.js', 'gateway');
  try {
    const pid = child.pid!;
    const window = new CpuWindow({ pids: () => [pid], groupOf: (p) => (p === pid ? imringCommandOf(p) : undefined) });
    window.start();
    const [data] = await once(child.stdout, 'data');
    assert.equal(String(data).trim(), 'spun');
    const spent = window.stop();
    assert.deepEqual(Object.keys(spent), ['gateway']);
    assert.ok(spent.gateway! >= 200, `spent ${spent.gateway} ms of CPU in the window`);
    assert.deepEqual(window.stop(), spent, 'a second stop reads nothing more');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a process that is gone has no CPU reading and no command', async () => {
  const child = spinner(0);
  const pid = child.pid!;
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(processCpuMs(pid), undefined);
  assert.equal(imringCommandOf(pid), undefined);
});
