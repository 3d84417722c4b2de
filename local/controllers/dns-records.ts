import type { V1Pod, V1Service } from '@kubernetes/client-node';

/**
 * Cluster DNS as a hosts file, pure: Services and Pods in, `/etc/hosts` text out. The records
 * follow the Kubernetes DNS specification (github.com/kubernetes/dns, docs/specification.md)
 * as far as a hosts file can: A records only, no SRV, no PTR, no search domains.
 */

/** The cluster domain when none is given. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** One line of the hosts file: `ip name`. */
export interface HostRecord {
  readonly ip: string;
  readonly name: string;
}

/**
 * The records of the cluster:
 * - every ClusterIP Service with an address: `<svc>.<ns>.svc.<domain>` → its clusterIP (one
 *   record), the virtual address the service proxy listens on.
 * - every headless Service with a selector: `<svc>.<ns>.svc.<domain>` → each selected pod's IP,
 *   and `<hostname>.<svc>.<ns>.svc.<domain>` → the IP of each selected pod
 *   whose `spec.hostname` is set and `spec.subdomain` names the Service (StatefulSet pods).
 * A pod counts when it has `status.podIP`, is not terminal, and is Ready and not terminating —
 * or regardless of readiness when the Service sets `publishNotReadyAddresses`, as the
 * endpoints controller does. Sorted by name, then IP, without duplicates.
 */
export function hostRecords(
  services: readonly V1Service[],
  pods: readonly V1Pod[],
  domain: string = DEFAULT_CLUSTER_DOMAIN,
): HostRecord[] {
  const byNamespace = groupByNamespace(pods);
  const records = new Map<string, HostRecord>();
  for (const service of services) {
    const namespace = service.metadata?.namespace ?? 'default';
    for (const record of serviceRecords(service, byNamespace.get(namespace) ?? [], domain))
      records.set(`${record.name} ${record.ip}`, record);
  }
  return [...records.values()].sort(compareRecords);
}

/** The records of one Service, given the pods of its namespace. */
function serviceRecords(service: V1Service, pods: readonly V1Pod[], domain: string): HostRecord[] {
  const name = service.metadata?.name;
  if (!name) return [];
  const fqdn = `${name}.${service.metadata?.namespace ?? 'default'}.svc.${domain}`.toLowerCase();
  const clusterIP = service.spec?.clusterIP;
  const headless = clusterIP === 'None';
  if (!headless) return clusterIP && service.spec?.type !== 'ExternalName' ? [{ ip: clusterIP, name: fqdn }] : [];
  const selector = selectorOf(service);
  if (!selector) return [];
  const target: ServiceTarget = {
    name,
    fqdn,
    selector,
    headless,
    includeNotReady: service.spec?.publishNotReadyAddresses === true,
  };
  return pods.flatMap((pod) => podRecords(pod, target));
}

/** What of a Service decides its records. */
interface ServiceTarget {
  readonly name: string;
  readonly fqdn: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly headless: boolean;
  readonly includeNotReady: boolean;
}

function podRecords(pod: V1Pod, service: ServiceTarget): HostRecord[] {
  const ip = pod.status?.podIP;
  if (!ip || !matchesSelector(service.selector, pod.metadata?.labels) || !isServing(pod, service.includeNotReady))
    return [];
  const hostname = pod.spec?.hostname;
  const named = service.headless && hostname && pod.spec?.subdomain === service.name;
  return named
    ? [
        { ip, name: service.fqdn },
        { ip, name: `${hostname.toLowerCase()}.${service.fqdn}` },
      ]
    : [{ ip, name: service.fqdn }];
}

/** The selector of a Service that has endpoints by selector (not ExternalName, not empty). */
function selectorOf(service: V1Service): Record<string, string> | undefined {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0 || service.spec?.type === 'ExternalName') return undefined;
  return selector;
}

/** The hosts file: a comment header, then one `ip<TAB>name` line per record. */
export function hostsFileText(records: readonly HostRecord[], domain: string = DEFAULT_CLUSTER_DOMAIN): string {
  const header = [
    '# Cluster DNS of the local control plane, written by its DNS controller. Do not edit:',
    '# it is replaced whenever Services or Pods change.',
    `# Cluster domain: ${domain}. A ClusterIP Service name resolves to its virtual address, a`,
    "# headless Service name to its ready pods' addresses.",
  ];
  return [...header, ...records.map((r) => `${r.ip}\t${r.name}`), ''].join('\n');
}

/** Whether `pod` belongs in a Service's addresses (see {@link hostRecords}). */
export function isServing(pod: V1Pod, includeNotReady: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (includeNotReady) return true;
  if (pod.metadata?.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Equality-based Service selector: every key present with the same value. */
export function matchesSelector(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function groupByNamespace(pods: readonly V1Pod[]): Map<string, V1Pod[]> {
  const groups = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? 'default';
    const group = groups.get(namespace);
    if (group) group.push(pod);
    else groups.set(namespace, [pod]);
  }
  return groups;
}

function compareRecords(a: HostRecord, b: HostRecord): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0;
}
