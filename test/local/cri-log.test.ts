import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRfc3339Nanos, rfc3339Nano } from '../../kube/nano-clock.js';
import { CriLineEncoder, MAX_RECORD_CONTENT_BYTES, renderCriRecord } from '../../local/kubelet/cri-log.js';

const T = 1_700_000_000_123_456_789n;
const STAMP = '2023-11-14T22:13:20.123456789Z';

test('times print as RFC 3339 with nine fractional digits and parse back, any offset or fraction', () => {
  assert.equal(rfc3339Nano(T), STAMP);
  assert.equal(rfc3339Nano(1_700_000_000_000_000_000n), '2023-11-14T22:13:20.000000000Z');
  const cases: [string, bigint | undefined][] = [
    [STAMP, T],
    ['2023-11-14T22:13:20Z', 1_700_000_000_000_000_000n],
    ['2023-11-14T23:13:20.5+01:00', 1_700_000_000_500_000_000n],
    ['2023-11-14 22:13:20Z', undefined],
    ['yesterday', undefined],
  ];
  for (const [text, nanos] of cases) assert.equal(parseRfc3339Nanos(text), nanos, text);
});

test('output becomes one F record a line, the rest of a line waits, and the end flushes it as P', () => {
  const encoder = new CriLineEncoder('stdout');
  assert.equal(encoder.encode(Buffer.from('one\ntw'), T).toString(), `${STAMP} stdout F one\n`);
  assert.equal(encoder.encode(Buffer.from('o\n\nthr'), T).toString(), `${STAMP} stdout F two\n${STAMP} stdout F \n`);
  assert.equal(encoder.flush(T).toString(), `${STAMP} stdout P thr\n`);
  assert.equal(encoder.flush(T).length, 0);
});

test('a line longer than the record limit is split into P records ending with an F', () => {
  const encoder = new CriLineEncoder('stderr');
  const line = 'x'.repeat(MAX_RECORD_CONTENT_BYTES + 5);
  const records = encoder
    .encode(Buffer.from(`${line}\n`), T)
    .toString()
    .split('\n')
    .slice(0, -1);
  assert.deepEqual(
    records.map((r) => {
      const [stamp, stream, tag, content] = r.split(' ');
      return [stamp, stream, tag, content!.length];
    }),
    [
      [STAMP, 'stderr', 'P', MAX_RECORD_CONTENT_BYTES],
      [STAMP, 'stderr', 'F', 5],
    ],
  );
});

test('records render as the kubelet serves them: content, timestamps on request, since filters, P joins', () => {
  const line = (text: string): Buffer => Buffer.from(text);
  const cases: [string, Parameters<typeof renderCriRecord>[1], string][] = [
    [`${STAMP} stdout F hello`, { timestamps: false }, 'hello\n'],
    [`${STAMP} stderr F hello`, { timestamps: true }, `${STAMP} hello\n`],
    [`${STAMP} stdout P hel`, { timestamps: false }, 'hel'],
    [`${STAMP} stdout F hello`, { timestamps: false, sinceNs: T }, 'hello\n'],
    [`${STAMP} stdout F hello`, { timestamps: false, sinceNs: T + 1n }, ''],
    ['not a record', { timestamps: false }, ''],
    [`${STAMP} stdin F hello`, { timestamps: false }, ''],
  ];
  for (const [record, options, shown] of cases) assert.equal(renderCriRecord(line(record), options).toString(), shown);
});
