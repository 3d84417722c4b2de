/**
 * Stable codes for every reason a ring document is refused (RING-SPEC.md section 5).
 * Runtimes count rejections by code and report the code and message on their Lease.
 */
export const RingErrorCode = {
  TooLarge: 'IMRING_RING_TOO_LARGE',
  InvalidJson: 'IMRING_RING_INVALID_JSON',
  InvalidField: 'IMRING_RING_INVALID_FIELD',
  UnknownFormat: 'IMRING_RING_UNKNOWN_FORMAT',
  UnknownAlgorithm: 'IMRING_RING_UNKNOWN_ALGORITHM',
  InvalidVersion: 'IMRING_RING_INVALID_VERSION',
  InvalidState: 'IMRING_RING_INVALID_STATE',
  InvalidTableSize: 'IMRING_RING_INVALID_TABLE_SIZE',
  InvalidMemberName: 'IMRING_RING_INVALID_MEMBER_NAME',
  DuplicateMember: 'IMRING_RING_DUPLICATE_MEMBER',
  InvalidHost: 'IMRING_RING_INVALID_HOST',
  InvalidPort: 'IMRING_RING_INVALID_PORT',
  InvalidPrevious: 'IMRING_RING_INVALID_PREVIOUS',
  ChecksumMismatch: 'IMRING_RING_CHECKSUM_MISMATCH',
} as const;

export type RingErrorCode = (typeof RingErrorCode)[keyof typeof RingErrorCode];

/** Why a document was refused: a stable code, the JSON path at fault, and a sentence. */
export interface RingDocumentError {
  readonly code: RingErrorCode;
  /** Path of the offending field, e.g. `members[2].ports.ws`; empty for the whole document. */
  readonly path: string;
  /** One line naming the path and what is wrong with it. */
  readonly message: string;
}

/**
 * Refusals of a valid document that is wrong next to the ring a reader already trusts
 * (`judgeRingDocument`), on top of RING-SPEC.md section 5's {@link RingErrorCode}.
 */
export const RingAcceptanceCode = {
  /** The ConfigMap has no `ring.json` key (or it is not text). */
  MissingDocument: 'IMRING_RING_MISSING_DOCUMENT',
  /** The document names another gateway (`gateway.namespace/name`, and `uid` where the reader knows it). */
  WrongGateway: 'IMRING_RING_WRONG_GATEWAY',
  /** A version lower than the trusted one: serving it would break the transition invariant. */
  StaleVersion: 'IMRING_RING_STALE_VERSION',
  /** The trusted version with other members, checksum or previous ring. */
  VersionReused: 'IMRING_RING_VERSION_REUSED',
  /** `Committed` back to `Prepared` at the same version. */
  StateRegression: 'IMRING_RING_STATE_REGRESSION',
} as const;

export type RingAcceptanceCode = (typeof RingAcceptanceCode)[keyof typeof RingAcceptanceCode];

/** Why a reader refused a document: a RING-SPEC.md code or one of {@link RingAcceptanceCode}. */
export interface RingRefusal {
  readonly code: RingErrorCode | RingAcceptanceCode;
  /** Path of the offending field; empty for the whole document. */
  readonly path: string;
  /** One line naming what is wrong. */
  readonly message: string;
}
