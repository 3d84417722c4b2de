/**
 * The incident of OpenIM 3.5.1 as a pure simulation (no sockets), and imring's routing rule
 * over the same traffic, for `bench/misroute.ts` and its test.
 *
 * OpenIM: the proxy (msg gateway entry) and push each build their own stathat/consistent ring
 * (v1.0.0, 20 points, CRC32) of gateway addresses, from a replica count read once at start
 * and an address format: push `<name>-<i>.<svc>.<ns>.svc.cluster.local:88`, the proxy the same
 * without `:88` (DESIGN.md section 1). A user is connected where the proxy's ring put it; push
 * sends where its own ring says; when the two pods differ, the message goes offline.
 *
 * imring: both sides read one document; a connection is placed by ring v or v+1 and push
 * looks in v+1, then v (DESIGN.md section 5).
 */
import { Ring, type RingMember } from '../../ring/index.js';
import { seededRandom } from '../../test/support/random.js';
import { StathatConsistent } from './stathat-consistent.js';

/** The OpenIM deployment the addresses are built from (names as in its Helm chart). */
export const OPENIM = {
  name: 'openim-msggateway',
  service: 'openim-msggateway-headless',
  namespace: 'openim',
  pushPort: 88,
} as const;

/** Gateway addresses as one side builds them: ordinals 0..replicas-1, with `:port` or without. */
export function openimAddresses(replicas: number, port?: number): string[] {
  return Array.from(
    { length: replicas },
    (_, i) =>
      `${OPENIM.name}-${i}.${OPENIM.service}.${OPENIM.namespace}.svc.cluster.local${port === undefined ? '' : `:${port}`}`,
  );
}

/** The pod an address names (its first DNS label): what both sides mean by "this gateway". */
export function podOf(address: string): string {
  return address.split('.', 1)[0]!;
}

/** What each side read from its environment at its last start. */
export interface OpenimSides {
  /** Replica count of the proxy's ring (addresses without a port). */
  readonly proxyReplicas: number;
  /** Replica count of push's ring (addresses with `:88`). */
  readonly pushReplicas: number;
}

/** One stretch of the run: the replica counts each side holds, and how many messages are sent. */
export interface OpenimPhase extends OpenimSides {
  readonly label: string;
  /** Gateway pods running (a user whose pod is gone reconnects through the proxy's ring). */
  readonly runningReplicas: number;
  readonly messages: number;
}

/** Users, message shape and the seed of a simulated run. */
export interface Traffic {
  readonly users: readonly string[];
  /** Recipients per message (distinct, all online). */
  readonly recipients: number;
  readonly seed: number;
}

/** Per phase: (message, user) units to online users, and how many push routed to another pod. */
export interface PhaseCount {
  readonly label: string;
  readonly units: number;
  readonly offline: number;
  /** offline / units (0 when nothing was sent). */
  readonly share: number;
}

/**
 * Runs `phases` in order over `traffic`: every user connects at the start to the pod the
 * proxy's ring picks, keeps that connection until its pod stops running (then reconnects by
 * the proxy's ring of that phase), and each message to a user is counted offline when push's
 * ring names another pod.
 */
export function simulateOpenim(traffic: Traffic, phases: readonly OpenimPhase[]): PhaseCount[] {
  const random = seededRandom(traffic.seed);
  const connectedTo = new Map<string, string>();
  const counts: PhaseCount[] = [];
  for (const phase of phases) {
    const proxy = new StathatConsistent(openimAddresses(phase.proxyReplicas));
    const push = new StathatConsistent(openimAddresses(phase.pushReplicas, OPENIM.pushPort));
    const running = new Set(openimAddresses(phase.runningReplicas).map(podOf));
    for (const user of traffic.users) {
      const pod = connectedTo.get(user);
      if (pod === undefined || !running.has(pod)) connectedTo.set(user, podOf(proxy.get(user)!));
    }
    let offline = 0;
    let units = 0;
    for (let m = 0; m < phase.messages; m++) {
      for (const user of recipientsOf(traffic, random)) {
        units++;
        if (podOf(push.get(user)!) !== connectedTo.get(user)) offline++;
      }
    }
    counts.push({ label: phase.label, units, offline, share: units === 0 ? 0 : offline / units });
  }
  return counts;
}

