import type { V1Lease } from '@kubernetes/client-node';
import {
  Labels,
  LEASE_DURATION_SECONDS,
  parseLeaseAnnotations,
  parseRingDocument,
  Ring,
  RingAcceptanceCode,
  RING_DATA_KEY,
  type RingDocument,
  type RuntimeComponent,
} from '../ring/index.js';

/**
 * What `imring status` shows, computed from what it read (pure: no I/O, the clock passed in),
 * and its text forms. The JSON form (`-o json`) is {@link StatusView} itself.
 */

/** A metav1.Condition as the IMGateway status carries it (/work/briefs: status.conditions). */
export interface GatewayCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

/** The parts of an IMGateway that status reads. */
export interface IMGatewayObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly phase?: string;
    readonly replicas?: number;
    readonly readyReplicas?: number;
    readonly conditions?: readonly GatewayCondition[];
  };
}

/** The ring ConfigMap as read: absent, refused (with the reason), or a valid document. */
export type RingObservation =
  | { readonly kind: 'missing'; readonly configMap: string }
  | { readonly kind: 'refused'; readonly configMap: string; readonly error: CodedError }
  | { readonly kind: 'ok'; readonly configMap: string; readonly document: RingDocument };

export interface CodedError {
  readonly code: string;
  readonly message: string;
}

/** One runtime Lease, decoded. Values the runtime did not report (or garbled) are null. */
export interface LeaseReport {
  readonly lease: string;
  readonly component: string;
  /** The holder: the runtime's pod (for gateways, the member name). */
  readonly pod: string;
  /** `renewTime + leaseDurationSeconds > now`. */
  readonly live: boolean;
  readonly ringVersion: number | null;
  readonly ringState: string | null;
  readonly connections: number | null;
  readonly misplaced: number | null;
  readonly ringError: string | null;
}

export interface MemberView {
  readonly name: string;
  readonly host: string;
  readonly ports: { readonly ws: number; readonly grpc: number };
  /** Fraction of the Maglev table this member owns (0..1). */
  readonly share: number;
  /** From the member's live gateway Lease; null without one. */
  readonly connections: number | null;
  readonly misplaced: number | null;
}

export interface RingView {
  readonly configMap: string;
  readonly status: 'ok' | 'missing' | 'refused';
  readonly error: CodedError | null;
  readonly version: number | null;
  readonly state: string | null;
  readonly previous: { readonly version: number; readonly members: readonly string[] } | null;
  readonly checksum: string | null;
  readonly tableSize: number | null;
  readonly members: readonly MemberView[];
}

/** Live runtimes of one component that serve the ring's version, out of all live ones. */
export interface AckView {
  readonly acked: number;
  readonly live: number;
  /** Live runtimes on another version (or none yet), by pod. */
  readonly laggards: readonly { readonly pod: string; readonly version: number | null }[];
}

export interface StatusView {
  readonly gateway: string;
  readonly namespace: string;
  /** Where phase and conditions come from: the IMGateway, or (without one) nothing but the ConfigMap. */
  readonly source: 'IMGateway' | 'ConfigMap';
  readonly phase: string | null;
  readonly replicas: { readonly desired: number | null; readonly ready: number | null } | null;
  readonly conditions: readonly GatewayCondition[];
  readonly ring: RingView;
  /** Null when there is no valid ring to acknowledge. */
  readonly acknowledged: Readonly<Record<RuntimeComponent, AckView>> | null;
  /** Live Leases that report a refused ring document. */
  readonly ringErrors: readonly { readonly lease: string; readonly error: string }[];
  /** Sum of `misplaced` over live gateway Leases. */
  readonly misplacedConnections: number;
  readonly leases: readonly LeaseReport[];
}

export interface StatusInput {
  readonly gateway: string;
  readonly namespace: string;
  /** Undefined when there is no IMGateway (or no CRD). */
  readonly imGateway?: IMGatewayObject | undefined;
  readonly ring: RingObservation;
  readonly leases: readonly V1Lease[];
  /** Wall clock, ms since the epoch. */
  readonly now: number;
}

const COMPONENTS: readonly RuntimeComponent[] = ['gateway', 'proxy', 'push'];

