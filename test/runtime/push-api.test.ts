import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { pushService, type PushRequest, type PushResponse } from '../../runtime/protos.js';
import { ringOf, startHarness, usersWhere, type Harness } from './fake-gateway.js';

const LIMITS = { maxMessagesPerRequest: 2, maxRecipientsPerRequest: 3, maxPayloadBytes: 8, maxBodyBytes: 1024 };

/** One HTTP exchange with push: status, headers and the body as text. */
function http(
  h: Harness,
  init: { method?: string; path?: string; body?: string },
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: h.push.ports.http,
        method: init.method ?? 'POST',
        path: init.path ?? '/v1/push',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

test('POST /v1/push answers the DESIGN wire format, one result per recipient in request order', async (t) => {
  const h = await startHarness(1, LIMITS);
  t.after(() => h.close());
  const [online] = usersWhere(1, () => true);
  h.gateways[0]!.script(online!, { status: 'DELIVERED', connections: 2 });
  const response = await http(h, {
    body: JSON.stringify({ messages: [{ msgID: 'm1', toUserIDs: [online, 'away'], payload: 'hi' }] }),
  });
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.body), {
    results: [
      { msgID: 'm1', userID: online, status: 'realtime', via: 'current', connections: 2 },
      { msgID: 'm1', userID: 'away', status: 'offline', reason: 'not_connected' },
    ],
  });
  assert.equal(await h.metric('imring_push_requests_total', { api: 'http', code: '200' }), 1);
});

const BAD_REQUESTS: [string, string, number, RegExp][] = [
  ['malformed JSON', '{"messages":[', 400, /not valid JSON/],
  ['a body that is not an object', '[]', 400, /JSON object/],
  ['messages that are not an array', '{"messages":{}}', 400, /messages must be an array/],
  ['a message that is not an object', '{"messages":[1]}', 400, /messages\[0\] must be an object/],
  [
    'a missing msgID',
    '{"messages":[{"toUserIDs":["u"],"payload":"x"}]}',
    400,
    /messages\[0\]\.msgID must be a non-empty string/,
  ],
  ['an empty msgID', '{"messages":[{"msgID":"","toUserIDs":["u"],"payload":"x"}]}', 400, /msgID/],
  [
    'a non-string payload',
    '{"messages":[{"msgID":"m","toUserIDs":["u"],"payload":{}}]}',
    400,
    /payload must be a string/,
  ],
  ['a missing payload', '{"messages":[{"msgID":"m","toUserIDs":["u"]}]}', 400, /payload must be a string/],
  [
    'toUserIDs that is not an array',
    '{"messages":[{"msgID":"m","toUserIDs":"u","payload":"x"}]}',
    400,
    /toUserIDs must be an array/,
  ],
  [
    'an empty user ID',
    '{"messages":[{"msgID":"m","toUserIDs":["u",""],"payload":"x"}]}',
    400,
    /toUserIDs\[1\] must be a non-empty string/,
  ],
  [
    'a user ID that is not a string',
    '{"messages":[{"msgID":"m","toUserIDs":[7],"payload":"x"}]}',
    400,
    /toUserIDs\[0\]/,
  ],
  [
    'too many messages',
    JSON.stringify({ messages: [1, 2, 3].map((i) => ({ msgID: `m${i}`, toUserIDs: ['u'], payload: '' })) }),
    400,
    /at most 2 messages/,
  ],
  [
    'too many recipients',
    JSON.stringify({
      messages: [
        { msgID: 'm', toUserIDs: ['a', 'b'], payload: '' },
        { msgID: 'n', toUserIDs: ['c', 'd'], payload: '' },
      ],
    }),
    413,
    /at most 3 recipients/,
  ],
  [
    'a payload over maxPayloadBytes',
    JSON.stringify({ messages: [{ msgID: 'm', toUserIDs: ['u'], payload: 'ééééé' }] }),
    413,
    /larger than 8 bytes/,
  ],
  [
    'a body over maxBodyBytes',
    JSON.stringify({ messages: [{ msgID: 'm', toUserIDs: ['u'], payload: 'x'.repeat(2000) }] }),
    413,
    /larger than 1024 bytes/,
  ],
];

test('POST /v1/push refuses bad input with a JSON error: 400 invalid, 413 too large', async (t) => {
  const h = await startHarness(1, LIMITS);
  t.after(() => h.close());
  for (const [what, body, expected, message] of BAD_REQUESTS) {
    const response = await http(h, { body });
    assert.equal(response.status, expected, what);
    const { error } = JSON.parse(response.body) as { error: { code: string; message: string } };
    assert.equal(error.code, expected === 400 ? 'invalid_argument' : 'too_large', what);
    assert.match(error.message, message, what);
  }
  // A body over the limit without a Content-Length is cut off while it streams in.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.push.ports.http, method: 'POST', path: '/v1/push' }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('error', reject);
    for (let i = 0; i < 4; i++) req.write('x'.repeat(512));
    req.end();
  });
  assert.equal(chunked, 413);
  assert.equal(h.gateways[0]!.requests.length, 0);
  assert.equal(await h.metric('imring_push_requests_total', { api: 'http', code: '400' }), 12);
});