/** The phases of the bench at `n` gateways: steady, then scaled to `n + added` with push restarted first. */
export function openimScalePhases(n: number, init: { added: number; messagesPerPhase: number }): OpenimPhase[] {
  const scaled = n + init.added;
  return [
    { label: 'steady', proxyReplicas: n, pushReplicas: n, runningReplicas: n, messages: init.messagesPerPhase },
    // Each side reads the replica count at start: push restarted with the new count, the proxy not yet.
    {
      label: 'after scale, push restarted',
      proxyReplicas: n,
      pushReplicas: scaled,
      runningReplicas: scaled,
      messages: init.messagesPerPhase,
    },
    // Both restarted; connections made before stay where they are (their pods still run).
    {
      label: 'after scale, both restarted',
      proxyReplicas: scaled,
      pushReplicas: scaled,
      runningReplicas: scaled,
      messages: init.messagesPerPhase,
    },
  ];
}

/** `count` distinct users of `traffic`, drawn with `random`. */
function recipientsOf(traffic: Traffic, random: () => number): string[] {
  const picked = new Set<string>();
  const count = Math.min(traffic.recipients, traffic.users.length);
  while (picked.size < count) picked.add(traffic.users[Math.floor(random() * traffic.users.length)]!);
  return [...picked];
}

/** Member `im-<i>` as the operator names it (one canonical identity, read by both sides). */
export function imringMember(i: number): RingMember {
  return { name: `im-${i}`, host: `im-${i}.im-headless.default.svc.cluster.local`, ports: { ws: 10001, grpc: 10002 } };
}

/**
 * imring's rule for one user: push asks the owner in `ring`, then the owner in `ring.previous`;
 * true when one of them is `connectedTo` (the member holding the user's connection).
 */
export function isReachedByImring(ring: Ring, user: string, connectedTo: string): boolean {
  return ring.owner(user)?.name === connectedTo || ring.previous?.owner(user)?.name === connectedTo;
}

/**
 * The same traffic through imring's rule at `n` gateways, scaling to `n + added` the imring
 * way: v1 Committed (steady), v2 Prepared (connections still placed by v1), v2 Committed with
 * a share of the moved users not yet reconnected. Counts (message, user) units push would
 * send offline although the user is connected.
 */
export function simulateImring(
  traffic: Traffic,
  init: { n: number; added: number; messagesPerPhase: number },
): PhaseCount[] {
  const random = seededRandom(traffic.seed);
  const before = Array.from({ length: init.n }, (_, i) => imringMember(i));
  const after = Array.from({ length: init.n + init.added }, (_, i) => imringMember(i));
  const v1 = new Ring({ members: before, version: 1 });
  const prepared = new Ring({
    members: after,
    version: 2,
    state: 'Prepared',
    previous: { version: 1, members: before },
  });
  const committed = new Ring({
    members: after,
    version: 2,
    state: 'Committed',
    previous: { version: 1, members: before },
  });
  const connectedTo = new Map(traffic.users.map((u) => [u, v1.owner(u)!.name]));
  const phases: [string, Ring, (user: string) => void][] = [
    ['steady', v1, () => undefined],
    ['v2 prepared', prepared, () => undefined],
    // Migration in progress: each moved user reconnects (through the proxy, by v2) at some point.
    [
      'v2 committed, migrating',
      committed,
      (u) => {
        if (random() < 0.5) connectedTo.set(u, committed.owner(u)!.name);
      },
    ],
  ];
  return phases.map(([label, ring, churn]) => {
    let offline = 0;
    let units = 0;
    for (let m = 0; m < init.messagesPerPhase; m++) {
      for (const user of recipientsOf(traffic, random)) {
        units++;
        churn(user);
        if (!isReachedByImring(ring, user, connectedTo.get(user)!)) offline++;
      }
    }
    return { label, units, offline, share: units === 0 ? 0 : offline / units };
  });
}
