/**
 * The pod table, as printers.go printPod prints it: READY and STATUS from the container
 * statuses (init containers first), RESTARTS with the time of the last one.
 */
import type { KubeObject } from '../types.js';
import {
  ageColumn,
  at,
  column,
  humanDuration,
  list,
  nameColumn,
  num,
  orNone,
  rec,
  str,
  wide,
  type TableColumn,
} from './columns.js';

/** The pod table's columns. */
export function podColumns(): readonly TableColumn[] {
  return [
    nameColumn(),
    column(
      { name: 'Ready', description: 'The aggregate readiness state of this pod for accepting traffic.' },
      (o) => podSummary(o).ready,
    ),
    column(
      { name: 'Status', description: 'The aggregate status of the containers in this pod.' },
      (o) => podSummary(o).reason,
    ),
    column(
      {
        name: 'Restarts',
        description:
          'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      },
      (o, now) => podRestarts(o, now),
    ),
    ageColumn(),
    wide(
      'IP',
      'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.',
      (o) => orNone(str(at(o, 'status', 'podIP'))),
    ),
    wide('Node', 'NodeName indicates in which node this pod is scheduled.', (o) =>
      orNone(str(at(o, 'spec', 'nodeName'))),
    ),
    wide('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node.', (o) =>
      orNone(str(at(o, 'status', 'nominatedNodeName'))),
    ),
    wide(
      'Readiness Gates',
      'If specified, all readiness gates will be evaluated for pod readiness.',
      podReadinessGates,
    ),
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
  if (conditions.some((c) => c['type'] === 'PodScheduled' && c['reason'] === 'SchedulingGated'))
    reason = 'SchedulingGated';
  const init = initReason(o);
  const initialized = conditions.some((c) => c['type'] === 'Initialized' && c['status'] === 'True');
  let summary = { ready: 0, reason: init.reason ?? reason, restarts: init.restarts, lastRestart: init.lastRestart };
  if (init.reason === undefined || initialized)
    summary = containersSummary(list(status['containerStatuses']).map(rec), reason, conditions);
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

function containersSummary(
  statuses: Record<string, unknown>[],
  phaseReason: string,
  conditions: Record<string, unknown>[],
) {
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
  return restarts !== 0 && lastRestart !== 0
    ? `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`
    : String(restarts);
}
