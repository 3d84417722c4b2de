import { isPrime } from './primes.js';
import { validateRingDocument } from './parse.js';
import {
  DEFAULT_POLICY,
  DEFAULT_TABLE_SIZE,
  RING_FORMAT,
  ringChecksum,
  sortedMembers,
  type RingAlgorithm,
  type RingDocument,
  type RingDocumentInit,
} from './document.js';

/**
 * Builds a complete, valid document. The writer's inputs are trusted to be well-formed, but a
 * document this returns is validated all the same, so a writer bug throws here instead of
 * reaching every reader.
 * @throws {RangeError} when the result would not pass {@link parseRingDocument}.
 */
export function buildRingDocument(init: RingDocumentInit): RingDocument {
  const algorithm: RingAlgorithm = {
    name: 'maglev',
    hash: 'murmur3_x86_32',
    tableSize: init.tableSize ?? DEFAULT_TABLE_SIZE,
  };
  const members = sortedMembers(init.members);
  const previous = init.previous
    ? { version: init.previous.version, members: sortedMembers(init.previous.members) }
    : null;
  const document: RingDocument = {
    format: RING_FORMAT,
    gateway: { namespace: init.gateway.namespace, name: init.gateway.name, uid: init.gateway.uid },
    version: init.version,
    state: init.state,
    algorithm,
    members,
    previous,
    policy: { ...(init.policy ?? DEFAULT_POLICY) },
    checksum: isPrime(algorithm.tableSize) ? ringChecksum(init.version, algorithm, members) : '',
  };
  const checked = validateRingDocument(document);
  if (!checked.ok) throw new RangeError(`buildRingDocument: ${checked.error.message}`);
  return checked.document;
}
