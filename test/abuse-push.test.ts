import { test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { pushService, type PushRequest, type PushResponse } from '../runtime/protos.js';
import { DEFAULTS as PUSH_DEFAULTS } from '../runtime/push/push.js';
import { startHarness, usersWhere } from './runtime/fake-gateway.js';
import { pushHttp } from './support/abuse.js';

/**
 * Issue 8, "Bad input", for push: requests too large, malformed or too many at once are refused
 * with their documented answer (docs/security.md: 400, 413, 503 over HTTP; INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED, UNAVAILABLE over gRPC) before any of them reaches a gateway. The clients
 * that abuse the gateway and the proxy are test/abuse.test.ts's.
 */

type PushClient = Client & {
  Push(request: PushRequest, callback: (error: ServiceError | null, response?: PushResponse) => void): void;
};

function grpcPush(port: number, request: PushRequest): Promise<PushResponse> {
  const Constructor = pushService();
  const client = new Constructor(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as PushClient;
  return new Promise<PushResponse>((resolve, reject) =>
    client.Push(request, (error, response) => (error ? reject(error) : resolve(response!))),
  ).finally(() => client.close());
}

async function grpcRefusal(port: number, request: PushRequest): Promise<{ code: status; details: string }> {
  try {
    await grpcPush(port, request);
  } catch (error) {
    const { code, details } = error as ServiceError;
    return { code, details };
  }
  throw new Error('the request was accepted');
}

const recipients = (count: number): string[] => Array.from({ length: count }, (_, i) => `r${i}`);

test('push refuses 100k recipients, oversized and malformed requests at its default limits, before any delivery', async (t) => {
  const h = await startHarness(1);
  t.after(() => h.close());
  const { http, grpc } = h.push.ports;
  const json = (messages: unknown): string => JSON.stringify({ messages });
  const cases: [string, string | Buffer, number, RegExp][] = [
    [
      '100k recipients in one message',
      json([{ msgID: 'm', toUserIDs: recipients(100_000), payload: '' }]),
      413,
      /at most 10000 recipients/,
    ],
    [
      '100k recipients over 20 messages',
      json(Array.from({ length: 20 }, (_, i) => ({ msgID: `m${i}`, toUserIDs: recipients(5000), payload: '' }))),
      413,
      /at most 10000 recipients/,
    ],
    [
      '1,001 messages',
      json(Array.from({ length: 1001 }, (_, i) => ({ msgID: `m${i}`, toUserIDs: ['u'], payload: '' }))),
      400,
      /at most 1000 messages/,
    ],
    [
      'a payload of 64 KiB + 1',
      json([{ msgID: 'm', toUserIDs: ['u'], payload: 'x'.repeat(64 * 1024 + 1) }]),
      413,
      /payload is larger than 65536 bytes/,
    ],
    [
      'a body of 8 MiB + 1',
      json([{ msgID: 'm', toUserIDs: ['u'], payload: 'x'.repeat(8 * 1024 * 1024) }]),
      413,
      /body is larger than 8388608 bytes/,
    ],
    ['truncated JSON', '{"messages":[{"msgID":"m"', 400, /not valid JSON/],
    ['null', 'null', 400, /JSON object/],
    ['a number for messages', '{"messages":7}', 400, /messages must be an array/],
    [
      'a number for msgID',
      json([{ msgID: 7, toUserIDs: ['u'], payload: '' }]),
      400,
      /messages\[0\]\.msgID must be a non-empty string/,
    ],
    [
      'objects for user IDs',
      json([{ msgID: 'm', toUserIDs: [{ id: 'u' }], payload: '' }]),
      400,
      /messages\[0\]\.toUserIDs\[0\] must be a non-empty string/,
    ],
    ['a missing toUserIDs', json([{ msgID: 'm', payload: '' }]), 400, /toUserIDs must be an array/],
    [
      '100,000 nested arrays',
      `{"messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      400,
      /messages\[0\] must be an object/,
    ],
    ['bytes that are not UTF-8 JSON', Buffer.from([0xff, 0xfe, 0x7b, 0x00]), 400, /not valid JSON/],
  ];
  for (const [what, body, code, message] of cases) {
    const answer = await pushHttp(http, body);
    assert.equal(answer.status, code, what);
    assert.match(answer.json.error.message, message, what);
  }
  const refusals: [string, PushRequest, status, RegExp][] = [
    [
      '100k recipients',
      { messages: [{ msgId: 'm', toUserIds: recipients(100_000), payload: '' }] },
      status.RESOURCE_EXHAUSTED,
      /at most 10000 recipients/,
    ],
    [
      'an empty msgId',
      { messages: [{ msgId: '', toUserIds: ['u'], payload: '' }] },
      status.INVALID_ARGUMENT,
      /msgId must be a non-empty string/,
    ],
    [
      'a message over maxBodyBytes',
      { messages: [{ msgId: 'm', toUserIds: ['u'], payload: 'x'.repeat(PUSH_DEFAULTS.maxBodyBytes) }] },
      status.RESOURCE_EXHAUSTED,
      /larger than max/,
    ],
  ];
  for (const [what, request, code, details] of refusals) {
    const refusal = await grpcRefusal(grpc, request);
    assert.equal(refusal.code, code, what);
    assert.match(refusal.details, details, what);
  }
  assert.equal(h.gateways[0]!.requests.length, 0, 'no refused request reached a gateway');
  const [user] = usersWhere(1, () => true);
  h.gateways[0]!.script(user!, { status: 'DELIVERED', connections: 1 });
  assert.deepEqual(
    (await pushHttp(http, json([{ msgID: 'ok', toUserIDs: [user], payload: 'p' }]))).json.results[0]!.status,
    'realtime',
  );
});

test('push requests beyond maxConcurrentRequests are refused at once with 503 / UNAVAILABLE, not queued', async (t) => {
  const h = await startHarness(1, { maxConcurrentRequests: 2 });
  t.after(() => h.close());
  const { http, grpc } = h.push.ports;
  const [user] = usersWhere(1, () => true);
  h.gateways[0]!.script(user!, { status: 'DELIVERED', connections: 1 });
  const body = (msgID: string): string => JSON.stringify({ messages: [{ msgID, toUserIDs: [user], payload: 'p' }] });
  h.gateways[0]!.hold();
  const held = [
    pushHttp(http, body('held-1')),
    grpcPush(grpc, { messages: [{ msgId: 'held-2', toUserIds: [user!], payload: 'p' }] }),
  ];
  const arrived = (): Set<string> => new Set(h.gateways[0]!.requests.flatMap((r) => r.messages.map((m) => m.msgId)));
  for (let n = 1; arrived().size < 2; n++) await h.gateways[0]!.waitForRequests(n);
  const refused = await pushHttp(http, body('refused'));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  assert.match(refused.json.error.message, /more than 2 push requests at once/);
  const refusal = await grpcRefusal(grpc, { messages: [{ msgId: 'refused', toUserIds: [user!], payload: 'p' }] });
  assert.equal(refusal.code, status.UNAVAILABLE);
  h.gateways[0]!.release();
  const [first, second] = await Promise.all(held);
  assert.equal((first as { status: number }).status, 200);
  assert.equal((second as PushResponse).results[0]!.status, 'realtime');
  assert.equal((await pushHttp(http, body('after'))).status, 200, 'a slot is free again once a request is answered');
  assert.equal(await h.metric('imring_push_requests_total', { api: 'http', code: '503' }), 1);
});
