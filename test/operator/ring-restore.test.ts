import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { RingStatus } from '../../operator/api.js';
import type { Owner } from '../../operator/desired.js';
import { canonicalMember } from '../../operator/names.js';
import { currentRing } from '../../operator/observe.js';
import { resolveSpec, type ResolvedSpec } from '../../operator/spec.js';
import { computeStatus } from '../../operator/status.js';
import { decideTransition, type PodView } from '../../operator/transition.js';
import { buildRingDocument, RING_DATA_KEY, serializeRingDocument, type RingDocument } from '../../ring/index.js';

const OWNER: Owner = { namespace: 'chat', name: 'im', uid: 'uid-1' };
const NOW = 1_000_000;
const CLUSTER_DOMAIN = 'cluster.local';

function spec(tableSize: number): ResolvedSpec {
  const resolved = resolveSpec({ metadata: { name: 'im' }, spec: { replicas: 2, auth: { secretName: 's' }, ring: { tableSize } } });
  assert.ok(resolved.ok);
  return resolved.spec;
}

/** Version 3, Committed, of a ring whose table has `tableSize` entries: what the runtimes accepted. */
function acceptedDocument(tableSize: number): RingDocument {
  const member = (o: number) => canonicalMember(OWNER, o, { ports: spec(tableSize).ports, clusterDomain: CLUSTER_DOMAIN });
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

const corrupted: V1ConfigMap = { metadata: { name: 'im-ring', namespace: OWNER.namespace }, data: { [RING_DATA_KEY]: '{' } };

test('a corrupted ConfigMap after a tableSize edit is restored as the document the runtimes accepted', () => {
  const accepted = acceptedDocument(251);
  const status = recordedStatus(accepted, spec(251));
  // The CRD forbids the edit with CEL, which a local control plane does not run.
  const edited = spec(257);
  const current = currentRing({ owner: OWNER, spec: edited, clusterDomain: CLUSTER_DOMAIN, configMap: corrupted, status, nowMs: NOW });
  assert.match(current.refused ?? '', /IMRING_RING_INVALID_JSON/);
  const restored = current.ring?.document;
  assert.ok(restored);
  assert.equal(restored.version, accepted.version);
  assert.equal(restored.checksum, accepted.checksum);
  assert.equal(serializeRingDocument(restored), serializeRingDocument(accepted));
});

test('a status written without the table size still restores the ring with the spec\'s table size', () => {
  const accepted = acceptedDocument(251);
  const { tableSize: _recorded, ...older } = recordedStatus(accepted, spec(251)) as RingStatus & { tableSize?: number };
  const current = currentRing({ owner: OWNER, spec: spec(251), clusterDomain: CLUSTER_DOMAIN, configMap: corrupted, status: older, nowMs: NOW });
  assert.equal(serializeRingDocument(current.ring!.document), serializeRingDocument(accepted));
});
