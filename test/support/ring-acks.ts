/**
 * What a test sees of the barrier through the API: every ring document the ConfigMap held and
 * every (version, state) each gateway Lease reported, each with its resourceVersion (one
 * counter across the local API server, so it orders writes of different objects).
 */
import { Watch, type KubeConfig, type V1ConfigMap, type V1Lease } from '@kubernetes/client-node';
import { Annotations, Labels, parseRingDocument, RING_DATA_KEY, type RingDocument } from '../../ring/index.js';

/** A ring document as written, with the resourceVersion of the write. */
export interface WrittenRing {
  readonly document: RingDocument;
  readonly resourceVersion: number;
}

/** Watches the ring ConfigMaps and the gateway Leases of `namespace` until closed. */
export class RingAckLog {
  /** Documents in the order written (a document written twice, e.g. a status rewrite, once). */
  readonly rings: WrittenRing[] = [];
  /** Lease holder (pod) → `version state` → the first resourceVersion that reported it. */
  readonly reported = new Map<string, Map<string, number>>();
  readonly #aborts: AbortController[] = [];

  static async start(kc: KubeConfig, namespace: string): Promise<RingAckLog> {
    const log = new RingAckLog();
    const watch = new Watch(kc);
    const ignore = (): void => undefined;
    log.#aborts.push(
      await watch.watch(
        `/api/v1/namespaces/${namespace}/configmaps`,
        {},
        (_t, cm: V1ConfigMap) => log.#onRing(cm),
        ignore,
      ),
      await watch.watch(
        `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
        { labelSelector: `${Labels.component}=gateway` },
        (_t, lease: V1Lease) => log.#onLease(lease),
        ignore,
      ),
    );
    return log;
  }

  /** Every Committed write whose Prepared write some gateway of `members ∪ previous` had not reported before it. */
  missingAcks(fromVersion: number): string[] {
    const missing: string[] = [];
    for (const committed of this.rings) {
      const { version, state, members, previous } = committed.document;
      if (state !== 'Committed' || version < fromVersion) continue;
      const pods = new Set([...members, ...(previous?.members ?? [])].map((m) => m.name));
      for (const pod of pods) {
        const at = this.reported.get(pod)?.get(`${version} Prepared`);
        if (at === undefined || at > committed.resourceVersion) missing.push(`${pod} at v${version}`);
      }
    }
    return missing;
  }

  close(): void {
    for (const abort of this.#aborts) abort.abort();
  }

  #onRing(configMap: V1ConfigMap): void {
    const parsed = parseRingDocument(configMap.data?.[RING_DATA_KEY] ?? '');
    if (!parsed.ok) return;
    const last = this.rings.at(-1)?.document;
    if (last?.version === parsed.document.version && last.state === parsed.document.state) return;
    this.rings.push({ document: parsed.document, resourceVersion: Number(configMap.metadata?.resourceVersion) });
  }

  #onLease(lease: V1Lease): void {
    const pod = lease.spec?.holderIdentity;
    const annotations = lease.metadata?.annotations ?? {};
    const version = annotations[Annotations.ringVersion];
    if (pod === undefined || version === undefined) return;
    const seen = this.reported.get(pod) ?? new Map<string, number>();
    this.reported.set(pod, seen);
    const key = `${version} ${annotations[Annotations.ringState]}`;
    if (!seen.has(key)) seen.set(key, Number(lease.metadata?.resourceVersion));
  }
}