/** Reads a ring ConfigMap's `ring.json` (RING-SPEC.md section 5); never throws. */
export function observeRing(
  configMap: string,
  data: Readonly<Record<string, string>> | undefined | null,
): Exclude<RingObservation, { kind: 'missing' }> {
  const text = data?.[RING_DATA_KEY];
  if (typeof text !== 'string') {
    return {
      kind: 'refused',
      configMap,
      error: { code: RingAcceptanceCode.MissingDocument, message: `the ConfigMap has no "${RING_DATA_KEY}" text` },
    };
  }
  const parsed = parseRingDocument(text);
  if (!parsed.ok)
    return { kind: 'refused', configMap, error: { code: parsed.error.code, message: parsed.error.message } };
  return { kind: 'ok', configMap, document: parsed.document };
}

/** Decodes a runtime Lease (labels and annotations of ring/contract.ts). */
export function leaseReport(lease: V1Lease, now: number): LeaseReport {
  const meta = lease.metadata ?? {};
  const spec = lease.spec ?? {};
  const report = parseLeaseAnnotations(meta.annotations);
  const name = meta.name ?? '';
  return {
    lease: name,
    component: meta.labels?.[Labels.component] ?? '',
    pod: spec.holderIdentity || name,
    live: isLive(spec, now),
    ringVersion: report.version ?? null,
    ringState: report.state ?? null,
    connections: report.connections ?? null,
    misplaced: report.misplaced ?? null,
    ringError: report.ringError ?? null,
  };
}

/** A Lease is live while `renewTime + leaseDurationSeconds` is ahead of `now` (DESIGN.md section 6). */
function isLive(spec: NonNullable<V1Lease['spec']>, now: number): boolean {
  const renewed = toMillis(spec.renewTime);
  const durationMs = (spec.leaseDurationSeconds ?? LEASE_DURATION_SECONDS) * 1000;
  return renewed !== undefined && renewed + durationMs > now;
}

/** Everything status shows about one gateway. */
export function statusView(input: StatusInput): StatusView {
  const leases = input.leases.map((l) => leaseReport(l, input.now)).sort((a, b) => compareText(a.lease, b.lease));
  const live = leases.filter((l) => l.live);
  const status = input.imGateway?.status;
  const version = input.ring.kind === 'ok' ? input.ring.document.version : null;
  return {
    gateway: input.gateway,
    namespace: input.namespace,
    source: input.imGateway ? 'IMGateway' : 'ConfigMap',
    phase: status?.phase ?? null,
    replicas: input.imGateway
      ? { desired: input.imGateway.spec?.replicas ?? null, ready: status?.readyReplicas ?? null }
      : null,
    conditions: (status?.conditions ?? []).map((c) => ({ ...c })),
    ring: ringView(input.ring, live),
    acknowledged: version === null ? null : acknowledgements(live, version),
    ringErrors: live.filter((l) => l.ringError !== null).map((l) => ({ lease: l.lease, error: l.ringError! })),
    misplacedConnections: live.filter((l) => l.component === 'gateway').reduce((sum, l) => sum + (l.misplaced ?? 0), 0),
    leases,
  };
}

/** Acknowledgements by component: live runtimes serving `version` (or a newer one) out of all live ones. */
export function acknowledgements(live: readonly LeaseReport[], version: number): Record<RuntimeComponent, AckView> {
  const out = {} as Record<RuntimeComponent, AckView>;
  for (const component of COMPONENTS) {
    const mine = live.filter((l) => l.component === component);
    // As the operator's barrier counts them (operator/transition.ts): serving this version or a newer one.
    const laggards = mine
      .filter((l) => (l.ringVersion ?? 0) < version)
      .map((l) => ({ pod: l.pod, version: l.ringVersion }));
    out[component] = { acked: mine.length - laggards.length, live: mine.length, laggards };
  }
  return out;
}

/** The detailed text of one gateway. */
export function formatStatus(view: StatusView): string {
  const out: string[] = [];
  const where = view.source === 'IMGateway' ? '' : ` (no IMGateway; from ConfigMap ${view.ring.configMap})`;
  out.push(`Gateway:      ${view.namespace}/${view.gateway}${where}`);
  if (view.source === 'IMGateway') {
    out.push(`Phase:        ${view.phase ?? '-'}`);
    out.push(`Replicas:     ${orDash(view.replicas?.desired)} desired, ${orDash(view.replicas?.ready)} ready`);
  }
  if (view.conditions.length > 0) {
    out.push('Conditions:');
    const rows = view.conditions.map((c) => [c.type, c.status, c.reason || '-', c.message || '']);
    out.push(...formatTable([['TYPE', 'STATUS', 'REASON', 'MESSAGE'], ...rows], '  '));
  }
  out.push(...ringLines(view));
  if (view.ringErrors.length > 0) {
    out.push('Ring errors on Leases:');
    out.push(
      ...formatTable(
        view.ringErrors.map((e) => [e.lease, e.error]),
        '  ',
      ),
    );
  }
  out.push(`Misplaced connections: ${view.misplacedConnections}`);
  return `${out.join('\n')}\n`;
}

