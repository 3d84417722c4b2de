/* eslint-disable @typescript-eslint/no-unsafe-return -- documents are read as loose JSON, like the
   other no-unsafe-* rules the config turns off for tests */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, toTable } from '../../local/apiserver/http/table.js';
import type { KubeObject, PrinterColumn } from '../../local/apiserver/types.js';
import { ago, cells, DAY, HOUR, MINUTE, names, newObject, newType, NOW, SECOND, table } from './table-fixtures.js';

/**
 * The Table the local API server prints for kubectl: its envelope, ages, the columns of custom
 * resources and their cells. Built-in kinds are test/local/table-builtin.test.ts's.
 */

test('humanDuration matches apimachinery HumanDuration at every boundary', () => {
  const cases: [number, string][] = [
    [-2 * SECOND, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [5 * SECOND, '5s'],
    [119 * SECOND + 999, '119s'],
    [2 * MINUTE, '2m'],
    [2 * MINUTE + 5 * SECOND, '2m5s'],
    [9 * MINUTE + 59 * SECOND, '9m59s'],
    [10 * MINUTE + 30 * SECOND, '10m'],
    [179 * MINUTE, '179m'],
    [3 * HOUR, '3h'],
    [7 * HOUR + 59 * MINUTE, '7h59m'],
    [8 * HOUR + 30 * MINUTE, '8h'],
    [47 * HOUR, '47h'],
    [48 * HOUR, '2d'],
    [7 * DAY + 23 * HOUR, '7d23h'],
    [8 * DAY, '8d'],
    [729 * DAY, '729d'],
    [730 * DAY, '2y'],
    [(7 * 365 + 364) * DAY, '7y364d'],
    [8 * 365 * DAY, '8y'],
    [20 * 365 * DAY, '20y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
});

test('a table has the meta.k8s.io/v1 Table envelope with list metadata', () => {
  const t = toTable(newType(), [newObject()], {
    includeObject: 'Metadata',
    now: NOW,
    listMeta: { resourceVersion: '42', continue: 'abc' },
  });
  assert.equal(t['kind'], 'Table');
  assert.equal(t['apiVersion'], 'meta.k8s.io/v1');
  assert.deepEqual(t['metadata'], { resourceVersion: '42', continue: 'abc' });
  assert.deepEqual(table(newType(), [newObject()]).metadata, { resourceVersion: '7' });
});

test('a custom resource without printer columns prints Name and Age', () => {
  assert.deepEqual(names(newType()), ['Name', 'Age']);
  assert.deepEqual(cells(newType(), newObject()), ['im', '3h']);
});

test('a custom resource prints Name then exactly its printer columns, with their priority', () => {
  const printerColumns: PrinterColumn[] = [
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Version', type: 'string', jsonPath: '.status.ring.version', priority: 1 },
  ];
  const t = table(newType({ printerColumns }), [newObject()]);
  assert.deepEqual(
    t.columnDefinitions.map((c: any) => [c.name, c.type, c.priority]),
    [
      ['Name', 'string', 0],
      ['Replicas', 'integer', 0],
      ['Version', 'string', 1],
    ],
  );
  assert.equal(t.columnDefinitions[0].format, 'name');
});

test('printer column cells follow the apiserver tableconvertor rules', () => {
  const cases: { col: PrinterColumn; object: KubeObject; want: unknown }[] = [
    {
      col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: 3 } }),
      want: 3,
    },
    {
      col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: 2.7 } }),
      want: 2,
    },
    {
      col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: '3' } }),
      want: null,
    },
    { col: { name: 'R', type: 'integer', jsonPath: '.spec.replicas' }, object: newObject({}), want: null },
    {
      col: { name: 'N', type: 'number', jsonPath: '.spec.load' },
      object: newObject({ spec: { load: 0.5 } }),
      want: 0.5,
    },
    {
      col: { name: 'B', type: 'boolean', jsonPath: '.spec.on' },
      object: newObject({ spec: { on: false } }),
      want: false,
    },
    {
      col: { name: 'B', type: 'boolean', jsonPath: '.spec.on' },
      object: newObject({ spec: { on: 'yes' } }),
      want: null,
    },
    {
      col: { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      object: newObject({
        status: {
          conditions: [
            { type: 'Synced', status: 'False' },
            { type: 'Ready', status: 'True' },
          ],
        },
      }),
      want: 'True',
    },
    {
      col: { name: 'S', type: 'string', jsonPath: '.spec.replicas' },
      object: newObject({ spec: { replicas: 3 } }),
      want: '3',
    },
    {
      col: { name: 'S', type: 'string', jsonPath: '.spec.sel' },
      object: newObject({ spec: { sel: { a: 'b' } } }),
      want: '{"a":"b"}',
    },
    {
      col: { name: 'D', type: 'date', jsonPath: '.status.at' },
      object: newObject({ status: { at: ago(5 * MINUTE) } }),
      want: '5m',
    },
    {
      col: { name: 'D', type: 'date', jsonPath: '.status.at' },
      object: newObject({ status: { at: 'yesterday-ish' } }),
      want: '<invalid>',
    },
    { col: { name: 'D', type: 'date', jsonPath: '.status.at' }, object: newObject({ status: { at: 5 } }), want: null },
  ];
  for (const { col, object, want } of cases) {
    assert.deepEqual(cells(newType({ printerColumns: [col] }), object)[1], want, `${col.type} ${col.jsonPath}`);
  }
});

test('includeObject chooses between no object, PartialObjectMetadata and the full object', () => {
  const object = newObject({ spec: { replicas: 1 } }, { labels: { app: 'im' } });
  assert.equal('object' in table(newType(), [object], 'None').rows[0], false);
  assert.deepEqual(table(newType(), [object], 'Metadata').rows[0].object, {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: object.metadata,
  });
  assert.deepEqual(table(newType(), [object], 'Object').rows[0].object, object);
});

test('a missing creationTimestamp prints as <unknown>', () => {
  assert.deepEqual(cells(newType(), newObject({}, { creationTimestamp: undefined })), ['im', '<unknown>']);
});
