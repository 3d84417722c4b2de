import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { RingStatus } from '../../operator/api.js';
import type { Owner } from '../../operator/desired.js';
import { canonicalMember } from '../../operator/names.js';
import { currentRing, type CurrentRing } from '../../operator/observe.js';
import { resolveSpec, type ResolvedSpec } from '../../operator/spec.js';
import { computeStatus } from '../../operator/status.js';
import { decideTransition } from '../../operator/transition.js';
import type { PodView } from '../../operator/transition-types.js';
import { buildRingDocument, RING_DATA_KEY, serializeRingDocument, type RingDocument } from '../../ring/index.js';

const OWNER: Owner = { namespace: 'chat', name: 'im', uid: 'uid-1' };
const NOW = 1_000_000;
const CLUSTER_DOMAIN = 'cluster.local';

function spec(tableSize: number): ResolvedSpec {
  const raw = { replicas: 2, auth: { secretName: 's' }, ring: { tableSize } };
  const resolved = resolveSpec({ metadata: { name: 'im' }, spec: raw });
  assert.ok(resolved.ok);
  return resolved.spec;
}

/** Version 3, Committed, of a ring whose table has `tableSize` entries: what the runtimes accepted. */
function acceptedDocument(tableSize: number): RingDocument {
  const { ports } = spec(tableSize);
  const member = (o: number) => canonicalMember(OWNER, o, { ports, clusterDomain: CLUSTER_DOMAIN });
  return buildRingDocument({
    gateway: OWNER,
    version: 3,
    state: 'Committed',
    tableSize,
    members: [member(0), member(1)],
    previous: { version: 2, members: [member(0)] },
  });
}

/** `status.ring` as the operator writes it after a reconcile that found `document` published. */
function recordedStatus(document: RingDocument, resolved: ResolvedSpec): RingStatus {
  const ready: PodView[] = [0, 1].map((ordinal) => ({ ordinal, ready: true, sinceMs: NOW - 60_000 }));
  const ring = { document, transitionAtMs: NOW - 1000 };
  const decision = decideTransition({
    owner: OWNER,
    spec: resolved,
    clusterDomain: CLUSTER_DOMAIN,
    ring,
    convergedVersion: document.version,
    pods: ready,
    leases: [],
    nowMs: NOW,
  });
  assert.equal(decision.changed, false, 'the published ring is converged: the status records it as it is');
  const status = computeStatus(
    {
      previous: undefined,
      generation: 1,
      selector: 's',
      desiredReplicas: 2,
      replicas: 2,
      readyReplicas: 2,
      configMap: 'im-ring',
      unreadyMembers: [],
      ringErrors: [],
      now: new Date(NOW),
    },
    decision,
    [],
  );
  assert.ok(status.ring);
  return status.ring;
}

/** The ring ConfigMap holding `text`. */
const ringConfigMap = (text: string): V1ConfigMap => ({
  metadata: { name: 'im-ring', namespace: OWNER.namespace },
  data: { [RING_DATA_KEY]: text },
});

const corrupted = ringConfigMap('{');

/** The ring the operator continues from, given what it reads. */
function continueFrom(init: { spec: ResolvedSpec; configMap: V1ConfigMap; status: RingStatus }): CurrentRing {
  return currentRing({ owner: OWNER, clusterDomain: CLUSTER_DOMAIN, nowMs: NOW, ...init });
}

test('a corrupted ConfigMap after a tableSize edit is restored as the document the runtimes accepted', () => {
  const accepted = acceptedDocument(251);
  const status = recordedStatus(accepted, spec(251));
  // The CRD forbids the edit with CEL, which a local control plane does not run.
  const edited = spec(257);
  const current = continueFrom({ spec: edited, configMap: corrupted, status });
  assert.match(current.refused ?? '', /IMRING_RING_INVALID_JSON/);
  const restored = current.ring?.document;
  assert.ok(restored);
  assert.equal(restored.version, accepted.version);
  assert.equal(restored.checksum, accepted.checksum);
  assert.equal(serializeRingDocument(restored), serializeRingDocument(accepted));
});

test("a status written without the table size still restores the ring with the spec's table size", () => {
  const accepted = acceptedDocument(251);
  const { tableSize: _recorded, ...older } = recordedStatus(accepted, spec(251)) as RingStatus & { tableSize?: number };
  const current = continueFrom({ spec: spec(251), configMap: corrupted, status: older });
  assert.equal(serializeRingDocument(current.ring!.document), serializeRingDocument(accepted));
});

test('the ConfigMap is continued from when the status records its version Prepared and it says Committed', () => {
  // As a status written before the commit was: the same version and checksum, Prepared.
  const status: RingStatus = { ...recordedStatus(acceptedDocument(251), spec(251)), state: 'Prepared' };
  const committed = serializeRingDocument(acceptedDocument(251));
  const current = continueFrom({ spec: spec(251), configMap: ringConfigMap(committed), status });
  assert.equal(current.refused, undefined);
  assert.equal(serializeRingDocument(current.ring!.document), committed);
});

test('a ConfigMap that reuses the recorded version with other members is refused and the record restored', () => {
  const accepted = acceptedDocument(251);
  const status = recordedStatus(accepted, spec(251));
  const reused = buildRingDocument({ ...accepted, tableSize: 251, members: accepted.members.slice(0, 1) });
  const current = continueFrom({ spec: spec(251), configMap: ringConfigMap(serializeRingDocument(reused)), status });
  assert.match(current.refused ?? '', /^IMRING_RING_VERSION_REUSED: version 3 is recorded with other members/);
  assert.equal(serializeRingDocument(current.ring!.document), serializeRingDocument(accepted));
});

test('the ConfigMap an informer hands again is judged once per recorded ring, not parsed on every reconcile', () => {
  const accepted = acceptedDocument(251);
  const status = recordedStatus(accepted, spec(251));
  const configMap = ringConfigMap(serializeRingDocument(accepted));
  const first = continueFrom({ spec: spec(251), configMap, status });
  const again = continueFrom({ spec: spec(251), configMap, status });
  assert.ok(first.ring);
  // The same parsed document: no second parse of the same object.
  assert.equal(again.ring?.document, first.ring.document);
  // Another recorded ring (a newer version than the ConfigMap's) is judged afresh: the ConfigMap is behind it.
  const ahead = { ...status, version: (status.version ?? 0) + 1 };
  const behind = continueFrom({ spec: spec(251), configMap, status: ahead });
  assert.notEqual(behind.refused, undefined);
  // A copy of the object (the informer's next version) is judged afresh too.
  const copy = continueFrom({ spec: spec(251), configMap: structuredClone(configMap), status });
  assert.notEqual(copy.ring?.document, first.ring.document);
  assert.equal(copy.ring?.document.checksum, first.ring.document.checksum);
});
