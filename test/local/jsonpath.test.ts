import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findFirst } from '../../local/apiserver/http/jsonpath.js';

/** The JSONPath subset of printer columns (`additionalPrinterColumns[].jsonPath`). */

test('findFirst evaluates the printer-column JSONPath subset', () => {
  const doc = {
    spec: { replicas: 3, items: [{ name: 'a' }, { name: 'b' }] },
    metadata: { labels: { app: 'im', 'app.kubernetes.io/name': 'gw' } },
    status: {
      ring: { version: 9 },
      conditions: [
        { type: 'Ready', status: 'False' },
        { type: 'Synced', status: 'True' },
      ],
    },
    a: { 'b.c': 'dotted' },
  };
  const cases: [string, unknown][] = [
    ['.spec.replicas', 3],
    ['.status.ring.version', 9],
    ['.metadata.labels.app', 'im'],
    ["{.metadata.labels['app.kubernetes.io/name']}", 'gw'],
    ['.status.conditions[?(@.type=="Synced")].status', 'True'],
    [".status.conditions[?(@.type!='Ready')].type", 'Synced'],
    ['.spec.items[0].name', 'a'],
    ['.spec.items[-1].name', 'b'],
    ['.spec.items[*].name', 'a'],
    [".a['b.c']", 'dotted'],
    ['.a["b.c"]', 'dotted'],
    ['.spec.items[5].name', undefined],
    ['.spec.missing.deeper', undefined],
    ['.status.conditions[?(@.type=="Gone")].status', undefined],
    ['spec.replicas', undefined],
    ['.spec.items[', undefined],
  ];
  for (const [path, want] of cases) assert.deepEqual(findFirst(doc, path), want, path);
});

test('findFirst never throws, whatever the object holds', () => {
  const odd: unknown[] = [
    null,
    undefined,
    5,
    'text',
    [],
    [null],
    { spec: null },
    { spec: [1, 2] },
    Object.create(null),
  ];
  const paths = ['.spec.replicas', '.spec[0]', '.spec[?(@.x==1)].y', ".spec['a']", '.[*]', '', '{}', '[?(@.a=="b")]'];
  for (const [i, o] of odd.entries())
    for (const p of paths) assert.doesNotThrow(() => findFirst(o, p), `case ${i}: ${p}`);
});
