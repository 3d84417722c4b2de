import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  judgeRingDocument,
  DEFAULT_POLICY,
  RingAcceptanceCode,
  RingErrorCode,
  serializeRingDocument,
  type RingDocument,
  type RingDocumentInit,
  type RingJudgeInput,
  type TrustedRing,
} from '../ring/index.js';
import { newMembers, sampleGateway, sampleRingDocument } from './support/fixtures.js';

const gateway = { namespace: sampleGateway.namespace, name: sampleGateway.name };

const doc = sampleRingDocument;

const text = (document: RingDocument): string => serializeRingDocument(document);

interface Case {
  readonly name: string;
  readonly input: RingJudgeInput;
  readonly verdict: string;
  /** The refusal's code, for refused documents. */
  readonly code?: string;
  /** The refusal's path, where it names a field. */
  readonly path?: string;
}

/** What the operator records of `document` in its status. */
const recorded = (document: RingDocument): TrustedRing => ({
  version: document.version,
  state: document.state,
  checksum: document.checksum,
});

/** `document` read by a runtime of the sample gateway that serves `trusted`. */
const served = (document: RingDocument, trusted?: TrustedRing): RingJudgeInput => ({
  text: text(document),
  gateway,
  trusted,
});

/** `document` read by the operator, whose status records `trusted`. */
const ofOperator = (document: RingDocument, trusted: RingDocument): RingJudgeInput => ({
  text: text(document),
  gateway: sampleGateway,
  trusted: recorded(trusted),
  trustedAs: 'recorded',
});

const slowerPolicy = { policy: { ...DEFAULT_POLICY, migrateRatePerSecond: 10, handoffWindowMs: 500 } };
const otherPrevious = { previous: { version: 1, members: newMembers(1) } };
const ofGateway = (ref: Partial<typeof sampleGateway>): Partial<RingDocumentInit> => ({
  gateway: { ...sampleGateway, ...ref },
});
const { StaleVersion, VersionReused, StateRegression, MissingDocument, WrongGateway } = RingAcceptanceCode;

