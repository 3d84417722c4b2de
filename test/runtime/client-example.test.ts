import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../support/fixtures.js';
import { startFakeWsGateway } from './fake-ws-gateway.js';
import { queryOf, sendMigrate, startTcpGate, wsUrl } from './client-support.js';

/** The minimal third-party client of docs/graceful-migration.md: plain JavaScript on `ws`. */
const EXAMPLE = join(repoRoot, 'examples/minimal-client.mjs');

/** The example as a child process: `nextLine()` is the next msgID it printed, and fails once it exited. */
function runExample(args: readonly string[]): { nextLine(): Promise<string>; stop(): Promise<void> } {
  const child = spawn(process.execPath, [EXAMPLE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    nextLine: async () => {
      const line = await lines.next();
      if (line.done === true) throw new Error(`the example exited (${String(child.exitCode ?? child.signalCode)})`);
      return line.value;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill();
      await once(child, 'exit');
    },
  };
}

// A child process: the timeout bounds an example that would never print what the test waits for.
test(
  'the minimal client of the docs moves make-before-break on a migrate frame, and reconnects after a 4001',
  { timeout: 30_000 },
  async () => {
    const gateway = await startFakeWsGateway({ echo: false });
    const gate = await startTcpGate(gateway);
    const example = runExample([wsUrl(gate), 'u1', 'web', 'a-token']);
    try {
      const first = await gateway.nextConnection();
      assert.deepEqual(queryOf(first), { userID: 'u1', platform: 'web', token: 'a-token', migrate: 'graceful' });
      gateway.sendMessage(first, { msgID: 'm1', payload: 'before' });
      assert.equal(await example.nextLine(), 'm1');

      gate.mode = 'hold';
      sendMigrate(first, { reason: 'ring', deadlineMs: 10_000 });
      await gate.nextHeld();
      // A close frame sent before the new connection opened would reach the gateway before this pong.
      first.socket.ping();
      const answer = await Promise.race([once(first.socket, 'pong'), first.closed]);
      assert.deepEqual(answer, [Buffer.alloc(0)], 'the old connection answers while the new one opens');
      gateway.sendMessage(first, { msgID: 'm2', payload: 'on the old connection' });
      assert.equal(await example.nextLine(), 'm2');
      gate.release();
      const second = await gateway.nextConnection();
      assert.deepEqual(await first.closed, { code: 1000, reason: '' });
      gateway.sendMessage(second, { msgID: 'm3', payload: 'on the new connection' });
      assert.equal(await example.nextLine(), 'm3');

      second.socket.close(4001, 'moved');
      const third = await gateway.nextConnection();
      gateway.sendMessage(third, { msgID: 'm4', payload: 'after reconnecting' });
      assert.equal(await example.nextLine(), 'm4');
    } finally {
      await example.stop();
      await gate.close();
      await gateway.close();
    }
  },
);

test('docs/graceful-migration.md shows examples/minimal-client.mjs as it is', () => {
  const page = readFileSync(join(repoRoot, 'docs/graceful-migration.md'), 'utf8');
  const example = readFileSync(EXAMPLE, 'utf8');
  assert.ok(page.includes(`\`\`\`js\n${example}\`\`\``), 'the page holds the file, whole, in a js code block');
});
