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
