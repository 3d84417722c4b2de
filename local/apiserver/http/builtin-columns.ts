/**
 * The table columns the real API server prints for the built-in kinds served here, column for
 * column and cell for cell (kubernetes/pkg/printers/internalversion/printers.go, which the server
 * always runs with `Wide: true`: kubectl hides the priority-1 columns unless `-o wide`).
 */
import type { KubeObject } from '../types.js';
import {
  AGE_DESCRIPTION,
  NAME_DESCRIPTION,
  ageColumn,
  at,
  column,
  list,
  nameColumn,
  num,
  orNone,
  rec,
  since,
  str,
  wide,
  type TableColumn,
} from './columns.js';
import { endpointSliceColumns, endpointsColumns } from './endpoint-columns.js';
import { hpaColumns } from './hpa-columns.js';
import { nodeColumns } from './node-columns.js';
import { podColumns } from './pod-columns.js';
import {
  controllerRevisionColumns,
  deploymentColumns,
  replicaSetColumns,
  templateContainers,
} from './workload-columns.js';

/** The columns for a built-in resource (`''` is the core group), or undefined if none are known. */
export function builtinColumns(group: string, plural: string): readonly TableColumn[] | undefined {
  return BUILTIN[`${plural}.${group}`];
}

// ---- the kinds ---------------------------------------------------------------------------------

const BUILTIN: Record<string, readonly TableColumn[]> = {
  'pods.': podColumns(),
  'nodes.': nodeColumns(),
  'statefulsets.apps': [
    nameColumn(),
    column(
      { name: 'Ready', description: 'Number of the pod with ready state' },
      (o) => `${num(at(o, 'status', 'readyReplicas'))}/${num(at(o, 'spec', 'replicas'))}`,
    ),
    ageColumn(),
    wide('Containers', 'Names of each container in the template.', (o) => templateContainers(o, 'name')),
    wide('Images', 'Images referenced by each container in the template.', (o) => templateContainers(o, 'image')),
  ],
  'deployments.apps': deploymentColumns(),
  'horizontalpodautoscalers.autoscaling': hpaColumns(),
  'replicasets.apps': replicaSetColumns(),
  'controllerrevisions.apps': controllerRevisionColumns(),
  'services.': serviceColumns(),
  'endpoints.': endpointsColumns(),
  'endpointslices.discovery.k8s.io': endpointSliceColumns(),
  'configmaps.': [
    nameColumn(),
    column(
      {
        name: 'Data',
        type: 'integer',
        description:
          "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
      },
      (o) => Object.keys(rec(o['data'])).length + Object.keys(rec(o['binaryData'])).length,
    ),
    ageColumn(),
  ],
  'secrets.': [
    nameColumn(),
    column(
      {
        name: 'Type',
        description:
          'Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types',
      },
      (o) => str(o['type']),
    ),
    column(
      {
        name: 'Data',
        type: 'integer',
        description:
          "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4",
      },
      (o) => Object.keys(rec(o['data'])).length,
    ),
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
    column(
      {
        name: 'Holder',
        description:
          'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.',
      },
      (o) => str(at(o, 'spec', 'holderIdentity')),
    ),
    ageColumn(),
  ],
  'poddisruptionbudgets.policy': [
    nameColumn(),
    column({ name: 'Min Available', description: 'The minimum number of pods that must be available.' }, (o) =>
      naOr(at(o, 'spec', 'minAvailable')),
    ),
    column({ name: 'Max Unavailable', description: 'The maximum number of pods that may be unavailable.' }, (o) =>
      naOr(at(o, 'spec', 'maxUnavailable')),
    ),
    column(
      {
        name: 'Allowed Disruptions',
        type: 'integer',
        description: 'Calculated number of pods that may be disrupted at this time.',
      },
      (o) => num(at(o, 'status', 'disruptionsAllowed')),
    ),
    ageColumn(),
  ],
  'serviceaccounts.': [
    nameColumn(),
    column(
      {
        name: 'Secrets',
        type: 'integer',
        description:
          'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.',
      },
      (o) => list(o['secrets']).length,
    ),
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

function serviceColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column({ name: 'Type', description: 'type determines how the Service is exposed.' }, (o) =>
      str(at(o, 'spec', 'type')),
    ),
    column({ name: 'Cluster-IP', description: 'clusterIP is the IP address of the service.' }, (o) =>
      orNone(str(list(at(o, 'spec', 'clusterIPs'))[0]) || str(at(o, 'spec', 'clusterIP'))),
    ),
    column(
      {
        name: 'External-IP',
        description:
          'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
      },
      serviceExternalIP,
    ),
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
      const ingress = list(at(o, 'status', 'loadBalancer', 'ingress')).map(
        (i) => str(rec(i)['ip']) || str(rec(i)['hostname']),
      );
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
    column(
      { name: 'Last Seen', description: 'The time at which the most recent occurrence of this event was recorded.' },
      eventLastSeen,
    ),
    column(
      { name: 'Type', description: 'Type of this event (Normal, Warning), new types could be added in the future' },
      (o) => str(o['type']),
    ),
    column(
      {
        name: 'Reason',
        description:
          "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
      },
      (o) => str(o['reason']),
    ),
    column({ name: 'Object', description: 'The object that this event is about.' }, eventTarget),
    wide(
      'Subobject',
      'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].',
      (o) => str(at(o, 'involvedObject', 'fieldPath')),
    ),
    wide('Source', 'The component reporting this event. Should be a short machine understandable string.', eventSource),
    column({ name: 'Message', description: 'A human-readable description of the status of this operation.' }, (o) =>
      (str(o['message']) || str(o['note'])).trim(),
    ),
    wide(
      'First Seen',
      'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)',
      eventFirstSeen,
    ),
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

/** labels.FormatLabels / SelectorFromSet: `k=v` pairs sorted by key, comma-joined. */
function formatLabels(value: unknown): string {
  const entries = Object.entries(rec(value)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([k, v]) => `${k}=${str(v)}`).join(',');
}

/** intstr.IntOrString.String(). */
function intOrString(value: unknown): string {
  return typeof value === 'number' ? String(value) : str(value);
}
