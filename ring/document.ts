import { createHash } from 'node:crypto';
import { compareUtf8 } from './order.js';
import type { RingDocumentError } from './errors.js';

/** The `format` of every ring document of RING-SPEC.md version 1. */
export const RING_FORMAT = 'imring.dev/ring/v1';
/** The ConfigMap data key that holds the document. */
export const RING_DATA_KEY = 'ring.json';
/** The table size of RING-SPEC.md when a gateway does not choose one. */
export const DEFAULT_TABLE_SIZE = 65537;
/** The largest table a reader builds (entries): bounds a reader's memory at 64 MiB. */
export const MAX_TABLE_SIZE = 1 << 24;
/** A ConfigMap holds at most 1 MiB; a larger document cannot be real. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;
/** Policy that a document without a `policy` block gets (DESIGN.md section 4 defaults). */
export const DEFAULT_POLICY: RingPolicy = Object.freeze({
  migrateRatePerSecond: 500,
  handoffWindowMs: 2000,
  moveDeadlineMs: 10_000,
});

export type RingState = 'Prepared' | 'Committed';

export interface MemberPorts {
  readonly ws: number;
  readonly grpc: number;
}

/** A gateway pod: its name is its identity (and the only thing hashed); host and ports dial it. */
export interface RingMember {
  readonly name: string;
  readonly host: string;
  readonly ports: MemberPorts;
}

export interface RingAlgorithm {
  readonly name: 'maglev';
  readonly hash: 'murmur3_x86_32';
  readonly tableSize: number;
}

export interface GatewayRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export interface RingPolicy {
  /** Connections a gateway closes for migration per second (each). */
  readonly migrateRatePerSecond: number;
  /** How long a gateway answers MIGRATED for a user it closed, in milliseconds. */
  readonly handoffWindowMs: number;
  /**
   * How long a client that opted in to graceful migration has to move (open its new connection
   * and close the old one) before the gateway closes the old one with 4001/4002, in
   * milliseconds. A document without it means 10000 (RING-SPEC.md section 5).
   */
  readonly moveDeadlineMs: number;
}

export interface PreviousRing {
  readonly version: number;
  readonly members: readonly RingMember[];
}

/** The document of RING-SPEC.md section 5, as written into the ConfigMap `<gateway>-ring`. */
export interface RingDocument {
  readonly format: typeof RING_FORMAT;
  readonly gateway: GatewayRef;
  readonly version: number;
  readonly state: RingState;
  readonly algorithm: RingAlgorithm;
  /** Sorted by the UTF-8 bytes of `name` (RING-SPEC.md section 2). */
  readonly members: readonly RingMember[];
  readonly previous: PreviousRing | null;
  readonly policy: RingPolicy;
  readonly checksum: string;
}

export type RingDocumentResult =
  { readonly ok: true; readonly document: RingDocument } | { readonly ok: false; readonly error: RingDocumentError };

/** What the writer decides; the builder adds format, algorithm names and the checksum. */
export interface RingDocumentInit {
  gateway: GatewayRef;
  version: number;
  state: RingState;
  members: readonly RingMember[];
  previous?: PreviousRing | null;
  /** Default {@link DEFAULT_TABLE_SIZE}. */
  tableSize?: number;
  /** Default {@link DEFAULT_POLICY}. */
  policy?: RingPolicy;
}

/** Returns `members` sorted as RING-SPEC.md section 2 orders them, each with canonical keys. */
export function sortedMembers(members: readonly RingMember[]): RingMember[] {
  return members
    .map((m) => ({ name: m.name, host: m.host, ports: { ws: m.ports.ws, grpc: m.ports.grpc } }))
    .sort((a, b) => compareUtf8(a.name, b.name));
}

/**
 * The checksum of RING-SPEC.md section 5: SHA-256 over `JSON.stringify({version, algorithm,
 * members})` with sorted members and keys in spec order.
 */
export function ringChecksum(version: number, algorithm: RingAlgorithm, members: readonly RingMember[]): string {
  const canonical = JSON.stringify({
    version,
    algorithm: { name: algorithm.name, hash: algorithm.hash, tableSize: algorithm.tableSize },
    members: sortedMembers(members),
  });
  return `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

/** Serialises a document as the ConfigMap carries it (stable key order, trailing newline). */
export function serializeRingDocument(document: RingDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
