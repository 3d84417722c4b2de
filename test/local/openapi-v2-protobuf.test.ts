import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOpenApiV2 } from '../../local/apiserver/openapi/openapi-v2-protobuf.js';
import { ProtobufWriter } from '../../local/apiserver/openapi/protobuf-writer.js';

/** A length-delimited field (wire type 2) holding `parts`, built by hand from the wire format's rules. */
function ld(field: number, ...parts: (number[] | string)[]): number[] {
  const body = parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'utf8')] : p));
  return [...varint(field * 8 + 2), ...varint(body.length), ...body];
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  return [...out, n];
}

test('the writer encodes varints, strings, bools, doubles and nested messages as the wire format says', () => {
  const bytes = new ProtobufWriter()
    .string(1, '2.0')
    .int64(2, 300)
    .bool(3, true)
    .double(4, 1.5)
    .message(5, new ProtobufWriter().string(1, 'a'))
    .strings(6, ['x', 'y'])
    .finish();
  const double = [...Buffer.from(new Float64Array([1.5]).buffer)];
  assert.deepEqual(
    [...bytes],
    [0x0a, 3, 0x32, 0x2e, 0x30, 0x10, 0xac, 0x02, 0x18, 1, 0x21, ...double, 0x2a, 3, 0x0a, 1, 0x61].concat([
      0x32, 1, 0x78, 0x32, 1, 0x79,
    ]),
  );
});

test('the writer leaves proto3 defaults out, keeps empty messages, and refuses negative int64', () => {
  const w = new ProtobufWriter().string(1, '').bool(2, false).int64(3, 0).double(4, 0).strings(5, []);
  assert.equal(w.length, 0);
  assert.deepEqual([...new ProtobufWriter().message(8, new ProtobufWriter()).finish()], [0x42, 0]);
  assert.throws(() => new ProtobufWriter().int64(11, -1), RangeError);
  assert.throws(() => new ProtobufWriter().int64(11, 1.5), RangeError);
});

test('a Swagger document encodes to the gnostic Document fields, byte for byte', () => {
  const gvk = { group: '', kind: 'Thing', version: 'v1' };
  const doc = {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: {
      '/api/v1/things/{name}': {
        patch: {
          consumes: ['application/merge-patch+json'],
          parameters: [{ name: 'fieldValidation', in: 'query', type: 'string', uniqueItems: true }],
          responses: { '200': { description: 'OK', schema: { $ref: '#/definitions/T' } } },
          'x-kubernetes-group-version-kind': gvk,
        },
        parameters: [{ name: 'name', in: 'path', required: true, type: 'string' }],
      },
    },
    definitions: {
      T: {
        type: 'object',
        required: ['a'],
        properties: { a: { type: 'array', items: { type: 'string' } }, m: { additionalProperties: true } },
        'x-kubernetes-group-version-kind': [gvk],
      },
    },
  };
  const typeOf = (t: string): number[] => ld(22, ld(1, t));
  const query = ld(3, ld(2, 'query'), ld(4, 'fieldValidation'), ld(6, 'string'), [0xa0, 0x01, 1]); // unique_items = 20, varint
  const path = ld(4, [0x08, 1], ld(2, 'path'), ld(4, 'name'), ld(5, 'string'));
  const gvkYaml = JSON.stringify(gvk);
  const operation = [
    ...ld(7, 'application/merge-patch+json'),
    ...ld(8, ld(1, ld(2, query))),
    ...ld(9, ld(1, ld(1, '200'), ld(2, ld(1, ld(1, 'OK'), ld(2, ld(1, ld(1, '#/definitions/T'))))))),
    ...ld(13, ld(1, 'x-kubernetes-group-version-kind'), ld(2, ld(2, gvkYaml))),
  ];
  const pathItem = [...ld(8, operation), ...ld(9, ld(1, ld(2, path)))];
  const schema = [
    ...ld(19, 'a'),
    ...typeOf('object'),
    ...ld(
      25,
      ld(1, ld(1, 'a'), ld(2, typeOf('array'), ld(23, ld(1, typeOf('string'))))),
      ld(1, ld(1, 'm'), ld(2, ld(21, [0x10, 1]))),
    ),
    ...ld(31, ld(1, 'x-kubernetes-group-version-kind'), ld(2, ld(2, `[${gvkYaml}]`))),
  ];
  const expected = [
    ...ld(1, '2.0'),
    ...ld(2, ld(1, 'Kubernetes'), ld(2, 'v1.32.0')),
    ...ld(8, ld(2, ld(1, '/api/v1/things/{name}'), ld(2, pathItem))),
    ...ld(9, ld(1, ld(1, 'T'), ld(2, schema))),
  ];
  assert.deepEqual([...encodeOpenApiV2(doc)], expected);
});

test('body parameters, enums, defaults and numeric limits take their Schema fields', () => {
  const doc = {
    swagger: '2.0',
    info: { title: 't', version: 'v' },
    paths: {
      '/x': { post: { parameters: [{ name: 'body', in: 'body', required: true, schema: { type: 'object' } }] } },
    },
    definitions: { D: { type: 'integer', minimum: 1, maxLength: 5, enum: ['a'], default: 2, nullable: true } },
  };
  const body = ld(1, ld(1, ld(2, 'body'), ld(3, 'body'), [0x20, 1], ld(5, ld(22, ld(1, 'object')))));
  const minimum = [0x49, ...Buffer.from(new Float64Array([1]).buffer)]; // field 9, 64-bit
  const schema = [...ld(5, ld(2, '2')), ...minimum, 0x58, 5, ...ld(20, ld(2, '"a"')), ...ld(22, ld(1, 'integer'))];
  const expected = [
    ...ld(1, '2.0'),
    ...ld(2, ld(1, 't'), ld(2, 'v')),
    ...ld(8, ld(2, ld(1, '/x'), ld(2, ld(4, ld(8, body), ld(9))))),
    ...ld(9, ld(1, ld(1, 'D'), ld(2, schema))),
  ];
  assert.deepEqual([...encodeOpenApiV2(doc)], expected);
});
