import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Lease } from '@kubernetes/client-node';
import { Annotations, buildRingDocument, Labels, Ring, RingErrorCode, serializeRingDocument } from '../ring/index.js';
import {
  acknowledgements,
  formatStatus,
  formatSummary,
  formatTable,
  leaseReport,
  observeRing,
  statusView,
  type LeaseReport,
  type RingObservation,
  type StatusInput,
} from '../cli/status-view.js';
import { newMembers, sampleGateway } from './support/fixtures.js';

const NOW = Date.parse('2026-11-28T12:00:00Z');

interface LeaseInit {
  component?: string;
  pod?: string;
  /** Seconds before NOW of the last renewal; undefined: never renewed. */
  age?: number | undefined;
  duration?: number;
  version?: number;
  annotations?: Record<string, string>;
}

/** A runtime Lease as a LeaseReporter writes it. */
function newLease(init: LeaseInit = {}): V1Lease {
  const component = init.component ?? 'gateway';
  const pod = init.pod ?? 'im-0';
  const annotations: Record<string, string> = {
    ...(init.version !== undefined
      ? { [Annotations.ringVersion]: String(init.version), [Annotations.ringState]: 'Committed' }
      : {}),
    ...init.annotations,
  };
  const age = 'age' in init ? init.age : 1;
  return {
    metadata: {
      name: `im-${component}-${pod}`,
      labels: { [Labels.gateway]: 'im', [Labels.component]: component },
      annotations,
    },
    spec: {
      holderIdentity: pod,
      leaseDurationSeconds: init.duration ?? 15,
      ...(age !== undefined ? { renewTime: new Date(NOW - age * 1000) } : {}),
    },
  };
}

const leaseCases: [string, V1Lease, Partial<LeaseReport>][] = [
  ['renewed 10 s ago with a 15 s duration is live', newLease({ age: 10 }), { live: true }],
  ['renewed exactly a duration ago is not live', newLease({ age: 15 }), { live: false }],
  ['never renewed is not live', newLease({ age: undefined }), { live: false }],
  [
    'without a duration is live for 15 s',
    { ...newLease({ age: 14 }), spec: { holderIdentity: 'im-0', renewTime: new Date(NOW - 14_000) } },
    { live: true },
  ],
  [
    'without a duration is dead after 15 s',
    { ...newLease(), spec: { holderIdentity: 'im-0', renewTime: new Date(NOW - 16_000) } },
    { live: false },
  ],
  [
    'with a renewTime string (not a Date) is read',
    {
      ...newLease(),
      spec: { holderIdentity: 'im-0', leaseDurationSeconds: 15, renewTime: '2026-11-28T11:59:50.000000Z' as never },
    },
    { live: true },
  ],
  [
    'with an unparsable renewTime is not live',
    { ...newLease(), spec: { holderIdentity: 'im-0', leaseDurationSeconds: 15, renewTime: 'yesterday' as never } },
    { live: false },
  ],
  [
    'reports its annotations as numbers',
    newLease({ version: 7, annotations: { [Annotations.connections]: '12', [Annotations.misplaced]: '3' } }),
    { ringVersion: 7, ringState: 'Committed', connections: 12, misplaced: 3, ringError: null },
  ],
  [
    'with garbled numbers reports them as null',
    newLease({
      annotations: { [Annotations.ringVersion]: 'v7', [Annotations.connections]: '-1', [Annotations.misplaced]: '1.5' },
    }),
    { ringVersion: null, connections: null, misplaced: null },
  ],
  [
    'reports its ring error',
    newLease({ annotations: { [Annotations.ringError]: 'IMRING_RING_INVALID_JSON: not valid JSON' } }),
    { ringError: 'IMRING_RING_INVALID_JSON: not valid JSON' },
  ],
  [
    'names its component and pod',
    newLease({ component: 'proxy', pod: 'proxy-7' }),
    { lease: 'im-proxy-proxy-7', component: 'proxy', pod: 'proxy-7' },
  ],
  ['without a holder is named by the Lease', { ...newLease(), spec: {} }, { pod: 'im-gateway-im-0', live: false }],
];

