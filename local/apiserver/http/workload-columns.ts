/**
 * The table columns of Deployments, ReplicaSets and ControllerRevisions, as printers.go prints
 * them (printDeployment, printReplicaSet, printControllerRevision).
 */
import type { KubeObject } from '../types.js';
import { labelSelectorToString } from '../store/selectors.js';
import { ageColumn, at, column, list, nameColumn, num, rec, str, wide, type TableColumn } from './columns.js';

const CONTAINERS = 'Names of each container in the template.';
const IMAGES = 'Images referenced by each container in the template.';

/** NAME READY UP-TO-DATE AVAILABLE AGE, and CONTAINERS IMAGES SELECTOR with `-o wide`. */
export function deploymentColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column(
      { name: 'Ready', description: 'Number of the pod with ready state' },
      (o) => `${num(at(o, 'status', 'readyReplicas'))}/${num(at(o, 'spec', 'replicas'))}`,
    ),
    column(
      {
        name: 'Up-to-date',
        description:
          'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      },
      (o) => num(at(o, 'status', 'updatedReplicas')),
    ),
    column(
      {
        name: 'Available',
        description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      },
      (o) => num(at(o, 'status', 'availableReplicas')),
    ),
    ageColumn(),
    ...templateColumns(
      "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.",
    ),
  ];
}

/** NAME DESIRED CURRENT READY AGE, and CONTAINERS IMAGES SELECTOR with `-o wide`. */
export function replicaSetColumns(): readonly TableColumn[] {
  const integer = (name: string, description: string, path: string[]): TableColumn =>
    column({ name, type: 'integer', description }, (o) => num(at(o, ...path)));
  return [
    nameColumn(),
    integer(
      'Desired',
      'Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#replicaset',
      ['spec', 'replicas'],
    ),
    integer(
      'Current',
      'Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/#replicaset',
      ['status', 'replicas'],
    ),
    integer('Ready', 'The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.', [
      'status',
      'readyReplicas',
    ]),
    ageColumn(),
    ...templateColumns(
      "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
    ),
  ];
}

/** NAME CONTROLLER REVISION AGE; the controller as `statefulset.apps/web`, `<none>` when unowned. */
export function controllerRevisionColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column({ name: 'Controller', description: 'Controller of the object' }, controllerName),
    column(
      { name: 'Revision', description: 'Revision indicates the revision of the state represented by Data.' },
      (o) => num(o['revision']),
    ),
    ageColumn(),
  ];
}

function templateColumns(selectorDescription: string): TableColumn[] {
  return [
    wide('Containers', CONTAINERS, (o) => templateContainers(o, 'name')),
    wide('Images', IMAGES, (o) => templateContainers(o, 'image')),
    wide('Selector', selectorDescription, (o) => labelSelectorToString(at(o, 'spec', 'selector'))),
  ];
}

/** The template's containers' names or images, comma-joined (the Containers and Images cells). */
export function templateContainers(o: KubeObject, field: 'name' | 'image'): string {
  return list(at(o, 'spec', 'template', 'spec', 'containers'))
    .map((c) => str(rec(c)[field]))
    .join(',');
}

/** printers.go formatResourceName: the lower-cased `Kind.group`, a slash and the name. */
function controllerName(o: KubeObject): string {
  const ref = (o.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
  if (ref === undefined) return '<none>';
  const slash = ref.apiVersion.indexOf('/');
  const group = slash < 0 ? '' : ref.apiVersion.slice(0, slash);
  const kind = group === '' ? ref.kind : `${ref.kind}.${group}`;
  return `${kind.toLowerCase()}/${ref.name}`;
}
