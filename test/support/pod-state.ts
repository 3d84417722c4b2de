import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

/**
 * One pod in a line, for a wait that gives up: name, phase, address, conditions, deletion and
 * its first container's state.
 */
export function describePod(pod: V1Pod): string {
  const status = pod.status;
  const conditions = (status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(',') || 'no conditions';
  const deleting = pod.metadata?.deletionTimestamp === undefined ? '' : ' deleting';
  const container = containerState(status?.containerStatuses?.[0]);
  const where = `${status?.phase ?? 'no phase'} ${status?.podIP ?? 'no IP'}`;
  return `${pod.metadata?.name} ${where} ${conditions}${deleting}; ${container}`;
}

function containerState(container: V1ContainerStatus | undefined): string {
  if (container?.state === undefined) return 'no container';
  return `${Object.keys(container.state).join(',')} ${container.containerID ?? ''} restarts ${container.restartCount}`;
}
