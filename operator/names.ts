/**
 * Names, labels and canonical addresses of what the operator owns for one IMGateway. The
 * canonical member address is built here and nowhere else (DESIGN.md section 4): every reader
 * dials what the ring document says, so no second format can ever exist.
 */
import { Labels, ringConfigMapName, type MemberPorts, type RingMember } from '../ring/index.js';

/** The IMGateway an object belongs to: `namespace/name` and uid. */
export interface GatewayKey {
  readonly namespace: string;
  readonly name: string;
}

/** The default cluster DNS domain. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** Labels of the operator's own objects (not part of the runtime contract). */
export const OperatorLabels = {
  /** On gateway pods: what they run. */
  appName: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Annotation on the ring ConfigMap: when the document's state last changed (RFC 3339, ms). */
export const TRANSITION_TIME_ANNOTATION = 'imring.dev/transition-time';

/**
 * Annotation on the gateway StatefulSet: a hash of the spec the operator last applied. A StatefulSet that differs
 * from the desired one while this still matches was changed by someone else (the operator reverts it, and says so).
 */
export const APPLIED_SPEC_ANNOTATION = 'imring.dev/applied-spec';

/** The StatefulSet and the PodDisruptionBudget are named like the IMGateway. */
export function statefulSetName(gateway: GatewayKey): string {
  return gateway.name;
}

/** The headless Service that gives members their DNS names. */
export function headlessServiceName(gateway: GatewayKey): string {
  return `${gateway.name}-headless`;
}

export function ringName(gateway: GatewayKey): string {
  return ringConfigMapName(gateway.name);
}

/** Member (pod) name of ordinal `i`. */
export function memberName(gateway: GatewayKey, ordinal: number): string {
  return `${gateway.name}-${ordinal}`;
}

/** The ordinal of member `name` of `gateway`, or undefined when it is not one of its pods' names. */
export function ordinalOf(gateway: GatewayKey, name: string): number | undefined {
  const prefix = `${gateway.name}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9][0-9]{0,5})$/.test(rest) ? Number(rest) : undefined;
}

/** The ring member of ordinal `i`: `<name>-<i>.<name>-headless.<namespace>.svc.<clusterDomain>`. */
export function canonicalMember(
  gateway: GatewayKey,
  ordinal: number,
  options: { ports: MemberPorts; clusterDomain: string },
): RingMember {
  const name = memberName(gateway, ordinal);
  return {
    name,
    host: `${name}.${headlessServiceName(gateway)}.${gateway.namespace}.svc.${options.clusterDomain}`,
    ports: { ws: options.ports.ws, grpc: options.ports.grpc },
  };
}

/** Labels that select the gateway pods of `gateway` (StatefulSet selector, Service, PDB). */
export function selectorLabels(gateway: GatewayKey): Record<string, string> {
  return { [Labels.gateway]: gateway.name, [OperatorLabels.appName]: 'imring-gateway' };
}

/** The selector as a string (status.selector, for the scale subresource and HPAs). */
export function selectorString(gateway: GatewayKey): string {
  return Object.entries(selectorLabels(gateway))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** `namespace/name`, the work queue key. */
export function keyOf(gateway: GatewayKey): string {
  return `${gateway.namespace}/${gateway.name}`;
}

/** The inverse of {@link keyOf}. */
export function parseKey(key: string): GatewayKey {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