for (const [what, lease, expected] of leaseCases) {
  test(`a Lease ${what}`, () => {
    const report = leaseReport(lease, NOW);
    assert.deepEqual(
      Object.fromEntries(Object.keys(expected).map((k) => [k, report[k as keyof LeaseReport]])),
      expected,
    );
  });
}

const live = (component: string, pod: string, version?: number): LeaseReport =>
  leaseReport(newLease({ component, pod, ...(version !== undefined ? { version } : {}) }), NOW);

const ackCases: [string, LeaseReport[], Record<string, string>, string[]][] = [
  ['no runtimes: 0/0 each', [], { gateway: '0/0', proxy: '0/0', push: '0/0' }, []],
  [
    'all on the version',
    [live('gateway', 'im-0', 4), live('proxy', 'p', 4), live('push', 's', 4)],
    { gateway: '1/1', proxy: '1/1', push: '1/1' },
    [],
  ],
  [
    'a gateway behind and a push without a ring',
    [live('gateway', 'im-0', 4), live('gateway', 'im-1', 3), live('push', 's', undefined)],
    { gateway: '1/2', proxy: '0/0', push: '0/1' },
    ['im-1@3', 's@null'],
  ],
  [
    'a runtime ahead (the ConfigMap rewound by hand) acknowledged, as the operator counts it',
    [live('proxy', 'p', 5)],
    { gateway: '0/0', proxy: '1/1', push: '0/0' },
    [],
  ],
  ['other components are ignored', [live('operator', 'o', 4)], { gateway: '0/0', proxy: '0/0', push: '0/0' }, []],
];

for (const [what, reports, ratios, laggards] of ackCases) {
  test(`acknowledgements of version 4 with ${what}`, () => {
    const acks = acknowledgements(reports, 4);
    assert.deepEqual(Object.fromEntries(Object.entries(acks).map(([c, a]) => [c, `${a.acked}/${a.live}`])), ratios);
    assert.deepEqual(
      Object.values(acks).flatMap((a) => a.laggards.map((l) => `${l.pod}@${l.version}`)),
      laggards,
    );
  });
}

const tableCases: [string, string[][], string, string[]][] = [
  [
    'pads every column but the last',
    [
      ['A', 'BB', 'C'],
      ['AAA', 'B', 'CCCC'],
    ],
    '',
    ['A    BB  C', 'AAA  B   CCCC'],
  ],
  ['indents each line', [['x', 'y']], '  ', ['  x  y']],
  [
    'trims the trailing space of an empty last cell',
    [
      ['gateway', '1/1', ''],
      ['push', '0/1', 'laggards: s'],
    ],
    '',
    ['gateway  1/1', 'push     0/1  laggards: s'],
  ],
  ['prints nothing for no rows', [], '', []],
];

for (const [what, rows, indent, expected] of tableCases) {
  test(`formatTable ${what}`, () => assert.deepEqual(formatTable(rows, indent), expected));
}

const members = newMembers(3);
const document = buildRingDocument({
  gateway: sampleGateway,
  version: 4,
  state: 'Prepared',
  members,
  previous: { version: 3, members: members.slice(0, 2) },
  tableSize: 13,
});
const okRing: RingObservation = { kind: 'ok', configMap: 'im-ring', document };

const observeCases: [string, Record<string, string> | undefined, string][] = [
  ['no data', undefined, 'IMRING_RING_MISSING_DOCUMENT'],
  ['data without ring.json', { other: '{}' }, 'IMRING_RING_MISSING_DOCUMENT'],
  ['text that is not JSON', { 'ring.json': '{' }, RingErrorCode.InvalidJson],
  [
    'a wrong checksum',
    { 'ring.json': serializeRingDocument({ ...document, checksum: 'sha256:00' }) },
    RingErrorCode.ChecksumMismatch,
  ],
  ['a valid document', { 'ring.json': serializeRingDocument(document) }, 'ok'],
];

