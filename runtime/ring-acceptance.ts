import { parseRingDocument, serializeRingDocument, type RingDocument, type RingErrorCode } from '../ring/index.js';

/**
 * Whether a runtime serves a ring document it was handed (DESIGN.md sections 5 and 6). Pure:
 * the ring watcher feeds it each ConfigMap's text and the document it serves now.
 */

/**
 * Refusals that only a reader holding a served ring can make, on top of RING-SPEC.md
 * section 5's (`RingErrorCode`). They live here, not in ring/errors.ts, because a document
 * alone is never wrong in these ways: it is wrong next to the one being served.
 */
export const RingAcceptanceCode = {
  /** The ConfigMap has no `ring.json` key (or it is not text). */
  MissingDocument: 'IMRING_RING_MISSING_DOCUMENT',
  /** The document names another gateway (`gateway.namespace/name`). */
  WrongGateway: 'IMRING_RING_WRONG_GATEWAY',
  /** A version lower than the one served: serving it would break the transition invariant. */
  StaleVersion: 'IMRING_RING_STALE_VERSION',
  /** The served version with other members, checksum or previous ring. */
  VersionReused: 'IMRING_RING_VERSION_REUSED',
  /** `Committed` back to `Prepared` at the same version. */
  StateRegression: 'IMRING_RING_STATE_REGRESSION',
} as const;

export type RingAcceptanceCode = (typeof RingAcceptanceCode)[keyof typeof RingAcceptanceCode];

/** Why a runtime refused a document: a RING-SPEC.md code or one of {@link RingAcceptanceCode}. */
export interface RingRefusal {
  readonly code: RingErrorCode | RingAcceptanceCode;
  /** Path of the offending field; empty for the whole document. */
  readonly path: string;
  /** One line naming what is wrong. */
  readonly message: string;
}

/** What to do with a document: serve it, ignore it (nothing new), or refuse it. */
export type RingDecision =
  | { readonly kind: 'serve'; readonly document: RingDocument }
  | { readonly kind: 'same' }
  | { readonly kind: 'refuse'; readonly error: RingRefusal };

export interface RingCandidate {
  /** The ConfigMap's `ring.json` value; undefined when the key is missing. */
  readonly text: string | undefined;
  /** The document served now, if any. */
  readonly served: RingDocument | undefined;
  /** The gateway this runtime serves. */
  readonly gateway: { readonly namespace: string; readonly name: string };
}

/**
 * Decides whether to serve `candidate.text`. A newer version is served; at the served
 * version only `Prepared → Committed` (same checksum) or a policy change is; an identical
 * document is `same`. A document of a recreated gateway (another `gateway.uid`) starts a new
 * history, so its version is not compared with the old one's.
 */
export function decideRingDocument(candidate: RingCandidate): RingDecision {
  if (typeof candidate.text !== 'string') {
    return refuse(RingAcceptanceCode.MissingDocument, '', 'the ConfigMap has no "ring.json" text');
  }
  const parsed = parseRingDocument(candidate.text);
  if (!parsed.ok) return { kind: 'refuse', error: parsed.error };
  const document = parsed.document;
  const { namespace, name } = candidate.gateway;
  if (document.gateway.namespace !== namespace || document.gateway.name !== name) {
    const named = `${document.gateway.namespace}/${document.gateway.name}`;
    return refuse(RingAcceptanceCode.WrongGateway, 'gateway', `the document is for gateway ${named}, this runtime serves ${namespace}/${name}`);
  }
  const served = candidate.served;
  if (served === undefined || served.gateway.uid !== document.gateway.uid) return { kind: 'serve', document };
  return compareWithServed(document, served);
}

function compareWithServed(document: RingDocument, served: RingDocument): RingDecision {
  if (document.version < served.version) {
    return refuse(RingAcceptanceCode.StaleVersion, 'version', `is ${document.version}, lower than the served version ${served.version}`);
  }
  if (document.version > served.version) return { kind: 'serve', document };
  if (document.checksum !== served.checksum || !isSamePrevious(document, served)) {
    return refuse(
      RingAcceptanceCode.VersionReused,
      document.checksum !== served.checksum ? 'checksum' : 'previous',
      `version ${document.version} is served with other members; a membership change must raise the version`,
    );
  }
  if (served.state === 'Committed' && document.state === 'Prepared') {
    return refuse(RingAcceptanceCode.StateRegression, 'state', `version ${document.version} is Committed here, a document cannot take it back to Prepared`);
  }
  // Same version, members and previous: only the state (Prepared → Committed) or the policy may differ.
  if (serializeRingDocument(document) === serializeRingDocument(served)) return { kind: 'same' };
  return { kind: 'serve', document };
}

function isSamePrevious(a: RingDocument, b: RingDocument): boolean {
  return JSON.stringify(a.previous) === JSON.stringify(b.previous);
}

function refuse(code: RingAcceptanceCode, path: string, reason: string): RingDecision {
  return { kind: 'refuse', error: { code, path, message: path ? `${path}: ${reason}` : reason } };
}
