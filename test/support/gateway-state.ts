import type { Condition, IMGateway, RingStatus } from '../../operator/api.js';
import { Unreachable } from './wait.js';

/**
 * One line on where an IMGateway stands, for a wait that gives up: generations, phase,
 * replicas, the ring and the conditions that say something is not done (with their message).
 */
export function describeGateway(gateway: IMGateway | undefined): string {
  if (gateway === undefined) return 'no such IMGateway';
  const status = gateway.status;
  const conditions = (status?.conditions ?? []).map(conditionText).join('; ');
  return [
    `generation ${shown(gateway.metadata.generation)} (observed ${shown(status?.observedGeneration)})`,
    `spec.replicas ${shown(gateway.spec?.replicas)}, ready ${shown(status?.readyReplicas)}/${shown(status?.replicas)}`,
    `phase ${shown(status?.phase)}`,
    ringText(status?.ring),
    conditions || 'no conditions',
  ].join(', ');
}

/**
 * Throws {@link Unreachable} (with the gateway's state) when the operator judged its current
 * generation invalid: nothing but a spec change moves such a gateway on, so a wait for anything
 * else can stop at once. `what` names the gateway in the message.
 */
export function throwIfInvalid(gateway: IMGateway | undefined, what: string): void {
  const condition = gateway?.status?.conditions?.find((c) => c.type === 'InvalidSpec');
  const current = gateway?.status?.observedGeneration === gateway?.metadata.generation;
  if (current && condition?.status === 'True') {
    throw new Unreachable(`${what}: the spec is invalid (${condition.message}); ${describeGateway(gateway)}`);
  }
}

/** Each condition's status once a gateway is converged and healthy. */
const EXPECTED: Readonly<Record<string, string>> = {
  Ready: 'True',
  Progressing: 'False',
  RingConverged: 'True',
  Degraded: 'False',
  InvalidSpec: 'False',
};

/** Conditions in their expected state show as `Type=Status`; the others with their reason and message. */
function conditionText(condition: Condition): string {
  const head = `${condition.type}=${condition.status}`;
  return EXPECTED[condition.type] === condition.status ? head : `${head} (${condition.reason}: ${condition.message})`;
}

function ringText(ring: RingStatus | undefined): string {
  if (ring?.version === undefined) return 'no ring';
  const members = (ring.members ?? []).join(', ');
  return `ring v${ring.version} ${ring.state} [${members}], converged v${shown(ring.convergedVersion)}`;
}

function shown(value: string | number | undefined): string {
  return value === undefined ? '-' : String(value);
}
