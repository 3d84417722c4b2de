import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseListen } from '../cli/status-web.js';
import type { Snapshot } from '../cli/web/snapshot.js';
import { runCli } from './support/cli.js';
import { SseClient } from './support/sse-client.js';
import { withStatusClusters, type StatusServer } from './support/status-cluster.js';

/**
 * `imring status NAME --web`: its usage errors in this process, and the command itself as a
 * child process against the seeded clusters of test/support/status-cluster.ts.
 */

const IMRING = fileURLToPath(new URL('../cli/imring.js', import.meta.url));
let withCrd: StatusServer;
withStatusClusters((clusters) => ({ withCrd } = clusters));
const clients: SseClient[] = [];
after(() => clients.forEach((c) => c.close()));

test('--listen takes HOST:PORT, IPv6 in brackets, and refuses anything else', () => {
  assert.deepEqual(parseListen('127.0.0.1:8090'), { host: '127.0.0.1', port: 8090 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen('localhost:9000'), { host: 'localhost', port: 9000 });
  for (const bad of ['8090', '127.0.0.1', '127.0.0.1:70000', ':8090', '::1:80', 'a b:1', '127.0.0.1:x']) {
    assert.throws(() => parseListen(bad), /--listen must be HOST:PORT/, bad);
  }
});

test('status --web refuses a missing NAME, a bad --listen, and --listen without --web', async () => {
  for (const [argv, message] of [
    [['status', '--web'], '--web needs a gateway NAME'],
    [['status', 'im', '--web', '--listen', 'nowhere'], '--listen must be HOST:PORT'],
    [['status', 'im', '--listen', '127.0.0.1:0'], '--listen needs --web'],
  ] as const) {
    const result = await runCli([...argv]);
    assert.equal(result.code, 2, argv.join(' '));
    assert.match(result.stderr, new RegExp(message.replace(/[-.]/g, '\\$&')));
  }
});

test('status --help names --web and --listen', async () => {
  const result = await runCli(['status', '--help']);
  assert.match(result.stdout, /--web {2,}serve the live web view/);
  assert.match(result.stdout, /--listen HOST:PORT/);
});

test('status NAME --web serves the live view until SIGTERM, then exits 0', async () => {
  const args = ['status', 'im', '-n', 'chat', '--web', '--listen', '127.0.0.1:0', '--kubeconfig', withCrd.kubeconfig];
  const child = spawn(process.execPath, [IMRING, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  try {
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const match = /^serving (http:\/\/127\.0\.0\.1:\d+\/) \(Ctrl-C to stop\)$/m.exec(stdout);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before serving: ${stdout}`)));
    });
    const client = new SseClient();
    clients.push(client);
    await client.connect(`${url}events`);
    const snapshot = await client.waitFor((e) => {
      const s = JSON.parse(e.data) as Snapshot;
      return s.status ? s : undefined;
    });
    assert.deepEqual([snapshot.name, snapshot.namespace, snapshot.status?.ring.version], ['im', 'chat', 2]);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
