/** The columns of `kubectl get hpa` (printers.go printHorizontalPodAutoscaler, formatHPAMetrics). */
import { hpaV2 } from '../store/hpa-versions.js';
import type { KubeObject } from '../types.js';
import { ageColumn, at, column, list, nameColumn, num, rec, str, type TableColumn } from './columns.js';

/** The most metrics TARGETS spells out before `+ N more...`. */
const MAX_LISTED_METRICS = 2;

/** NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE, read from the v2 form whatever version is served. */
export function hpaColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column(
      {
        name: 'Reference',
        description:
          'reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.',
      },
      (o) =>
        `${str(at(hpaV2(o), 'spec', 'scaleTargetRef', 'kind'))}/${str(at(hpaV2(o), 'spec', 'scaleTargetRef', 'name'))}`,
    ),
    column(
      {
        name: 'Targets',
        description:
          'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).',
      },
      (o) => targets(hpaV2(o)),
    ),
    column(
      {
        name: 'MinPods',
        description:
          'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.',
      },
      (o) => {
        const min = at(hpaV2(o), 'spec', 'minReplicas');
        return typeof min === 'number' ? String(min) : '<unset>';
      },
    ),
    column(
      {
        name: 'MaxPods',
        type: 'integer',
        description:
          'maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.',
      },
      (o) => num(at(hpaV2(o), 'spec', 'maxReplicas')),
    ),
    column(
      {
        name: 'Replicas',
        type: 'integer',
        description:
          'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.',
      },
      (o) => num(at(hpaV2(o), 'status', 'currentReplicas')),
    ),
    ageColumn(),
  ];
}

/** `cpu: 12%/50%`, `cpu: <unknown>/50%`, `memory: 20Mi/100Mi`, …, at most two then `+ N more...`. */
function targets(hpa: KubeObject): string {
  const specs = list(at(hpa, 'spec', 'metrics')).map(rec);
  if (specs.length === 0) return '<none>';
  const statuses = list(at(hpa, 'status', 'currentMetrics')).map(rec);
  const cells = specs.map((spec, i) => metricCell(spec, statuses[i]));
  const listed = cells.slice(0, MAX_LISTED_METRICS).join(', ');
  return cells.length > MAX_LISTED_METRICS ? `${listed} + ${cells.length - MAX_LISTED_METRICS} more...` : listed;
}

function metricCell(spec: Record<string, unknown>, status: Record<string, unknown> | undefined): string {
  const type = str(spec.type);
  const key = type === 'ContainerResource' ? 'containerResource' : type.charAt(0).toLowerCase() + type.slice(1);
  const source = rec(spec[key]);
  const target = rec(source.target);
  const current = rec(rec(status?.[key]).current);
  if (type !== 'Resource' && type !== 'ContainerResource') {
    const average = target.averageValue !== undefined;
    const now = str(average ? current.averageValue : current.value) || '<unknown>';
    return `${now}/${str(average ? target.averageValue : target.value)}${average && type !== 'Pods' ? ' (avg)' : ''}`;
  }
  const name = str(source.name);
  if (target.averageValue !== undefined)
    return `${name}: ${str(current.averageValue) || '<unknown>'}/${str(target.averageValue)}`;
  const now = typeof current.averageUtilization === 'number' ? `${current.averageUtilization}%` : '<unknown>';
  const want = typeof target.averageUtilization === 'number' ? `${target.averageUtilization}%` : '<auto>';
  return `${name}: ${now}/${want}`;
}
