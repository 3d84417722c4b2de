import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_POLICY, RingAcceptanceCode, serializeRingDocument, type RingDocument } from '../../ring/index.js';
import { decideRingDocument } from '../../runtime/ring-acceptance.js';
import { newMembers, sampleGateway, sampleRingDocument } from '../support/fixtures.js';

const gateway = { namespace: sampleGateway.namespace, name: sampleGateway.name };

const doc = sampleRingDocument;

const text = (document: RingDocument): string => serializeRingDocument(document);

test('decisions follow the served document: newer served, older/reused/regressed refused, identical ignored', () => {
  const cases: { name: string; served: RingDocument | undefined; candidate: string | undefined; want: string }[] = [
    {
      name: 'the first good document is served',
      served: undefined,
      candidate: text(doc(1, 'Prepared')),
      want: 'serve',
    },
    {
      name: 'a newer version is served',
      served: doc(2, 'Committed'),
      candidate: text(doc(3, 'Prepared', 4)),
      want: 'serve',
    },
    {
      name: 'Prepared to Committed at one version is served',
      served: doc(2, 'Prepared'),
      candidate: text(doc(2, 'Committed')),
      want: 'serve',
    },
    {
      name: 'a policy change at one version is served',
      served: doc(2, 'Committed'),
      candidate: text(
        doc(2, 'Committed', 3, { policy: { ...DEFAULT_POLICY, migrateRatePerSecond: 10, handoffWindowMs: 500 } }),
      ),
      want: 'serve',
    },
    {
      name: 'an identical document is nothing new',
      served: doc(2, 'Committed'),
      candidate: text(doc(2, 'Committed')),
      want: 'same',
    },
    {
      name: 'a lower version is refused',
      served: doc(3, 'Prepared'),
      candidate: text(doc(2, 'Committed')),
      want: RingAcceptanceCode.StaleVersion,
    },
    {
      name: 'the served version with other members is refused',
      served: doc(2, 'Prepared'),
      candidate: text(doc(2, 'Prepared', 5)),
      want: RingAcceptanceCode.VersionReused,
    },
    {
      name: 'the served version with another previous ring is refused',
      served: doc(2, 'Prepared'),
      candidate: text(doc(2, 'Prepared', 3, { previous: { version: 1, members: newMembers(1) } })),
      want: RingAcceptanceCode.VersionReused,
    },
    {
      name: 'Committed back to Prepared is refused',
      served: doc(2, 'Committed'),
      candidate: text(doc(2, 'Prepared')),
      want: RingAcceptanceCode.StateRegression,
    },
    {
      name: 'a document of another gateway is refused',
      served: undefined,
      candidate: text(doc(1, 'Prepared', 3, { gateway: { ...sampleGateway, name: 'other' } })),
      want: RingAcceptanceCode.WrongGateway,
    },
    {
      name: 'a document of another namespace is refused',
      served: undefined,
      candidate: text(doc(1, 'Prepared', 3, { gateway: { ...sampleGateway, namespace: 'else' } })),
      want: RingAcceptanceCode.WrongGateway,
    },
    {
      name: 'a recreated gateway (new uid) starts a new history',
      served: doc(5, 'Committed'),
      candidate: text(doc(1, 'Prepared', 3, { gateway: { ...sampleGateway, uid: 'new-uid' } })),
      want: 'serve',
    },
    {
      name: 'a missing ring.json is refused',
      served: doc(2, 'Committed'),
      candidate: undefined,
      want: RingAcceptanceCode.MissingDocument,
    },
    {
      name: 'a document RING-SPEC refuses is refused with its code',
      served: doc(2, 'Committed'),
      candidate: '{',
      want: 'IMRING_RING_INVALID_JSON',
    },
  ];
  for (const c of cases) {
    const decision = decideRingDocument({ text: c.candidate, served: c.served, gateway });
    const got = decision.kind === 'refuse' ? decision.error.code : decision.kind;
    assert.equal(got, c.want, c.name);
    if (decision.kind === 'refuse') assert.ok(decision.error.message.length > 0, c.name);
  }
});

test('a served decision carries the parsed document', () => {
  const candidate = doc(4, 'Committed');
  const decision = decideRingDocument({ text: text(candidate), served: doc(3, 'Committed'), gateway });
  assert.equal(decision.kind, 'serve');
  assert.deepEqual(decision.kind === 'serve' ? decision.document : undefined, candidate);
});
