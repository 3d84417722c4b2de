import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  backoffDelay,
  closeAction,
  immediateDelay,
  moveRetryDelay,
  parseFrame,
  CLIENT_DEFAULTS,
} from '../../client/index.js';
import { MessageQueue } from '../../client/message-queue.js';

test('close codes map to reconnect at once, back off, or stop', () => {
  const cases: Array<[number, number | undefined, string]> = [
    [4001, undefined, 'now'],
    [4002, undefined, 'now'],
    [4003, undefined, 'stop'],
    [4401, undefined, 'stop'],
    [1006, 401, 'stop'],
    [1006, 503, 'backoff'],
    [1006, undefined, 'backoff'],
    [1000, undefined, 'backoff'],
    [1009, undefined, 'backoff'],
    [4008, undefined, 'backoff'],
  ];
  for (const [code, status, expected] of cases) {
    const action = closeAction(code, status);
    const got = action.kind === 'stop' ? 'stop' : action.immediate ? 'now' : 'backoff';
    assert.equal(got, expected, `${code}/${status}`);
  }
  // Replaced by an attempt of its own that it had given up on: reconnect, not stop.
  assert.deepEqual(closeAction(4003, undefined, 'replaced by this client'), { kind: 'reconnect', immediate: true });
  assert.equal(closeAction(4003, undefined, 'replaced').kind, 'stop');
});

test('the default backoff doubles from 500 ms to 30 s, and immediate reconnects wait at most 100 ms', () => {
  const policy = CLIENT_DEFAULTS.reconnect;
  const delays = Array.from({ length: 9 }, (_, n) => backoffDelay(n, policy, () => 0.5));
  assert.deepEqual(delays, [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  assert.equal(
    backoffDelay(10_000, policy, () => 0.5),
    30_000,
    'no overflow after many failures',
  );
  assert.equal(
    immediateDelay(policy, () => 0),
    0,
  );
  assert.equal(
    immediateDelay(policy, () => 0.999),
    100,
  );
});

test('frames parse to messages; unknown types are skipped and junk is reported', () => {
  assert.deepEqual(parseFrame('{"type":"message","msgID":"m1","payload":"p","extra":1}'), {
    kind: 'message',
    message: { msgID: 'm1', payload: 'p' },
  });
  assert.deepEqual(parseFrame('{"type":"ping"}'), { kind: 'ignored' });
  assert.equal(parseFrame('{"type":"message","msgID":1,"payload":"p"}').kind, 'invalid');
  assert.equal(parseFrame('[1]').kind, 'invalid');
  assert.equal(parseFrame('null').kind, 'invalid');
  assert.equal(parseFrame('{').kind, 'invalid');
});

test('migrate frames parse with their reason and deadline; a bad reason or deadline is junk', () => {
  assert.deepEqual(parseFrame('{"type":"migrate","reason":"ring","deadlineMs":10000,"extra":1}'), {
    kind: 'migrate',
    migrate: { type: 'migrate', reason: 'ring', deadlineMs: 10_000 },
  });
  assert.deepEqual(parseFrame('{"type":"migrate","reason":"shutdown","deadlineMs":0}'), {
    kind: 'migrate',
    migrate: { type: 'migrate', reason: 'shutdown', deadlineMs: 0 },
  });
  const junk: Array<[string, RegExp]> = [
    ['{"type":"migrate","deadlineMs":10}', /reason/],
    ['{"type":"migrate","reason":"bored","deadlineMs":10}', /reason/],
    ['{"type":"migrate","reason":"ring"}', /deadlineMs/],
    ['{"type":"migrate","reason":"ring","deadlineMs":"10"}', /deadlineMs/],
    ['{"type":"migrate","reason":"ring","deadlineMs":-1}', /deadlineMs/],
  ];
  for (const [text, reason] of junk) {
    const parsed = parseFrame(text);
    assert.equal(parsed.kind, 'invalid', text);
    assert.match(parsed.kind === 'invalid' ? parsed.reason : '', reason, text);
  }
});

test('a move retries with backoff only while the retry would start before the deadline', () => {
  const policy = { ...CLIENT_DEFAULTS.reconnect, jitter: 0 };
  const delays = [0, 1, 2, 3].map((failures) => moveRetryDelay(failures, policy, () => 0.5, 3_000));
  assert.deepEqual(delays, [500, 1_000, 2_000, undefined], '4 000 ms would come after the deadline 3 000 ms away');
  assert.equal(
    moveRetryDelay(0, policy, () => 0.5, 500),
    undefined,
    'not exactly at the deadline either',
  );
  assert.equal(
    moveRetryDelay(0, policy, () => 0.5, 501),
    500,
  );
});

test('a messages() queue holds at most its limit, then fails instead of growing', async () => {
  let done = 0;
  const queue = new MessageQueue<number>(2, () => done++);
  queue.push(1);
  queue.push(2);
  queue.push(3);
  assert.deepEqual(await queue.next(), { value: 1, done: false });
  assert.deepEqual(await queue.next(), { value: 2, done: false });
  await assert.rejects(queue.next(), /maxQueuedMessages/);
  assert.deepEqual(await queue.next(), { value: undefined, done: true });
  assert.equal(done, 1);
});