for (const [what, data, expected] of observeCases) {
  test(`observeRing of a ConfigMap with ${what} gives ${expected}`, () => {
    const observed = observeRing('im-ring', data);
    assert.equal(observed.kind === 'ok' ? 'ok' : observed.error.code, expected);
  });
}

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  return { gateway: 'im', namespace: 'chat', ring: okRing, leases: [], now: NOW, ...overrides };
}

test("status takes each member's connections and misplaced from its live gateway Lease only", () => {
  const view = statusView(
    input({
      leases: [
        newLease({
          pod: 'im-0',
          version: 4,
          annotations: { [Annotations.connections]: '5', [Annotations.misplaced]: '2' },
        }),
        newLease({
          pod: 'im-1',
          version: 4,
          age: 60,
          annotations: { [Annotations.connections]: '9', [Annotations.misplaced]: '9' },
        }),
        newLease({
          component: 'proxy',
          pod: 'im-2',
          version: 4,
          annotations: { [Annotations.connections]: '7', [Annotations.misplaced]: '7' },
        }),
      ],
    }),
  );
  assert.deepEqual(
    view.ring.members.map((m) => [m.name, m.connections, m.misplaced]),
    [
      ['im-0', 5, 2],
      ['im-1', null, null],
      ['im-2', null, null],
    ],
  );
  assert.equal(view.misplacedConnections, 2);
});

test("status shares are the ring library's and add up to 1", () => {
  const ring = Ring.fromDocument(document);
  const view = statusView(input());
  assert.deepEqual(
    view.ring.members.map((m) => m.share),
    members.map((m) => ring.shareOf(m.name)),
  );
  assert.equal(
    view.ring.members.reduce((sum, m) => sum + m.share * 13, 0),
    13,
  );
});

test('status lists ring errors of live Leases only', () => {
  const error = { [Annotations.ringError]: 'IMRING_RING_INVALID_JSON: not valid JSON' };
  const view = statusView(
    input({
      leases: [
        newLease({ component: 'push', pod: 's1', annotations: error }),
        newLease({ component: 'push', pod: 's0', age: 30, annotations: error }),
      ],
    }),
  );
  assert.deepEqual(view.ringErrors, [{ lease: 'im-push-s1', error: 'IMRING_RING_INVALID_JSON: not valid JSON' }]);
});

const ringStates: [string, RingObservation, { status: string; version: number | null; acknowledged: boolean }][] = [
  ['a valid ring', okRing, { status: 'ok', version: 4, acknowledged: true }],
  [
    'a missing ConfigMap',
    { kind: 'missing', configMap: 'im-ring' },
    { status: 'missing', version: null, acknowledged: false },
  ],
  [
    'a refused document',
    { kind: 'refused', configMap: 'im-ring', error: { code: RingErrorCode.InvalidJson, message: 'not valid JSON' } },
    { status: 'refused', version: null, acknowledged: false },
  ],
];

for (const [what, ring, expected] of ringStates) {
  test(`status with ${what} says ${expected.status}`, () => {
    const view = statusView(input({ ring, leases: [newLease({ version: 4 })] }));
    assert.deepEqual(
      { status: view.ring.status, version: view.ring.version, acknowledged: view.acknowledged !== null },
      expected,
    );
  });
}

