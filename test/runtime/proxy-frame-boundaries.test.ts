import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeFrame, FrameBoundaries, textFrame } from '../../runtime/proxy/frame-boundaries.js';
import { seededRandom } from '../support/random.js';

const HEAD = Buffer.from(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'latin1',
);

/** A frame of `size` payload bytes, masked or not (gateways send unmasked; the tracker reads both). */
function frameOf(size: number, masked: boolean): Buffer {
  const unmasked = textFrame('x'.repeat(size));
  if (!masked) return unmasked;
  const headerLength = size < 126 ? 2 : size < 65536 ? 4 : 10;
  const header = Buffer.from(unmasked.subarray(0, headerLength));
  header[1] = header[1]! | 0x80;
  return Buffer.concat([header, Buffer.from([1, 2, 3, 4]), unmasked.subarray(headerLength)]);
}

test('FrameBoundaries finds the end of the head and of every frame, however the stream is cut into chunks', () => {
  const random = seededRandom(0xf4a3e);
  for (let round = 0; round < 200; round++) {
    const sizes = Array.from(
      { length: 1 + Math.floor(random() * 8) },
      () => [0, 1, 125, 126, 127, 65535, 65536, 70_000][Math.floor(random() * 8)]!,
    );
    const parts = [HEAD, ...sizes.map((size) => frameOf(size, random() < 0.3))];
    const expected: number[] = [];
    let total = 0;
    for (const part of parts) expected.push((total += part.length));
    const stream = Buffer.concat(parts);
    const tracker = new FrameBoundaries();
    const found: number[] = [];
    let offset = 0;
    while (offset < stream.length) {
      const size = 1 + Math.floor(random() * (random() < 0.5 ? 4 : 9000));
      const chunk = stream.subarray(offset, Math.min(stream.length, offset + size));
      for (const end of tracker.feed(chunk)) found.push(offset + end);
      offset += chunk.length;
      assert.equal(tracker.atBoundary, expected.includes(offset), `at ${offset} of ${stream.length}`);
    }
    assert.deepEqual(found, expected, `frames of ${sizes.join(', ')} bytes`);
  }
});

test('closeFrame and textFrame encode what a websocket client reads', () => {
  assert.deepEqual([...closeFrame(4002, 'bye')], [0x88, 5, 0x0f, 0xa2, 0x62, 0x79, 0x65]);
  assert.deepEqual([...textFrame('hi')], [0x81, 2, 0x68, 0x69]);
  assert.deepEqual([...textFrame('a'.repeat(200)).subarray(0, 4)], [0x81, 126, 0, 200]);
});
