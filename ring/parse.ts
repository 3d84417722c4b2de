import {
  DEFAULT_POLICY,
  MAX_DOCUMENT_BYTES,
  MAX_TABLE_SIZE,
  RING_FORMAT,
  ringChecksum,
  sortedMembers,
  type RingDocument,
  type RingDocumentResult,
  type RingMember,
  type RingPolicy,
  type PreviousRing,
  type RingAlgorithm,
  type GatewayRef,
} from './document.js';
import { RingErrorCode } from './errors.js';
import { isPrime } from './primes.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_HANDOFF_WINDOW_MS = 10 * 60 * 1000;
const MAX_MOVE_DEADLINE_MS = 10 * 60 * 1000;

/** Internal: carries a precise refusal out of nested readers; never leaves this module. */
class Refusal extends Error {
  constructor(
    readonly code: RingErrorCode,
    readonly path: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * Validates an already-parsed value as a ring document (RING-SPEC.md section 5).
 * Never throws; the result's document is a fresh copy with members sorted.
 */
export function validateRingDocument(value: unknown): RingDocumentResult {
  try {
    return { ok: true, document: readDocument(value) };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const message = error.path ? `${error.path}: ${error.reason}` : error.reason;
    return { ok: false, error: { code: error.code, path: error.path, message } };
  }
}

/**
 * Parses and validates the text of a ring document. Never throws: bad input of any kind
 * (not JSON, wrong shapes, a wrong checksum, megabytes of garbage) is an error result.
 */
export function parseRingDocument(text: string): RingDocumentResult {
  if (typeof text !== 'string') {
    return failure(RingErrorCode.InvalidField, '', 'the document is not text');
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_DOCUMENT_BYTES) {
    return failure(RingErrorCode.TooLarge, '', `the document is larger than ${MAX_DOCUMENT_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return failure(RingErrorCode.InvalidJson, '', `not valid JSON (${(error as Error).message})`);
  }
  return validateRingDocument(value);
}

function readDocument(value: unknown): RingDocument {
  const doc = object(value, '');
  if (doc.format !== RING_FORMAT) {
    throw new Refusal(
      RingErrorCode.UnknownFormat,
      'format',
      `unknown format ${show(doc.format)}, want "${RING_FORMAT}"`,
    );
  }
  const version = positiveInteger(doc.version, 'version');
  const algorithm = readAlgorithm(doc.algorithm);
  const members = readMembers(doc.members, 'members', algorithm.tableSize);
  const document: RingDocument = {
    format: RING_FORMAT,
    gateway: readGateway(doc.gateway),
    version,
    state: readState(doc.state),
    algorithm,
    members,
    previous: readPrevious(doc.previous, version, algorithm.tableSize),
    policy: readPolicy(doc.policy),
    checksum: string(doc.checksum, 'checksum'),
  };
  const expected = ringChecksum(version, algorithm, members);
  if (document.checksum !== expected) {
    throw new Refusal(
      RingErrorCode.ChecksumMismatch,
      'checksum',
      `is ${show(document.checksum)}, computed ${expected}`,
    );
  }
  return document;
}

function readGateway(value: unknown): GatewayRef {
  const g = object(value, 'gateway');
  return {
    namespace: string(g.namespace, 'gateway.namespace'),
    name: string(g.name, 'gateway.name'),
    uid: string(g.uid, 'gateway.uid'),
  };
}

function readState(value: unknown): RingDocument['state'] {
  if (value === 'Prepared' || value === 'Committed') return value;
  throw new Refusal(RingErrorCode.InvalidState, 'state', `is ${show(value)}, want "Prepared" or "Committed"`);
}

function readAlgorithm(value: unknown): RingAlgorithm {
  const a = object(value, 'algorithm');
  if (a.name !== 'maglev') {
    throw new Refusal(
      RingErrorCode.UnknownAlgorithm,
      'algorithm.name',
      `unknown algorithm ${show(a.name)}, want "maglev"`,
    );
  }
  if (a.hash !== 'murmur3_x86_32') {
    throw new Refusal(
      RingErrorCode.UnknownAlgorithm,
      'algorithm.hash',
      `unknown hash ${show(a.hash)}, want "murmur3_x86_32"`,
    );
  }
  const size = a.tableSize;
  if (typeof size !== 'number' || !isPrime(size) || size > MAX_TABLE_SIZE) {
    throw new Refusal(
      RingErrorCode.InvalidTableSize,
      'algorithm.tableSize',
      `is ${show(size)}, want a prime no larger than ${MAX_TABLE_SIZE}`,
    );
  }
  return { name: 'maglev', hash: 'murmur3_x86_32', tableSize: size };
}

function readMembers(value: unknown, path: string, tableSize: number): RingMember[] {
  if (!Array.isArray(value)) throw new Refusal(RingErrorCode.InvalidField, path, `is ${show(value)}, want an array`);
  if (value.length >= tableSize) {
    throw new Refusal(
      RingErrorCode.InvalidTableSize,
      'algorithm.tableSize',
      `${tableSize} is not larger than the ${value.length} members of ${path}`,
    );
  }
  const seen = new Set<string>();
  const members = value.map((item: unknown, i) => {
    const member = readMember(item, `${path}[${i}]`);
    if (seen.has(member.name)) {
      throw new Refusal(RingErrorCode.DuplicateMember, `${path}[${i}].name`, `duplicate member ${show(member.name)}`);
    }
    seen.add(member.name);
    return member;
  });
  return sortedMembers(members);
}

function readMember(value: unknown, path: string): RingMember {
  const m = object(value, path);
  const name = string(m.name, `${path}.name`);
  if (!DNS_LABEL.test(name)) {
    throw new Refusal(RingErrorCode.InvalidMemberName, `${path}.name`, `${show(name)} is not a DNS-1123 label`);
  }
  const host = string(m.host, `${path}.host`);
  if (host.length > 253 || !DNS_SUBDOMAIN.test(host)) {
    throw new Refusal(RingErrorCode.InvalidHost, `${path}.host`, `${show(host)} is not a DNS-1123 subdomain`);
  }
  const ports = object(m.ports, `${path}.ports`);
  return {
    name,
    host,
    ports: { ws: port(ports.ws, `${path}.ports.ws`), grpc: port(ports.grpc, `${path}.ports.grpc`) },
  };
}

function readPrevious(value: unknown, version: number, tableSize: number): PreviousRing | null {
  if (value === null || value === undefined) {
    if (version === 1) return null;
    throw new Refusal(RingErrorCode.InvalidPrevious, 'previous', `is missing, but version ${version} replaces a ring`);
  }
  if (version === 1) throw new Refusal(RingErrorCode.InvalidPrevious, 'previous', 'must be null at version 1');
  const p = object(value, 'previous');
  if (p.version !== version - 1) {
    throw new Refusal(RingErrorCode.InvalidPrevious, 'previous.version', `is ${show(p.version)}, want ${version - 1}`);
  }
  return { version: version - 1, members: readMembers(p.members, 'previous.members', tableSize) };
}

function readPolicy(value: unknown): RingPolicy {
  if (value === undefined) return { ...DEFAULT_POLICY };
  const p = object(value, 'policy');
  const rate = p.migrateRatePerSecond;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw new Refusal(
      RingErrorCode.InvalidField,
      'policy.migrateRatePerSecond',
      `is ${show(rate)}, want a positive number`,
    );
  }
  const handoffWindowMs = milliseconds(p.handoffWindowMs, 'policy.handoffWindowMs', MAX_HANDOFF_WINDOW_MS);
  // Added after the first documents: absent means the default, so older documents stay valid.
  const moveDeadlineMs =
    p.moveDeadlineMs === undefined
      ? DEFAULT_POLICY.moveDeadlineMs
      : milliseconds(p.moveDeadlineMs, 'policy.moveDeadlineMs', MAX_MOVE_DEADLINE_MS);
  return { migrateRatePerSecond: rate, handoffWindowMs, moveDeadlineMs };
}

function milliseconds(value: unknown, path: string, max: number): number {
  if (Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max) return value as number;
  throw new Refusal(RingErrorCode.InvalidField, path, `is ${show(value)}, want an integer from 0 to ${max}`);
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw new Refusal(RingErrorCode.InvalidField, path, `is ${show(value)}, want an object`);
}

function string(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  throw new Refusal(RingErrorCode.InvalidField, path, `is ${show(value)}, want a string`);
}

function positiveInteger(value: unknown, path: string): number {
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number;
  throw new Refusal(RingErrorCode.InvalidVersion, path, `is ${show(value)}, want a positive integer`);
}

function port(value: unknown, path: string): number {
  if (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535) return value as number;
  throw new Refusal(RingErrorCode.InvalidPort, path, `is ${show(value)}, want an integer from 1 to 65535`);
}

/** A short, safe rendering of a bad value for an error message. */
function show(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? typeof value;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function failure(code: RingErrorCode, path: string, message: string): RingDocumentResult {
  return { ok: false, error: { code, path, message: path ? `${path}: ${message}` : message } };
}
