/** A ring document to edit, for the tests of what readers accept and refuse (test/ring-*.test.ts). */
import { buildRingDocument, serializeRingDocument, type RingDocument } from '../../ring/index.js';
import { newMembers, sampleGateway } from './fixtures.js';

/** Version 7, Prepared, three members over two. */
export function sampleDocument(): RingDocument {
  return buildRingDocument({
    gateway: sampleGateway,
    version: 7,
    state: 'Prepared',
    members: newMembers(3),
    previous: { version: 6, members: newMembers(2) },
  });
}

/** A copy of the sample document as plain JSON, changed by `edit`, then re-checksummed or not. */
export function edited(edit: (doc: Record<string, any>) => void): string {
  const doc = JSON.parse(serializeRingDocument(sampleDocument())) as Record<string, any>;
  edit(doc);
  return JSON.stringify(doc);
}
