/** The ring contract of RING-SPEC.md: hashing, the Maglev table, the document. No I/O. */
export { murmur3, murmur3Bytes } from './murmur3.js';
export { maglevTable, type MaglevTable } from './maglev.js';
export { isPrime, nextPrime } from './primes.js';
export { compareUtf8 } from './order.js';
export { RingAcceptanceCode, RingErrorCode, type RingDocumentError, type RingRefusal } from './errors.js';
export * from './document.js';
export { buildRingDocument } from './build.js';
export { parseRingDocument, validateRingDocument } from './parse.js';
export {
  judgeRingDocument,
  type RingJudgement,
  type RingJudgeInput,
  type TrustedAs,
  type TrustedRing,
} from './judge.js';
export { Ring, type RingInit } from './ring.js';
export { movedKeys, movedEntries, tableShares, type MovedKey } from './compare.js';
export * from './contract.js';
export { describeRefusal, leaseAnnotations, parseLeaseAnnotations, type RuntimeReport } from './lease-annotations.js';
export { PodEnv } from './pod-env.js';
