/**
 * The table columns the real API server prints for the built-in kinds served here, column for
 * column and cell for cell (kubernetes/pkg/printers/internalversion/printers.go, which the server
 * always runs with `Wide: true`: kubectl hides the priority-1 columns unless `-o wide`).
 */
import type { KubeObject } from '../types.js';

/** One `meta/v1 TableColumnDefinition`. */
export interface ColumnDefinition {
  readonly name: string;
  readonly type: string;
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

/** A column: its definition and how to compute its cell from an object at a given time. */
export interface TableColumn {
  readonly definition: ColumnDefinition;
  readonly cell: (object: KubeObject, now: Date) => unknown;
}

/** metav1.ObjectMeta's swagger text for `name` (the Name column's description everywhere). */
export const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';

/** metav1.ObjectMeta's swagger text for `creationTimestamp` (the Age column's description). */
export const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

/** The columns for a built-in resource (`''` is the core group), or undefined if none are known. */
export function builtinColumns(group: string, plural: string): readonly TableColumn[] | undefined {
  return BUILTIN[`${plural}.${group}`];
}

/** `Name` (format `name`): what every table starts with. */
export function nameColumn(): TableColumn {
  return column({ name: 'Name', format: 'name', description: NAME_DESCRIPTION }, (o) => o.metadata?.name ?? '');
}

/** `Age`: the creation time as `HumanDuration` since now, `<unknown>` when unset (printers.go translateTimestampSince). */
export function ageColumn(): TableColumn {
  return column({ name: 'Age', description: AGE_DESCRIPTION }, (o, now) => since(o.metadata?.creationTimestamp, now));
}

/** `HumanDuration(now - timestamp)`, `<unknown>` for a missing or unparsable timestamp. */
export function since(timestamp: unknown, now: Date): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

type Cell = (o: KubeObject, now: Date) => unknown;

function column(def: Partial<ColumnDefinition> & { name: string }, cell: Cell): TableColumn {
  return {
    definition: { type: 'string', format: '', description: '', priority: 0, ...def },
    cell,
  };
}

function wide(name: string, description: string, cell: Cell): TableColumn {
  return column({ name, description, priority: 1 }, cell);
}

// ---- untyped access -------------------------------------------------------------------------

function rec(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function at(o: unknown, ...path: string[]): unknown {
  let v = o;
  for (const key of path) v = rec(v)[key];
  return v;
}

function orNone(s: string): string {
  return s === '' ? '<none>' : s;
}

/** labels.FormatLabels / SelectorFromSet: `k=v` pairs sorted by key, comma-joined. */
function formatLabels(value: unknown): string {
  const entries = Object.entries(rec(value)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([k, v]) => `${k}=${str(v)}`).join(',');
}

/** intstr.IntOrString.String(). */
function intOrString(value: unknown): string {
  return typeof value === 'number' ? String(value) : str(value);
}

// ---- the kinds ---------------------------------------------------------------------------------

const BUILTIN: Record<string, readonly TableColumn[]> = {
  'pods.': podColumns(),
  'statefulsets.apps': [
    nameColumn(),
    column({ name: 'Ready', description: 'Number of the pod with ready state' }, (o) =>
      `${num(at(o, 'status', 'readyReplicas'))}/${num(at(o, 'spec', 'replicas'))}`,
    ),
    ageColumn(),
    wide('Containers', 'Names of each container in the template.', (o) => templateContainers(o, 'name')),
    wide('Images', 'Images referenced by each container in the template.', (o) => templateContainers(o, 'image')),
  ],
  'services.': serviceColumns(),
  'configmaps.': [
    nameColumn(),
    column({ name: 'Data', type: 'integer', description: 'Data contains the configuration data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.' }, (o) =>
      Object.keys(rec(o['data'])).length + Object.keys(rec(o['binaryData'])).length,
    ),
    ageColumn(),
  ],
  'secrets.': [
    nameColumn(),
    column({ name: 'Type', description: 'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types' }, (o) => str(o['type'])),
    column({ name: 'Data', type: 'integer', description: 'Data contains the secret data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4' }, (o) => Object.keys(rec(o['data'])).length),
    ageColumn(),
  ],
  'namespaces.': [
    nameColumn(),
    column({ name: 'Status', description: 'The status of the namespace' }, (o) => str(at(o, 'status', 'phase'))),
    ageColumn(),
  ],
  'events.': eventColumns(),
  'events.events.k8s.io': eventColumns(),
  'leases.coordination.k8s.io': [
    nameColumn(),
    column({ name: 'Holder', description: 'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.' }, (o) => str(at(o, 'spec', 'holderIdentity'))),
    ageColumn(),
  ],
  'poddisruptionbudgets.policy': [
    nameColumn(),
    column({ name: 'Min Available', description: 'The minimum number of pods that must be available.' }, (o) => naOr(at(o, 'spec', 'minAvailable'))),
    column({ name: 'Max Unavailable', description: 'The maximum number of pods that may be unavailable.' }, (o) => naOr(at(o, 'spec', 'maxUnavailable'))),
    column({ name: 'Allowed Disruptions', type: 'integer', description: 'Calculated number of pods that may be disrupted at this time.' }, (o) => num(at(o, 'status', 'disruptionsAllowed'))),
    ageColumn(),
  ],
  'serviceaccounts.': [
    nameColumn(),
    column({ name: 'Secrets', type: 'integer', description: 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.' }, (o) => list(o['secrets']).length),
    ageColumn(),
  ],
  // CRDs have no printer in printers.go: the server's default table convertor prints these two.
  'customresourcedefinitions.apiextensions.k8s.io': defaultColumns(),
};

/** rest.NewDefaultTableConvertor: `Name` and `Created At` (RFC 3339 UTC, seconds). */
export function defaultColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column({ name: 'Created At', type: 'date', description: AGE_DESCRIPTION }, (o) => {
      const t = Date.parse(str(o.metadata?.creationTimestamp));
      // Go formats the zero time.Time as 0001-01-01T00:00:00Z.
      return Number.isNaN(t) ? '0001-01-01T00:00:00Z' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }),
  ];
}

function naOr(value: unknown): string {
  return value === undefined || value === null ? 'N/A' : intOrString(value);
}

function templateContainers(o: KubeObject, field: 'name' | 'image'): string {
  return list(at(o, 'spec', 'template', 'spec', 'containers'))
    .map((c) => str(rec(c)[field]))
    .join(',');
}

function serviceColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column({ name: 'Type', description: 'type determines how the Service is exposed.' }, (o) => str(at(o, 'spec', 'type'))),
    column({ name: 'Cluster-IP', description: 'clusterIP is the IP address of the service.' }, (o) =>
      orNone(str(list(at(o, 'spec', 'clusterIPs'))[0]) || str(at(o, 'spec', 'clusterIP'))),
    ),
    column({ name: 'External-IP', description: 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.' }, serviceExternalIP),
    column({ name: 'Port(s)', description: 'The list of ports that are exposed by this service.' }, servicePorts),
    ageColumn(),
    wide('Selector', 'Route service traffic to pods with label keys and values matching this selector.', (o) =>
      orNone(formatLabels(at(o, 'spec', 'selector'))),
    ),
  ];
}

/** printers.go getServiceExternalIP (wide form). */
function serviceExternalIP(o: KubeObject): string {
  const spec = rec(o['spec']);
  const external = list(spec['externalIPs']).map(str);
  switch (str(spec['type'])) {
    case 'ExternalName':
      return str(spec['externalName']);
    case 'LoadBalancer': {
      const ingress = list(at(o, 'status', 'loadBalancer', 'ingress')).map((i) => str(rec(i)['ip']) || str(rec(i)['hostname']));
      const all = [...ingress.filter((s) => s !== ''), ...external];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    default:
      return external.length > 0 ? external.join(',') : '<none>';
  }
}

/** printers.go makePortString: `80/TCP`, `80:30080/TCP`, comma-joined. */
function servicePorts(o: KubeObject): string {
  const ports = list(at(o, 'spec', 'ports')).map((p) => {
    const port = rec(p);
    const protocol = str(port['protocol']) || 'TCP';
    const nodePort = num(port['nodePort']);
    return nodePort > 0 ? `${num(port['port'])}:${nodePort}/${protocol}` : `${num(port['port'])}/${protocol}`;
  });
  return orNone(ports.join(','));
}

function eventColumns(): readonly TableColumn[] {
  return [
    column({ name: 'Last Seen', description: 'The time at which the most recent occurrence of this event was recorded.' }, eventLastSeen),
    column({ name: 'Type', description: 'Type of this event (Normal, Warning), new types could be added in the future' }, (o) => str(o['type'])),
    column({ name: 'Reason', description: 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.' }, (o) => str(o['reason'])),
    column({ name: 'Object', description: 'The object that this event is about.' }, eventTarget),
    wide('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].', (o) => str(at(o, 'involvedObject', 'fieldPath'))),
    wide('Source', 'The component reporting this event. Should be a short machine understandable string.', eventSource),
    column({ name: 'Message', description: 'A human-readable description of the status of this operation.' }, (o) => (str(o['message']) || str(o['note'])).trim()),
    wide('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', eventFirstSeen),
    wide('Count', 'The number of times this event has occurred.', eventCount),
    column({ name: 'Name', format: 'name', description: NAME_DESCRIPTION, priority: 1 }, (o) => o.metadata?.name ?? ''),
  ];
}

function eventFirstSeen(o: KubeObject, now: Date): string {
  const first = str(o['firstTimestamp']) || str(at(o, 'deprecatedFirstTimestamp'));
  return first !== '' ? since(first, now) : since(o['eventTime'], now);
}

function eventLastSeen(o: KubeObject, now: Date): string {
  const series = o['series'];
  if (series !== undefined && series !== null) return since(rec(series)['lastObservedTime'], now);
  const last = str(o['lastTimestamp']) || str(o['deprecatedLastTimestamp']);
  return last !== '' ? since(last, now) : eventFirstSeen(o, now);
}

function eventCount(o: KubeObject): number {
  const series = o['series'];
  if (series !== undefined && series !== null) return num(rec(series)['count']);
  const count = num(o['count']) || num(o['deprecatedCount']);
  // Singleton events of the new API carry no count.
  return count === 0 ? 1 : count;
}

function eventTarget(o: KubeObject): string {
  const involved = rec(o['involvedObject'] ?? o['regarding']);
  const kind = str(involved['kind']).toLowerCase();
  const name = str(involved['name']);
  return name === '' ? kind : `${kind}/${name}`;
}

function eventSource(o: KubeObject): string {
  const source = rec(o['source'] ?? o['deprecatedSource']);
  const component = str(source['component']) || str(o['reportingController']);
  const host = str(source['host']) || str(o['reportingInstance']);
  return host === '' ? component : `${component}, ${host}`;
}

function podColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column({ name: 'Ready', description: 'The aggregate readiness state of this pod for accepting traffic.' }, (o) => podSummary(o).ready),
    column({ name: 'Status', description: 'The aggregate status of the containers in this pod.' }, (o) => podSummary(o).reason),
    column({ name: 'Restarts', description: 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.' }, (o, now) => podRestarts(o, now)),
    ageColumn(),
    wide('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', (o) => orNone(str(at(o, 'status', 'podIP')))),
    wide('Node', 'NodeName indicates in which node this pod is scheduled.', (o) => orNone(str(at(o, 'spec', 'nodeName')))),
    wide('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node.', (o) => orNone(str(at(o, 'status', 'nominatedNodeName')))),
    wide('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', podReadinessGates),
  ];
}


function podReadinessGates(o: KubeObject): string {
  const gates = list(at(o, 'spec', 'readinessGates')).map((g) => str(rec(g)['conditionType']));
  if (gates.length === 0) return '<none>';
  const conditions = list(at(o, 'status', 'conditions')).map(rec);
  const met = gates.filter((g) => conditions.some((c) => c['type'] === g && c['status'] === 'True')).length;
  return `${met}/${gates.length}`;
}

interface PodSummary {
  readonly ready: string;
  readonly reason: string;
  readonly restarts: number;
  /** Epoch ms of the latest `lastState.terminated.finishedAt`, 0 if none. */
  readonly lastRestart: number;
}

/** printers.go printPod's READY and STATUS logic (sidecar init containers counted as plain ones). */
function podSummary(o: KubeObject): PodSummary {
  const status = rec(o['status']);
  let reason = str(status['reason']) || str(status['phase']);
  const conditions = list(status['conditions']).map(rec);
  if (conditions.some((c) => c['type'] === 'PodScheduled' && c['reason'] === 'SchedulingGated')) reason = 'SchedulingGated';
  const init = initReason(o);
  const initialized = conditions.some((c) => c['type'] === 'Initialized' && c['status'] === 'True');
  let summary = { ready: 0, reason: init.reason ?? reason, restarts: init.restarts, lastRestart: init.lastRestart };
  if (init.reason === undefined || initialized) summary = containersSummary(list(status['containerStatuses']).map(rec), reason, conditions);
  const total = list(at(o, 'spec', 'containers')).length;
  return { ...summary, ready: `${summary.ready}/${total}`, reason: terminating(o, summary.reason) };
}

function terminating(o: KubeObject, reason: string): string {
  if (o.metadata?.deletionTimestamp === undefined) return reason;
  if (str(at(o, 'status', 'reason')) === 'NodeLost') return 'Unknown';
  const phase = str(at(o, 'status', 'phase'));
  return phase === 'Succeeded' || phase === 'Failed' ? reason : 'Terminating';
}

function initReason(o: KubeObject): { reason: string | undefined; restarts: number; lastRestart: number } {
  const statuses = list(at(o, 'status', 'initContainerStatuses')).map(rec);
  const total = list(at(o, 'spec', 'initContainers')).length;
  let restarts = 0;
  let lastRestart = 0;
  for (const [i, s] of statuses.entries()) {
    restarts += num(s['restartCount']);
    lastRestart = Math.max(lastRestart, finishedAt(s));
    const terminated = at(s, 'state', 'terminated');
    const waiting = str(at(s, 'state', 'waiting', 'reason'));
    if (terminated !== undefined && num(rec(terminated)['exitCode']) === 0) continue;
    if (terminated !== undefined) return { reason: `Init:${terminatedReason(rec(terminated))}`, restarts, lastRestart };
    if (waiting !== '' && waiting !== 'PodInitializing') return { reason: `Init:${waiting}`, restarts, lastRestart };
    return { reason: `Init:${i}/${total}`, restarts, lastRestart };
  }
  return { reason: undefined, restarts, lastRestart };
}

function terminatedReason(t: Record<string, unknown>): string {
  if (str(t['reason']) !== '') return str(t['reason']);
  return num(t['signal']) !== 0 ? `Signal:${num(t['signal'])}` : `ExitCode:${num(t['exitCode'])}`;
}

function finishedAt(s: Record<string, unknown>): number {
  const t = Date.parse(str(at(s, 'lastState', 'terminated', 'finishedAt')));
  return Number.isNaN(t) ? 0 : t;
}

function containersSummary(statuses: Record<string, unknown>[], phaseReason: string, conditions: Record<string, unknown>[]) {
  let reason = phaseReason;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let hasRunning = false;
  for (const s of [...statuses].reverse()) {
    restarts += num(s['restartCount']);
    lastRestart = Math.max(lastRestart, finishedAt(s));
    const waiting = str(at(s, 'state', 'waiting', 'reason'));
    const terminated = at(s, 'state', 'terminated');
    if (waiting !== '') reason = waiting;
    else if (terminated !== undefined) reason = terminatedReason(rec(terminated));
    else if (s['ready'] === true && at(s, 'state', 'running') !== undefined) {
      hasRunning = true;
      ready++;
    }
  }
  if (reason === 'Completed' && hasRunning) {
    reason = conditions.some((c) => c['type'] === 'Ready' && c['status'] === 'True') ? 'Running' : 'NotReady';
  }
  return { ready, reason, restarts, lastRestart };
}

function podRestarts(o: KubeObject, now: Date): string {
  const { restarts, lastRestart } = podSummary(o);
  return restarts !== 0 && lastRestart !== 0 ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)` : String(restarts);
}

/**
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration: `<invalid>` below -1 s (clock skew),
 * `0s` for -1 s, then `119s`, `2m5s`, `9m59s`, `10m`, `179m`, `3h`, `7h59m`, `8h`, `47h`, `2d`,
 * `7d23h`, `8d`, `729d`, `2y`, `7y364d`, `8y`. Truncates toward zero like Go's integer division.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return withRest(minutes, 'm', seconds % 60, 's');
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return withRest(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return withRest(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return withRest(years, 'y', days % 365, 'd');
  return `${years}y`;
}

function withRest(value: number, unit: string, rest: number, restUnit: string): string {
  return rest === 0 ? `${value}${unit}` : `${value}${unit}${rest}${restUnit}`;
}