test('the HTTP server answers 405 to other methods, 404 elsewhere, and serves health, readiness and metrics', async (t) => {
  const h = await startHarness(1, { ring: false });
  t.after(() => h.close());
  const wrongMethod = await http(h, { method: 'GET' });
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.allow, 'POST');
  assert.equal((await http(h, { method: 'GET', path: '/nowhere' })).status, 404);
  assert.equal((await http(h, { method: 'GET', path: '/healthz' })).status, 200);
  assert.equal((await http(h, { method: 'GET', path: '/readyz' })).status, 503);
  const body = JSON.stringify({ messages: [{ msgID: 'm', toUserIDs: ['u'], payload: '' }] });
  assert.equal(JSON.parse((await http(h, { body })).body).results[0].reason, 'no_ring');
  h.source.set(ringOf(h.members));
  assert.equal((await http(h, { method: 'GET', path: '/readyz' })).status, 200);
  const metrics = await http(h, { method: 'GET', path: '/metrics' });
  assert.match(metrics.body, /imring_push_requests_total\{api="http",code="405"\} 1/);
  assert.match(metrics.body, /imring_push_deliveries_total\{result="offline"\} 1/);
});

test('while the ring is fenced (the Lease not renewed in time), both APIs refuse every call at once (503 fenced, UNAVAILABLE) and /readyz fails', async (t) => {
  const { h, client, online } = await grpcHarness(t, await startHarness(1));
  const body = JSON.stringify({ messages: [{ msgID: 'm', toUserIDs: [online], payload: '' }] });
  h.source.fence('this runtime could not renew its Lease');
  const refused = await http(h, { body });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  const { error } = JSON.parse(refused.body) as { error: { code: string; message: string } };
  assert.equal(error.code, 'fenced');
  assert.match(error.message, /could not renew its Lease/);
  await assert.rejects(
    grpcPush(client, { messages: [{ msgId: 'm', toUserIds: [online], payload: '' }] }),
    (error: ServiceError) => error.code === status.UNAVAILABLE && /Lease/.test(error.details),
  );
  await assert.rejects(h.push.push([{ msgId: 'm', toUserIds: [online], payload: '' }]), /Lease/);
  assert.equal((await http(h, { method: 'GET', path: '/readyz' })).status, 503);
  assert.equal(h.gateways[0]!.requests.length, 0, 'nothing was delivered');
  h.source.fence(undefined);
  assert.equal((await http(h, { method: 'GET', path: '/readyz' })).status, 200);
  assert.equal(JSON.parse((await http(h, { body })).body).results[0].status, 'realtime');
});

type PushClient = Client & {
  Push(request: PushRequest, callback: (error: ServiceError | null, response?: PushResponse) => void): void;
};

/** A gRPC client of `h`'s push, closed with it after the test, and a user its gateway answers DELIVERED for. */
function grpcHarness(t: TestContext, h: Harness): Promise<{ h: Harness; client: PushClient; online: string }> {
  const Constructor = pushService();
  const client = new Constructor(
    `127.0.0.1:${h.push.ports.grpc}`,
    credentials.createInsecure(),
  ) as unknown as PushClient;
  t.after(async () => {
    client.close();
    await h.close();
  });
  const online = usersWhere(1, () => true)[0]!;
  h.gateways[0]!.script(online, { status: 'DELIVERED', connections: 1 });
  return Promise.resolve({ h, client, online });
}

function grpcPush(client: PushClient, request: PushRequest): Promise<PushResponse> {
  return new Promise((resolve, reject) =>
    client.Push(request, (error, response) => (error ? reject(error) : resolve(response!))),
  );
}

test('the gRPC Push service answers like the HTTP API, with INVALID_ARGUMENT and RESOURCE_EXHAUSTED for bad input', async (t) => {
  const { h, client, online } = await grpcHarness(t, await startHarness(1, LIMITS));
  const response = await grpcPush(client, { messages: [{ msgId: 'm1', toUserIds: [online, 'away'], payload: 'hi' }] });
  assert.deepEqual(response.results, [
    { msgId: 'm1', userId: online, status: 'realtime', via: 'current', reason: '', connections: 1 },
    { msgId: 'm1', userId: 'away', status: 'offline', via: '', reason: 'not_connected', connections: 0 },
  ]);
  const refusals: [PushRequest, status, RegExp][] = [
    [
      { messages: [{ msgId: '', toUserIds: ['u'], payload: '' }] },
      status.INVALID_ARGUMENT,
      /msgId must be a non-empty string/,
    ],
    [{ messages: [{ msgId: 'm', toUserIds: [''], payload: '' }] }, status.INVALID_ARGUMENT, /toUserIds\[0\]/],
    [
      { messages: [1, 2, 3].map((i) => ({ msgId: `m${i}`, toUserIds: ['u'], payload: '' })) },
      status.INVALID_ARGUMENT,
      /at most 2 messages/,
    ],
    [
      { messages: [{ msgId: 'm', toUserIds: ['a', 'b', 'c', 'd'], payload: '' }] },
      status.RESOURCE_EXHAUSTED,
      /at most 3 recipients/,
    ],
    [
      { messages: [{ msgId: 'm', toUserIds: ['u'], payload: '123456789' }] },
      status.RESOURCE_EXHAUSTED,
      /larger than 8 bytes/,
    ],
    [{ messages: [{ msgId: 'm', toUserIds: ['u'], payload: 'x'.repeat(2000) }] }, status.RESOURCE_EXHAUSTED, /./],
  ];
  for (const [req, code, details] of refusals) {
    await assert.rejects(grpcPush(client, req), (error: ServiceError) => {
      assert.equal(error.code, code);
      assert.match(error.details, details);
      return true;
    });
  }
  assert.equal(await h.metric('imring_push_requests_total', { api: 'grpc', code: 'OK' }), 1);
  assert.equal(await h.metric('imring_push_requests_total', { api: 'grpc', code: 'INVALID_ARGUMENT' }), 3);
  assert.equal(await h.metric('imring_push_requests_total', { api: 'grpc', code: 'RESOURCE_EXHAUSTED' }), 2);
});