const cases: Case[] = [
  { name: 'a first document is newer', input: served(doc(1, 'Prepared')), verdict: 'newer' },
  { name: 'a higher version is newer', input: served(doc(3, 'Prepared', 4), doc(2, 'Committed')), verdict: 'newer' },
  {
    name: 'Prepared to Committed at one version is newer',
    input: served(doc(2, 'Committed'), doc(2, 'Prepared')),
    verdict: 'newer',
  },
  {
    name: 'a policy change at one version is newer',
    input: served(doc(2, 'Committed', 3, slowerPolicy), doc(2, 'Committed')),
    verdict: 'newer',
  },
  {
    name: 'the same document is identical',
    input: served(doc(2, 'Committed'), doc(2, 'Committed')),
    verdict: 'identical',
  },
  {
    name: 'a recreated gateway (new uid) starts a new history',
    input: served(doc(1, 'Prepared', 3, ofGateway({ uid: 'new-uid' })), doc(5, 'Committed')),
    verdict: 'newer',
  },
  {
    name: 'a lower version is older',
    input: served(doc(2, 'Committed'), doc(3, 'Prepared')),
    verdict: 'older',
    code: StaleVersion,
    path: 'version',
  },
  {
    name: 'the trusted version with other members is reused',
    input: served(doc(2, 'Prepared', 5), doc(2, 'Prepared')),
    verdict: 'reused',
    code: VersionReused,
    path: 'checksum',
  },
  {
    name: 'the trusted version with another previous ring is reused',
    input: served(doc(2, 'Prepared', 3, otherPrevious), doc(2, 'Prepared')),
    verdict: 'reused',
    code: VersionReused,
    path: 'previous',
  },
  {
    name: 'Committed back to Prepared is regressed',
    input: served(doc(2, 'Prepared'), doc(2, 'Committed')),
    verdict: 'regressed',
    code: StateRegression,
    path: 'state',
  },
  {
    name: 'a missing ring.json is invalid',
    input: { text: undefined, gateway, trusted: doc(2, 'Committed') },
    verdict: 'invalid',
    code: MissingDocument,
  },
  {
    name: 'text RING-SPEC refuses is invalid with its code',
    input: { text: '{', gateway },
    verdict: 'invalid',
    code: RingErrorCode.InvalidJson,
  },
  {
    name: 'a document of another gateway name is invalid',
    input: served(doc(1, 'Prepared', 3, ofGateway({ name: 'other' }))),
    verdict: 'invalid',
    code: WrongGateway,
    path: 'gateway',
  },
  {
    name: 'a document of another namespace is invalid',
    input: served(doc(1, 'Prepared', 3, ofGateway({ namespace: 'else' }))),
    verdict: 'invalid',
    code: WrongGateway,
  },
  {
    name: 'a document of another uid is invalid to a reader that knows the uid',
    input: { text: text(doc(1, 'Prepared', 3, ofGateway({ uid: 'new-uid' }))), gateway: sampleGateway },
    verdict: 'invalid',
    code: WrongGateway,
  },
  {
    name: 'a document of the known uid is judged as usual',
    input: { text: text(doc(1, 'Prepared')), gateway: sampleGateway },
    verdict: 'newer',
  },
  {
    name: 'against a record: the recorded version and checksum, Committed, is newer than Prepared',
    input: ofOperator(doc(4, 'Committed'), doc(4, 'Prepared')),
    verdict: 'newer',
  },
  {
    name: 'against a record: another checksum at the recorded version is reused',
    input: ofOperator(doc(4, 'Committed', 5), doc(4, 'Committed')),
    verdict: 'reused',
    code: VersionReused,
  },
  {
    name: 'against a record: a version below it is older',
    input: ofOperator(doc(3, 'Committed'), doc(4, 'Committed')),
    verdict: 'older',
    code: StaleVersion,
  },
  {
    name: 'what the reader does not know is not compared: other members at a version known only by number',
    input: served(doc(2, 'Prepared', 5), { version: 2 }),
    verdict: 'identical',
  },
  {
    name: 'a state known without a checksum still orders Prepared and Committed',
    input: served(doc(2, 'Committed'), { version: 2, state: 'Prepared' }),
    verdict: 'newer',
  },
];

for (const c of cases) {
  test(`judgeRingDocument: ${c.name}`, () => {
    const judged = judgeRingDocument(c.input);
    assert.equal(judged.verdict, c.verdict);
    if (judged.verdict === 'invalid') {
      assert.equal(judged.error.code, c.code);
    } else {
      assert.equal(serializeRingDocument(judged.document), c.input.text, 'the document judged is the one read');
      if (judged.verdict === 'newer' || judged.verdict === 'identical') assert.equal(c.code, undefined);
      else assert.equal(judged.error.code, c.code);
    }
    if ('error' in judged) {
      assert.ok(judged.error.message.length > 0);
      if (c.path !== undefined) assert.equal(judged.error.path, c.path);
    }
  });
}

test('a refusal names the versions and how the reader holds the trusted ring', () => {
  const older = judgeRingDocument(served(doc(2, 'Committed'), doc(3, 'Committed')));
  assert.equal(older.verdict === 'older' ? older.error.message : undefined, 'version 2 is older than the served 3');
  const olderRecord = judgeRingDocument(ofOperator(doc(2, 'Committed'), doc(3, 'Committed')));
  const recordedMessage = olderRecord.verdict === 'older' ? olderRecord.error.message : undefined;
  assert.equal(recordedMessage, 'version 2 is older than the recorded 3');
  const foreign = judgeRingDocument({ text: text(doc(1, 'Prepared')), gateway: { ...sampleGateway, uid: 'u2' } });
  const foreignMessage = foreign.verdict === 'invalid' ? foreign.error.message : '';
  assert.match(foreignMessage, /\(uid 6f1c0c1e-.*\), not chat\/im \(uid u2\)$/);
});
