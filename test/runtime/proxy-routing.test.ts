import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../ring/index.js';
import { bearerToken } from '../../runtime/client-token.js';
import {
  decideRoute,
  forwardedHead,
  httpResponse,
  Rejections,
  type UpgradeRequest,
} from '../../runtime/proxy/index.js';
import { resolveProxyOptions } from '../../runtime/proxy/options.js';
import { StaticRingSource, unfencedRoutingRing } from '../../runtime/ring-source.js';
import { localMember } from './proxy-support.js';

const ring = new Ring({ members: [localMember('im-0', 10001), localMember('im-1', 10011)], version: 3 });
const ws = { upgrade: 'websocket', connection: 'Upgrade' };

function upgrade(url: string, headers: UpgradeRequest['headers'] = ws, method = 'GET'): UpgradeRequest {
  return { method, url, headers };
}

test('the routing decision is a function of the request and the ring', () => {
  const cases: Array<{ name: string; request: UpgradeRequest; ring: Ring | undefined; expect: number | 'route' }> = [
    { name: 'a user is routed', request: upgrade('/ws?userID=u1&platform=ios'), ring, expect: 'route' },
    { name: 'no userID', request: upgrade('/ws?platform=ios'), ring, expect: 400 },
    { name: 'empty userID', request: upgrade('/ws?userID='), ring, expect: 400 },
    { name: 'two userIDs', request: upgrade('/ws?userID=a&userID=b'), ring, expect: 400 },
    { name: 'two tokens', request: upgrade('/ws?userID=a&token=x&token=y'), ring, expect: 400 },
    { name: 'another path', request: upgrade('/wsx?userID=u1'), ring, expect: 404 },
    { name: 'an absolute-form target', request: upgrade('http://evil/ws?userID=u1'), ring, expect: 404 },
    { name: 'a scheme-relative target', request: upgrade('//evil/ws?userID=u1'), ring, expect: 404 },
    { name: 'not GET', request: upgrade('/ws?userID=u1', ws, 'POST'), ring, expect: 400 },
    { name: 'not websocket', request: upgrade('/ws?userID=u1', { upgrade: 'h2c' }), ring, expect: 400 },
    { name: 'no ring', request: upgrade('/ws?userID=u1'), ring: undefined, expect: 503 },
    { name: 'an empty ring', request: upgrade('/ws?userID=u1'), ring: new Ring({ members: [] }), expect: 503 },
  ];
  for (const c of cases) {
    const decision = decideRoute(c.request, unfencedRoutingRing(c.ring));
    if (c.expect === 'route') {
      assert.ok(decision.ok, c.name);
      assert.deepEqual(decision.member, ring.owner('u1'), c.name);
    } else {
      assert.equal(decision.ok ? 'route' : decision.rejection.status, c.expect, c.name);
    }
  }
  const fenced = decideRoute(upgrade('/ws?userID=u1'), { refused: 'fenced', reason: 'Lease not renewed' });
  assert.deepEqual(fenced, { ok: false, rejection: Rejections.fenced });
  const bad = decideRoute(upgrade('/ws?platform=ios'), { refused: 'fenced', reason: 'Lease not renewed' });
  assert.equal(bad.ok ? 'route' : bad.rejection.status, 400, 'a bad request is refused as such, fenced or not');
});

test('the token comes from the query, else from Authorization: Bearer', () => {
  const fromQuery = decideRoute(upgrade('/ws?userID=u1&token=q', { ...ws, authorization: 'Bearer h' }), { ring });
  const fromHeader = decideRoute(upgrade('/ws?userID=u1', { ...ws, authorization: 'Bearer h' }), { ring });
  assert.equal(fromQuery.ok && fromQuery.token, 'q');
  assert.equal(fromHeader.ok && fromHeader.token, 'h');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
});

test('503 refusals carry Retry-After, and refusals are complete Connection: close responses', () => {
  assert.equal(Rejections.noRing.headers['Retry-After'], '1');
  assert.equal(
    httpResponse(503, { body: 'no ring', headers: { 'Retry-After': '1' } }),
    'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 8\r\nRetry-After: 1\r\n\r\nno ring\n',
  );
});

test('the forwarded head keeps the request line and headers as received and appends X-Forwarded-For', () => {
  const rawHeaders = [
    'Host',
    'proxy:10080',
    'upgrade',
    'websocket',
    'X-Forwarded-For',
    '198.51.100.1',
    'Sec-WebSocket-Key',
    'k==',
  ];
  const head = forwardedHead({
    method: 'GET',
    url: '/ws?userID=u%201',
    httpVersion: '1.1',
    rawHeaders,
    remoteAddress: '10.0.0.7',
  });
  assert.equal(
    head,
    'GET /ws?userID=u%201 HTTP/1.1\r\nHost: proxy:10080\r\nupgrade: websocket\r\nSec-WebSocket-Key: k==\r\nX-Forwarded-For: 198.51.100.1, 10.0.0.7\r\n\r\n',
  );
  const noAddress = forwardedHead({
    method: 'GET',
    url: '/ws',
    httpVersion: '1.1',
    rawHeaders,
    remoteAddress: undefined,
  });
  assert.match(noAddress, /\r\nX-Forwarded-For: 198.51.100.1\r\n/);
});

test('bad proxy options throw naming the option', () => {
  const base = {
    host: '127.0.0.1',
    port: 0,
    ringSource: new StaticRingSource(),
    resolver: { resolve: (h: string) => Promise.resolve(h), close: () => undefined },
  };
  assert.throws(() => resolveProxyOptions({ ...base, host: '' }), /host/);
  assert.throws(() => resolveProxyOptions({ ...base, port: 70_000 }), /port/);
  assert.throws(() => resolveProxyOptions({ ...base, ringSource: {} as never }), /ringSource/);
  assert.throws(() => resolveProxyOptions({ ...base, connectTimeoutMs: 0 }), /connectTimeoutMs/);
  assert.throws(() => resolveProxyOptions({ ...base, maxConnections: 1.5 }), /maxConnections/);
  assert.throws(() => resolveProxyOptions({ ...base, tokenSecret: '' }), /tokenSecret/);
  const resolved = resolveProxyOptions({ ...base, maxConnections: undefined });
  assert.equal(resolved.maxConnections, 9_000);
  assert.equal(resolved.connectTimeoutMs, 3_000);
  assert.equal(resolved.maxHeaderBytes, 16 * 1024);
});
