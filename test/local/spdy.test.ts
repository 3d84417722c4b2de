import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { SPDY_DICTIONARY } from '../../local/apiserver/streaming/spdy-dictionary.js';
import {
  ControlType,
  dataFrame,
  goAwayFrame,
  pingFrame,
  rstStreamFrame,
  SpdyFrameReader,
  synReplyFrame,
  type SpdyFrame,
} from '../../local/apiserver/streaming/spdy-frames.js';
import { decodeHeaderBlock, encodeHeaderBlock, SpdyHeaderCodec } from '../../local/apiserver/streaming/spdy-headers.js';
import { startLocalApi, type LocalApi } from '../support/local-api.js';

/** Adler-32 (RFC 1950, section 8), which a zlib stream names its preset dictionary by. */
function adler32(bytes: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of bytes) {
    a = (a + byte) % 65_521;
    b = (b + a) % 65_521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A client's SYN_STREAM (the server never sends one): stream id, associated id, priority, header block. */
function synStreamFrame(streamId: number, headerBlock: Buffer): Buffer {
  const payload = Buffer.alloc(10);
  payload.writeUInt32BE(streamId, 0);
  const header = Buffer.from([0x80, 3, 0, ControlType.SynStream, 0, 0, 0, 0]);
  header.writeUIntBE(payload.length + headerBlock.length, 5, 3);
  return Buffer.concat([header, payload, headerBlock]);
}

test('the SPDY/3 dictionary has its 1,423 bytes and the Adler-32 zlib names it by', () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(adler32(SPDY_DICTIONARY), 0xe3_c6_a7_c2);
});

test('the frame reader cuts the same frames from a stream split at any byte', () => {
  const frames = [
    dataFrame(3, Buffer.from('hello'), false),
    dataFrame(3, Buffer.alloc(0), true),
    pingFrame(7),
    rstStreamFrame(5, 5),
    goAwayFrame(9),
    synReplyFrame(1, Buffer.from([1, 2, 3])),
  ];
  const expected: SpdyFrame[] = [
    { type: 'data', streamId: 3, fin: false, data: Buffer.from('hello') },
    { type: 'data', streamId: 3, fin: true, data: Buffer.alloc(0) },
    { type: 'ping', id: 7 },
    { type: 'rst-stream', streamId: 5, status: 5 },
    { type: 'goaway', lastGoodStreamId: 9 },
    { type: 'ignored', controlType: ControlType.SynReply },
  ];
  const bytes = Buffer.concat(frames);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const reader = new SpdyFrameReader();
    const read = [...reader.push(bytes.subarray(0, cut)), ...reader.push(bytes.subarray(cut))];
    assert.deepEqual(read, expected, `cut at ${cut}`);
  }
  const syn = new SpdyFrameReader().push(synStreamFrame(1, Buffer.from('block')));
  assert.deepEqual(syn, [{ type: 'syn-stream', streamId: 1, fin: false, headerBlock: Buffer.from('block') }]);
  const spdy2 = Buffer.from([0x80, 2, 0, ControlType.Ping, 0, 0, 0, 4, 0, 0, 0, 1]);
  assert.throws(() => new SpdyFrameReader().push(spdy2), /SPDY version 2 is not supported/);
});

test('header blocks round-trip through both zlib streams of a session, block after block', async () => {
  const headers = new Map([
    ['streamtype', ['data']],
    ['port', ['8080']],
    ['requestid', ['0']],
    ['accept', ['a', 'b']],
  ]);
  assert.deepEqual(decodeHeaderBlock(encodeHeaderBlock(headers)), headers);
  assert.throws(() => decodeHeaderBlock(encodeHeaderBlock(headers).subarray(0, 9)), /cut short/);
  const client = new SpdyHeaderCodec();
  const server = new SpdyHeaderCodec();
  try {
    for (const id of ['0', '1', '2']) {
      const next = new Map([...headers, ['requestid', [id]]]);
      assert.deepEqual(await server.decompress(await client.compress(next)), next);
    }
  } finally {
    client.close();
    server.close();
  }
});

/** An echo server standing in for a pod's container port. */
async function echoServer(): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** A TLS connection to `api` upgraded to SPDY for pod `echo`'s port forwarding, and its frames as read. */
async function spdyClient(
  api: LocalApi,
): Promise<{ socket: TLSSocket; frames: SpdyFrame[]; next: () => Promise<SpdyFrame> }> {
  const url = new URL(api.server.url);
  const socket = connect({ host: url.hostname, port: Number(url.port), ca: api.server.caCertificate });
  await once(socket, 'secureConnect');
  socket.write(
    'POST /api/v1/namespaces/default/pods/echo/portforward HTTP/1.1\r\n' +
      `Host: ${url.host}\r\nAuthorization: Bearer ${api.server.token}\r\nConnection: Upgrade\r\n` +
      'Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n',
  );
  let head = Buffer.alloc(0);
  while (!head.includes('\r\n\r\n')) head = Buffer.concat([head, ((await once(socket, 'data')) as [Buffer])[0]]);
  const end = head.indexOf('\r\n\r\n') + 4;
  assert.match(head.subarray(0, end).toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  const reader = new SpdyFrameReader();
  const frames = reader.push(head.subarray(end));
  const waiting: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    frames.push(...reader.push(chunk));
    waiting.splice(0).forEach((wake) => wake());
  });
  const next = async (): Promise<SpdyFrame> => {
    while (frames.length === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    return frames.shift()!;
  };
  return { socket, frames, next };
}

test(
  'a plain SPDY port-forward session relays a stream pair to the pod, answers PING, and ends with the server',
  { timeout: 20_000 },
  async () => {
    const echo = await echoServer();
    const api = await startLocalApi();
    try {
      const port = (echo.address() as AddressInfo).port;
      api.store.put('/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'echo', namespace: 'default', uid: 'u-1' },
        status: { phase: 'Running', podIP: '127.0.0.1' },
      });
      const { socket, next } = await spdyClient(api);
      const codec = new SpdyHeaderCodec();
      const streamHeaders = (type: string): Map<string, string[]> =>
        new Map([
          ['streamtype', [type]],
          ['port', [String(port)]],
          ['requestid', ['0']],
        ]);
      socket.write(synStreamFrame(1, await codec.compress(streamHeaders('error'))));
      socket.write(synStreamFrame(3, await codec.compress(streamHeaders('data'))));
      assert.deepEqual(
        [await next(), await next()].map((f) => f.type === 'ignored' && f.controlType),
        [ControlType.SynReply, ControlType.SynReply],
      );
      socket.write(dataFrame(3, Buffer.from('hello'), false));
      assert.deepEqual(await next(), { type: 'data', streamId: 3, fin: false, data: Buffer.from('hello') });
      socket.write(pingFrame(11));
      assert.deepEqual(await next(), { type: 'ping', id: 11 });
      codec.close();

      const closed = once(socket, 'close');
      await Promise.all([api.close(), api.close(), api.close()]);
      await closed;
      assert.ok(socket.destroyed, 'the session ends when the API server closes');
    } finally {
      await api.close();
      echo.close();
    }
  },
);
