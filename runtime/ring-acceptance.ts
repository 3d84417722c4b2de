import { judgeRingDocument, type RingDocument, type RingRefusal } from '../ring/index.js';

/**
 * Whether a runtime serves a ring document it was handed (DESIGN.md sections 5 and 6). Pure:
 * the ring watcher feeds it each ConfigMap's text and the document it serves now.
 */

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
 * Decides whether to serve `candidate.text` by {@link judgeRingDocument} against the served
 * document: a newer one is served (at the served version only `Prepared → Committed` or a
 * policy change is newer), an identical one is `same`, any other refused. A document of a
 * recreated gateway (another `gateway.uid`) starts a new history.
 */
export function decideRingDocument(candidate: RingCandidate): RingDecision {
  const judged = judgeRingDocument({ text: candidate.text, gateway: candidate.gateway, trusted: candidate.served });
  switch (judged.verdict) {
    case 'newer':
      return { kind: 'serve', document: judged.document };
    case 'identical':
      return { kind: 'same' };
    default:
      return { kind: 'refuse', error: judged.error };
  }
}