/** One line per gateway, under a header. */
export function formatSummary(views: readonly StatusView[]): string {
  const header = ['NAME', 'PHASE', 'RING', 'STATE', 'MEMBERS', 'GATEWAY', 'PROXY', 'PUSH', 'MISPLACED', 'RING-ERRORS'];
  const rows = views.map((v) => [
    v.gateway,
    v.phase ?? '-',
    orDash(v.ring.version),
    v.ring.status === 'ok' ? v.ring.state! : v.ring.status,
    v.ring.status === 'ok' ? String(v.ring.members.length) : '-',
    ...COMPONENTS.map((c) => (v.acknowledged ? ratio(v.acknowledged[c]) : '-')),
    String(v.misplacedConnections),
    String(v.ringErrors.length),
  ]);
  return `${formatTable([header, ...rows]).join('\n')}\n`;
}

/**
 * Aligns `rows` in columns two spaces apart (the last column unpadded), each line prefixed
 * with `indent`.
 */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

function ringView(observed: RingObservation, live: readonly LeaseReport[]): RingView {
  const empty = {
    configMap: observed.configMap,
    version: null,
    state: null,
    previous: null,
    checksum: null,
    tableSize: null,
    members: [],
  };
  if (observed.kind === 'missing') return { ...empty, status: 'missing', error: null };
  if (observed.kind === 'refused') return { ...empty, status: 'refused', error: observed.error };
  const document = observed.document;
  const ring = Ring.fromDocument(document);
  const gateways = new Map(live.filter((l) => l.component === 'gateway').map((l) => [l.pod, l]));
  return {
    configMap: observed.configMap,
    status: 'ok',
    error: null,
    version: document.version,
    state: document.state,
    previous: document.previous && {
      version: document.previous.version,
      members: document.previous.members.map((m) => m.name),
    },
    checksum: document.checksum,
    tableSize: document.algorithm.tableSize,
    members: ring.members.map((m) => ({
      name: m.name,
      host: m.host,
      ports: { ws: m.ports.ws, grpc: m.ports.grpc },
      share: ring.shareOf(m.name),
      connections: gateways.get(m.name)?.connections ?? null,
      misplaced: gateways.get(m.name)?.misplaced ?? null,
    })),
  };
}

function ringLines(view: StatusView): string[] {
  const ring = view.ring;
  if (ring.status === 'missing') return [`Ring:         ConfigMap ${ring.configMap} not found`];
  if (ring.status === 'refused')
    return [`Ring:         ConfigMap ${ring.configMap} refused: ${ring.error!.code}: ${ring.error!.message}`];
  const out = [
    `Ring:         version ${ring.version}, ${ring.state} (ConfigMap ${ring.configMap}, table ${ring.tableSize})`,
  ];
  out.push(
    `Previous:     ${ring.previous ? `version ${ring.previous.version}: ${ring.previous.members.join(' ') || '(no members)'}` : '-'}`,
  );
  out.push(`Checksum:     ${ring.checksum}`);
  out.push(`Members:      ${ring.members.length}`);
  const rows = ring.members.map((m) => [
    m.name,
    m.host,
    String(m.ports.ws),
    String(m.ports.grpc),
    percent(m.share),
    orDash(m.connections),
    orDash(m.misplaced),
  ]);
  if (rows.length > 0)
    out.push(...formatTable([['NAME', 'HOST', 'WS', 'GRPC', 'SHARE', 'CONNECTIONS', 'MISPLACED'], ...rows], '  '));
  out.push(`Acknowledged: version ${ring.version}`);
  const acks = COMPONENTS.map((c) => {
    const ack = view.acknowledged![c];
    const laggards = ack.laggards.map((l) => `${l.pod} (${l.version === null ? 'no ring' : `v${l.version}`})`);
    return [c, ratio(ack), laggards.length > 0 ? `laggards: ${laggards.join(', ')}` : ''];
  });
  out.push(...formatTable(acks, '  '));
  return out;
}

function toMillis(time: Date | string | undefined): number | undefined {
  if (time === undefined || time === null) return undefined;
  const ms = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(ms) ? undefined : ms;
}

function ratio(ack: AckView): string {
  return `${ack.acked}/${ack.live}`;
}

function percent(share: number): string {
  return `${(share * 100).toFixed(2)}%`;
}

function orDash(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : String(value);
}

/** Code-point order, so output does not depend on the locale. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
