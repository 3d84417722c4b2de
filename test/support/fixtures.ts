import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildRingDocument } from '../../ring/index.js';
import type { GatewayRef, RingDocument, RingDocumentInit, RingMember, RingState } from '../../ring/index.js';

/** The repository root, from this module's place in `dist/test/support/` or `test/support/`. */
export const repoRoot = fileURLToPath(
  new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
);

/** Reads a file of `test/fixtures/` as UTF-8 text. */
export function fixtureText(name: string): string {
  return readFileSync(`${repoRoot}test/fixtures/${name}`, 'utf8');
}

/** A gateway member as the operator would publish it, for gateway `gateway` in `namespace`. */
export function newMember(name: string, overrides: Partial<RingMember> = {}): RingMember {
  const gateway = name.replace(/-\d+$/, '');
  return {
    name,
    host: `${name}.${gateway}-headless.chat.svc.cluster.local`,
    ports: { ws: 10001, grpc: 10002 },
    ...overrides,
  };
}

/** Members `<gateway>-0` … `<gateway>-<count-1>`. */
export function newMembers(count: number, gateway = 'im'): RingMember[] {
  return Array.from({ length: count }, (_, i) => newMember(`${gateway}-${i}`));
}

export const sampleGateway: GatewayRef = { namespace: 'chat', name: 'im', uid: '6f1c0c1e-0000-4000-8000-000000000001' };

/**
 * Version `version` of {@link sampleGateway}'s ring: `count` members, the ring it replaces one
 * fewer, a table of 251 entries; `extra` overrides any of it.
 */
export function sampleRingDocument(
  version: number,
  state: RingState,
  count = 3,
  extra: Partial<RingDocumentInit> = {},
): RingDocument {
  return buildRingDocument({
    gateway: sampleGateway,
    version,
    state,
    members: newMembers(count),
    previous: version === 1 ? null : { version: version - 1, members: newMembers(count - 1) },
    tableSize: 251,
    ...extra,
  });
}
