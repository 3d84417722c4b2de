/**
 * API writes counted by writer, from the local API server's `onRequest` (every answered
 * request; the test request log keeps only the last 10,000, too few at N = 1,000).
 */
import type { ServedRequest } from '../../local/index.js';

/** Who sent a write, from its User-Agent and path. */
export type Writer =
  | 'operator'
  | 'operator leader election'
  | 'gateway Leases'
  | 'proxy and push'
  | 'virtual kubelet'
  | 'cluster and bench';

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Counts answered writes (POST, PUT, PATCH, DELETE) by {@link Writer}. */
export class WriteCounter {
  readonly #counts = new Map<Writer, number>();
  /** `METHOD path` of each operator write but its leader election's, oldest first. */
  readonly operatorLog: string[] = [];

  /** Counts `request` if it is a write. */
  record(request: ServedRequest): void {
    if (!WRITE_METHODS.has(request.method)) return;
    const writer = writerOf(request);
    if (writer === 'operator') this.operatorLog.push(`${request.method} ${request.path}`);
    this.#counts.set(writer, (this.#counts.get(writer) ?? 0) + 1);
  }

  /** Writes so far, by writer. */
  snapshot(): Readonly<Partial<Record<Writer, number>>> {
    return Object.fromEntries(this.#counts);
  }
}

function writerOf(request: ServedRequest): Writer {
  const agent = request.userAgent;
  if (agent.startsWith('imring-operator'))
    return request.path.includes('/leases/') ? 'operator leader election' : 'operator';
  if (agent.startsWith('imring-gateway')) return 'gateway Leases';
  if (agent.startsWith('imring-proxy') || agent.startsWith('imring-push')) return 'proxy and push';
  if (agent.startsWith('virtual-kubelet')) return 'virtual kubelet';
  return 'cluster and bench';
}