test('the detailed text shows phase, conditions, ring, members, acknowledgements, errors and misplaced', () => {
  const view = statusView(
    input({
      imGateway: {
        spec: { replicas: 3 },
        status: {
          phase: 'Rebalancing',
          readyReplicas: 3,
          conditions: [
            { type: 'Ready', status: 'True', reason: 'AllMembersReady', message: '3/3 ready' },
            { type: 'RingConverged', status: 'False', reason: 'AwaitingAcks' },
          ],
        },
      },
      leases: [
        newLease({
          pod: 'im-0',
          version: 4,
          annotations: { [Annotations.connections]: '5', [Annotations.misplaced]: '1' },
        }),
        newLease({
          pod: 'im-1',
          version: 3,
          annotations: { [Annotations.connections]: '2', [Annotations.misplaced]: '0' },
        }),
        newLease({ component: 'proxy', pod: 'p1', version: 4 }),
        newLease({
          component: 'push',
          pod: 's1',
          annotations: { [Annotations.ringError]: 'IMRING_RING_INVALID_JSON: not valid JSON' },
        }),
      ],
    }),
  );
  const share = (name: string): string => `${(Ring.fromDocument(document).shareOf(name) * 100).toFixed(2)}%`;
  const host = (i: number): string => `im-${i}.im-headless.chat.svc.cluster.local`;
  assert.equal(
    formatStatus(view),
    [
      'Gateway:      chat/im',
      'Phase:        Rebalancing',
      'Replicas:     3 desired, 3 ready',
      'Conditions:',
      '  TYPE           STATUS  REASON           MESSAGE',
      '  Ready          True    AllMembersReady  3/3 ready',
      '  RingConverged  False   AwaitingAcks',
      `Ring:         version 4, Prepared (ConfigMap im-ring, table 13)`,
      'Previous:     version 3: im-0 im-1',
      `Checksum:     ${document.checksum}`,
      'Members:      3',
      `  NAME  ${'HOST'.padEnd(host(0).length)}  WS     GRPC   SHARE   CONNECTIONS  MISPLACED`,
      `  im-0  ${host(0)}  10001  10002  ${share('im-0')}  5            1`,
      `  im-1  ${host(1)}  10001  10002  ${share('im-1')}  2            0`,
      `  im-2  ${host(2)}  10001  10002  ${share('im-2')}  -            -`,
      'Acknowledged: version 4',
      '  gateway  1/2  laggards: im-1 (v3)',
      '  proxy    1/1',
      '  push     0/1  laggards: s1 (no ring)',
      'Ring errors on Leases:',
      '  im-push-s1  IMRING_RING_INVALID_JSON: not valid JSON',
      'Misplaced connections: 1',
      '',
    ].join('\n'),
  );
});

const detailRingLines: [string, RingObservation, string][] = [
  ['a missing ConfigMap', { kind: 'missing', configMap: 'im-ring' }, 'Ring:         ConfigMap im-ring not found'],
  [
    'a refused document',
    { kind: 'refused', configMap: 'im-ring', error: { code: RingErrorCode.InvalidJson, message: 'not valid JSON' } },
    'Ring:         ConfigMap im-ring refused: IMRING_RING_INVALID_JSON: not valid JSON',
  ],
];

for (const [what, ring, line] of detailRingLines) {
  test(`the detailed text of ${what} says so in one line, without members or acknowledgements`, () => {
    const text = formatStatus(statusView(input({ ring })));
    assert.deepEqual(text.split('\n'), [
      'Gateway:      chat/im (no IMGateway; from ConfigMap im-ring)',
      line,
      'Misplaced connections: 0',
      '',
    ]);
  });
}

test('the summary has one line per gateway, missing and refused rings included', () => {
  const views = [
    statusView(
      input({
        imGateway: { status: { phase: 'Stable' } },
        leases: [newLease({ pod: 'im-0', version: 4, annotations: { [Annotations.misplaced]: '2' } })],
      }),
    ),
    statusView(input({ gateway: 'gone', ring: { kind: 'missing', configMap: 'gone-ring' } })),
    statusView(
      input({
        gateway: 'bad',
        ring: { kind: 'refused', configMap: 'bad-ring', error: { code: RingErrorCode.InvalidJson, message: 'x' } },
      }),
    ),
  ];
  assert.deepEqual(formatSummary(views).split('\n'), [
    'NAME  PHASE   RING  STATE     MEMBERS  GATEWAY  PROXY  PUSH  MISPLACED  RING-ERRORS',
    'im    Stable  4     Prepared  3        1/1      0/0    0/0   2          0',
    'gone  -       -     missing   -        -        -      -     0          0',
    'bad   -       -     refused   -        -        -      -     0          0',
    '',
  ]);
});
