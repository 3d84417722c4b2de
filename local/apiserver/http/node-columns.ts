/**
 * The node table, as printers.go printNode prints it: STATUS from the Ready condition (with
 * `SchedulingDisabled` when cordoned), ROLES from the `node-role.kubernetes.io/<role>` labels,
 * and with `-o wide` the addresses and what `status.nodeInfo` reports.
 */
import type { KubeObject } from '../types.js';
import { ageColumn, at, column, list, nameColumn, rec, str, wide, type TableColumn } from './columns.js';

/** The node table's columns. */
export function nodeColumns(): readonly TableColumn[] {
  const info = (field: string) => (o: KubeObject) => str(at(o, 'status', 'nodeInfo', field)) || '<unknown>';
  return [
    nameColumn(),
    column({ name: 'Status', description: 'The status of the node' }, nodeStatus),
    column({ name: 'Roles', description: 'The roles of the node' }, nodeRoles),
    ageColumn(),
    column({ name: 'Version', description: 'Kubelet Version reported by the node.' }, (o) =>
      str(at(o, 'status', 'nodeInfo', 'kubeletVersion')),
    ),
    wide('Internal-IP', 'List of internal IPs.', (o) => address(o, 'InternalIP')),
    wide('External-IP', 'List of external IPs.', (o) => address(o, 'ExternalIP')),
    wide(
      'OS-Image',
      'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).',
      info('osImage'),
    ),
    wide(
      'Kernel-Version',
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      info('kernelVersion'),
    ),
    wide(
      'Container-Runtime',
      'Container Runtime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).',
      info('containerRuntimeVersion'),
    ),
  ];
}

function nodeStatus(o: KubeObject): string {
  const conditions = list(at(o, 'status', 'conditions')).map(rec);
  const ready = conditions.find((c) => c['type'] === 'Ready');
  const states = [ready === undefined ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : 'NotReady'];
  if (at(o, 'spec', 'unschedulable') === true) states.push('SchedulingDisabled');
  return states.join(',');
}

function nodeRoles(o: KubeObject): string {
  const roles = Object.keys(o.metadata?.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter((r) => r !== '');
  return roles.length > 0 ? roles.sort().join(',') : '<none>';
}

function address(o: KubeObject, type: string): string {
  const found = list(at(o, 'status', 'addresses'))
    .map(rec)
    .filter((a) => a['type'] === type)
    .map((a) => str(a['address']));
  return found.length > 0 ? found.join(',') : '<none>';
}
