/**
 * The scheduler's choice, pure: the filters kube-scheduler runs for the pods imring starts
 * (NodeUnschedulable with its toleration, NodeAffinity's `spec.nodeSelector`) and a score that
 * spreads pods (fewest pods first, then name order), with the FailedScheduling message a
 * cluster gives when no node fits.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { UNSCHEDULABLE_TAINT } from './nodes.js';

/** Where a pod goes: a node, or why none fits. */
export type Placement = { readonly node: string } | { readonly message: string };

/** Why a node was filtered out, as the scheduler's plugins word it. */
const UNSCHEDULABLE = 'node(s) were unschedulable';
const SELECTOR = "node(s) didn't match Pod's node affinity/selector";

/** The node for `pod` among `nodes`, given how many pods each node already runs. */
export function placePod(pod: V1Pod, nodes: readonly V1Node[], podsPerNode: ReadonlyMap<string, number>): Placement {
  const reasons = new Map<string, number>();
  const fitting: string[] = [];
  for (const node of nodes) {
    const reason = unfitReason(pod, node);
    if (reason === undefined) fitting.push(node.metadata!.name!);
    else reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  const load = (name: string) => podsPerNode.get(name) ?? 0;
  const best = fitting.sort((a, b) => load(a) - load(b) || a.localeCompare(b))[0];
  if (best !== undefined) return { node: best };
  return { message: unschedulableMessage(nodes.length, reasons) };
}

function unfitReason(pod: V1Pod, node: V1Node): string | undefined {
  if (node.spec?.unschedulable && !toleratesUnschedulable(pod)) return UNSCHEDULABLE;
  const labels = node.metadata?.labels ?? {};
  const selector = pod.spec?.nodeSelector ?? {};
  if (Object.entries(selector).some(([key, value]) => labels[key] !== value)) return SELECTOR;
  return undefined;
}

function toleratesUnschedulable(pod: V1Pod): boolean {
  return (pod.spec?.tolerations ?? []).some(
    (t) =>
      (t.key === UNSCHEDULABLE_TAINT || (t.key === undefined && t.operator === 'Exists')) &&
      (t.effect === undefined || t.effect === '' || t.effect === 'NoSchedule'),
  );
}

/** framework.FitError's message: `0/3 nodes are available: 3 node(s) were unschedulable. preemption: …`. */
function unschedulableMessage(total: number, reasons: ReadonlyMap<string, number>): string {
  const parts = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort();
  const why = total === 0 ? 'no nodes available to schedule pods' : parts.join(', ');
  const preemption = `preemption: 0/${total} nodes are available: ${total} Preemption is not helpful for scheduling.`;
  return `0/${total} nodes are available: ${why}. ${preemption}`;
}
