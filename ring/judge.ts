import { isDeepStrictEqual } from 'node:util';
import type { PreviousRing, RingDocument, RingPolicy, RingState } from './document.js';
import { RingAcceptanceCode, type RingRefusal } from './errors.js';
import { parseRingDocument } from './parse.js';

/**
 * What a reader knows of the ring it trusts: the document a runtime serves, or what the
 * operator recorded of the one it published (its status). A field left out is not compared.
 */
export interface TrustedRing {
  readonly version: number;
  readonly state?: RingState;
  /** The IMGateway's uid: a document of another uid belongs to a recreated gateway, a new history. */
  readonly gateway?: { readonly uid: string };
  readonly checksum?: string;
  readonly previous?: PreviousRing | null;
  readonly policy?: RingPolicy;
}

/** A ring ConfigMap's document and what its reader knows. */
export interface RingJudgeInput {
  /** The ConfigMap's `ring.json` value; undefined when the key is missing. */
  readonly text: string | undefined;
  /** The IMGateway the reader serves; with `uid`, a document of another uid is refused too. */
  readonly gateway: { readonly namespace: string; readonly name: string; readonly uid?: string };
  /** Undefined when the reader trusts no ring yet: any valid document of its gateway is newer. */
  readonly trusted?: TrustedRing;
  /** `served` (a runtime's ring, the default) or `recorded` (the operator's status). */
  readonly trustedAs?: TrustedAs;
}

/** How refusals name the trusted ring. */
export type TrustedAs = 'served' | 'recorded';

/**
 * Where a document stands next to the trusted ring. `newer`: a higher version, the first
 * document, a new history, or the trusted version moving on (`Prepared → Committed`, a
 * policy change). `identical`: nothing new. `invalid`: refused on its own (RING-SPEC.md
 * section 5, no `ring.json`, another gateway). `older`, `reused` (the trusted version with
 * other members or previous ring) and `regressed` (`Committed` back to `Prepared`) are
 * refused: serving them would break the transition invariant (DESIGN.md section 5).
 */
export type RingJudgement =
  | { readonly verdict: 'newer'; readonly document: RingDocument }
  | { readonly verdict: 'identical'; readonly document: RingDocument }
  | { readonly verdict: 'invalid'; readonly error: RingRefusal }
  | { readonly verdict: 'older'; readonly document: RingDocument; readonly error: RingRefusal }
  | { readonly verdict: 'reused'; readonly document: RingDocument; readonly error: RingRefusal }
  | { readonly verdict: 'regressed'; readonly document: RingDocument; readonly error: RingRefusal };

/**
 * Judges a ring document against the ring its reader trusts: the one decision every reader of
 * the ring ConfigMap takes (runtimes before serving, the fence before trusting its ring again,
 * the operator before continuing from the ConfigMap rather than its status). Pure.
 */
export function judgeRingDocument(input: RingJudgeInput): RingJudgement {
  if (typeof input.text !== 'string') {
    return invalid(RingAcceptanceCode.MissingDocument, '', 'the ConfigMap has no "ring.json" text');
  }
  const parsed = parseRingDocument(input.text);
  if (!parsed.ok) return { verdict: 'invalid', error: parsed.error };
  const { document } = parsed;
  const foreign = foreignGateway(document, input.gateway);
  if (foreign !== undefined) return invalid(RingAcceptanceCode.WrongGateway, 'gateway', foreign);
  const { trusted } = input;
  if (trusted === undefined || (trusted.gateway !== undefined && trusted.gateway.uid !== document.gateway.uid)) {
    return { verdict: 'newer', document };
  }
  return place(document, trusted, input.trustedAs ?? 'served');
}

function place(document: RingDocument, trusted: TrustedRing, as: TrustedAs): RingJudgement {
  const { version } = document;
  if (version < trusted.version) {
    const reason = `version ${version} is older than the ${as} ${trusted.version}`;
    return refused('older', document, refusal(RingAcceptanceCode.StaleVersion, 'version', reason));
  }
  if (version > trusted.version) return { verdict: 'newer', document };
  const reusedAt = (['checksum', 'previous'] as const).find((key) => differs(document, trusted, key));
  if (reusedAt !== undefined) {
    const other = reusedAt === 'checksum' ? 'other members' : 'another previous ring';
    const reason = `version ${version} is ${as} with ${other}; a membership change must raise the version`;
    return refused('reused', document, refusal(RingAcceptanceCode.VersionReused, reusedAt, reason));
  }
  if (trusted.state === 'Committed' && document.state === 'Prepared') {
    const reason = `version ${version} is ${as} Committed; a document cannot take it back to Prepared`;
    return refused('regressed', document, refusal(RingAcceptanceCode.StateRegression, 'state', reason));
  }
  // Same version, members and previous ring: only the state or the policy may have moved on.
  const moved = differs(document, trusted, 'state') || differs(document, trusted, 'policy');
  return { verdict: moved ? 'newer' : 'identical', document };
}

/** Why `document` is not of `gateway`, or undefined when it is. */
function foreignGateway(document: RingDocument, gateway: RingJudgeInput['gateway']): string | undefined {
  const { namespace, name, uid } = document.gateway;
  if (namespace === gateway.namespace && name === gateway.name && (gateway.uid === undefined || uid === gateway.uid)) {
    return undefined;
  }
  const named = (g: { namespace: string; name: string; uid?: string }): string =>
    `${g.namespace}/${g.name}${gateway.uid === undefined ? '' : ` (uid ${g.uid})`}`;
  return `the document is for gateway ${named(document.gateway)}, not ${named(gateway)}`;
}

/** True when the reader knows `key` of the trusted ring and the document's differs. */
function differs(document: RingDocument, trusted: TrustedRing, key: keyof TrustedRing & keyof RingDocument): boolean {
  return trusted[key] !== undefined && !isDeepStrictEqual(document[key], trusted[key]);
}

function refusal(code: RingAcceptanceCode, path: string, message: string): RingRefusal {
  return { code, path, message };
}

function invalid(code: RingAcceptanceCode, path: string, message: string): RingJudgement {
  return { verdict: 'invalid', error: refusal(code, path, message) };
}

function refused(verdict: 'older' | 'reused' | 'regressed', document: RingDocument, error: RingRefusal): RingJudgement {
  return { verdict, document, error };
}
