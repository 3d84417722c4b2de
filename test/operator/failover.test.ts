import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Watch, type V1ConfigMap, type V1StatefulSet } from '@kubernetes/client-node';
import { IMGATEWAY, type IMGateway } from '../../operator/api.js';
import { parseRingDocument, RING_DATA_KEY, type RingDocument } from '../../ring/index.js';
import { convergedAt, NAMESPACE, OperatorSystem } from '../support/operator-system.js';

const conditionOf = (g: IMGateway, type: string): { status?: string; reason?: string } | undefined =>
  g.status?.conditions?.find((c) => c.type === type);
const ordinal = (member: string): number => Number(member.slice(member.lastIndexOf('-') + 1));
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `im-${i}`);

const CONFIGMAPS = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
const STATEFULSETS = `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`;
const GATEWAYS = `/apis/${IMGATEWAY.group}/${IMGATEWAY.version}/namespaces/${NAMESPACE}/${IMGATEWAY.plural}`;

/** A ring state or a StatefulSet size, at the resourceVersion the API server gave it (one global counter). */
type Change = { rv: number; ring: RingDocument } | { rv: number; replicas: number };

let system: OperatorSystem;
let operators = 0;
let current = '';
/** The ring version once `im` first converged (before the failovers). */
let baseline = 0;
const timeline: Change[] = [];
const watches: AbortController[] = [];

/** Records every ring document and StatefulSet size of gateway `im`, to be checked in resourceVersion order. */
async function recordTimeline(): Promise<void> {
  const watch = new Watch(system.cluster.kc);
  watches.push(
    await watch.watch(
      CONFIGMAPS,
      {},
      (_type: string, object: V1ConfigMap) => {
        if (object.metadata?.name !== 'im-ring') return;
        const parsed = parseRingDocument(object.data?.[RING_DATA_KEY] ?? '');
        if (parsed.ok) timeline.push({ rv: Number(object.metadata.resourceVersion), ring: parsed.document });
      },
      () => undefined,
    ),
    await watch.watch(
      STATEFULSETS,
      {},
      (_type: string, object: V1StatefulSet) => {
        if (object.metadata?.name === 'im' && object.spec?.replicas !== undefined)
          timeline.push({ rv: Number(object.metadata.resourceVersion), replicas: object.spec.replicas });
      },
      () => undefined,
    ),
  );
}

async function startNextOperator(): Promise<void> {
  current = `op-${++operators}`;
  await system.startOperator(current, ['--leader-elect', 'false']);
}

/**
 * SIGKILLs the running operator from inside the watch callback that first shows `seen`
 * (no API round trip between seeing the step and the kill), and resolves with that object.
 */
function killWhen<T>(path: string, seen: (object: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const victim = current;
  return new Promise<T>((resolve, reject) => {
    let controller: AbortController | undefined;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`killWhen ${path}: not seen within ${timeoutMs} ms`)), timeoutMs);
    const finish = (result: Error | T): void => {
      done = true;
      clearTimeout(timer);
      controller?.abort();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    void new Watch(system.cluster.kc)
      .watch(
        path,
        {},
        (_type: string, object: T) => {
          if (done || !seen(object)) return;
          void system.stopOperator(victim, 'SIGKILL').then(() => finish(object), finish);
        },
        (error: unknown) => {
          if (error && !done)
            finish(error instanceof Error ? error : new Error(`killWhen ${path}: the watch failed`, { cause: error }));
        },
      )
      .then((c) => {
        controller = c;
        if (done) c.abort();
      }, finish);
  });
}

function ringOf(object: V1ConfigMap): RingDocument | undefined {
  if (object.metadata?.name !== 'im-ring') return undefined;
  const parsed = parseRingDocument(object.data?.[RING_DATA_KEY] ?? '');
  return parsed.ok ? parsed.document : undefined;
}

async function scale(replicas: number): Promise<void> {
  await system.kubectlOk(['scale', 'imgw/im', `--replicas=${replicas}`]);
}

async function ringVersion(): Promise<number> {
  return (await system.gateway('im')).status!.ring!.version!;
}

/**
 * Kills the operator when the ring ConfigMap shows version `version` in `state`, checks it
 * died there (the ring did not move on), and starts a new one.
 */
async function killAtRingState(version: number, state: 'Prepared' | 'Committed'): Promise<void> {
  await killWhen<V1ConfigMap>(CONFIGMAPS, (cm) => {
    const ring = ringOf(cm);
    return ring?.version === version && ring.state === state;
  });
  const ring = await system.ring('im');
  assert.equal(
    `v${ring?.version} ${ring?.state}`,
    `v${version} ${state}`,
    'the operator died at the step it was killed at',
  );
  if (state === 'Committed')
    assert.notEqual(
      (await system.gateway('im')).status?.ring?.convergedVersion,
      version,
      'killed before the transition converged',
    );
  await startNextOperator();
}

/**
 * Scales, kills at `step`, lets a new operator finish; asserts one version, Prepared then Committed once, and the
 * members.
 */
async function scaleThroughFailover(
  replicas: number,
  step: 'Prepared' | 'Committed' | 'WaitingForPods',
): Promise<void> {
  const start = await ringVersion();
  const historyBefore = system.ringHistory.length;
  if (step === 'WaitingForPods') {
    const waiting = killWhen<IMGateway>(
      GATEWAYS,
      (g) =>
        g.metadata.name === 'im' &&
        g.spec?.replicas === replicas &&
        conditionOf(g, 'Progressing')?.reason === 'WaitingForPods',
    );
    await scale(replicas);
    await waiting;
    assert.equal((await system.ring('im'))?.version, start, 'killed before the new members joined a ring');
    await startNextOperator();
  } else {
    const killed = killAtRingState(start + 1, step);
    await scale(replicas);
    await killed;
  }
  const gateway = await system.untilGateway('im', convergedAt(replicas));
  const context = `history ${system.ringHistory.join(', ')}; events:\n${(await system.events('im')).map((e) => `${e.reason}: ${e.message}`).join('\n')}`;
  assert.deepEqual(gateway.status?.ring?.members, names(replicas), context);
  assert.equal(gateway.status?.ring?.version, start + 1, `one transition, one version: ${context}`);
  assert.deepEqual(
    system.ringHistory.slice(historyBefore),
    [`v${start + 1} Prepared`, `v${start + 1} Committed`],
    context,
  );
}

before(async () => {
  system = await OperatorSystem.start();
  await recordTimeline();
  await startNextOperator();
  await system.startRuntimes('im');
  await system.createGateway('im', { replicas: 1 });
  baseline = (await system.untilGateway('im', convergedAt(1))).status!.ring!.version!;
});

after(async () => {
  for (const watch of watches) watch.abort();
  await system?.close();
});

describe('The operator process is killed (SIGKILL) at each protocol step in turn and a new one finishes the transition correctly', () => {
  test('killed right after it writes RingPrepared while scaling up 1 → 3', () => scaleThroughFailover(3, 'Prepared'));
  test('killed right after it writes RingPrepared while scaling down 3 → 2', () => scaleThroughFailover(2, 'Prepared'));
  test('killed right after it commits the ring while scaling up 2 → 3, before it converges', () =>
    scaleThroughFailover(3, 'Committed'));
  test('killed right after it commits the ring while scaling down 3 → 1, before it drains', () =>
    scaleThroughFailover(1, 'Committed'));
  test('killed while it waits for the new pods to become Ready, scaling up 1 → 2', () =>
    scaleThroughFailover(2, 'WaitingForPods'));

  test('across every failover, versions rose by one, each Prepared then Committed once, and the StatefulSet never shrank before a ring without the removed members was Committed', async () => {
    const ordered = [...timeline].sort((a, b) => a.rv - b.rv);
    const states: string[] = [];
    const shrinks: string[] = [];
    let ring: RingDocument | undefined;
    let replicas: number | undefined;
    for (const change of ordered) {
      if ('ring' in change) {
        ring = change.ring;
        const entry = `v${ring.version} ${ring.state}`;
        if (states.at(-1) !== entry) states.push(entry);
        continue;
      }
      if (replicas !== undefined && change.replicas < replicas) {
        const safe = ring?.state === 'Committed' && ring.members.every((m) => ordinal(m.name) < change.replicas);
        shrinks.push(
          `${replicas} → ${change.replicas} at ring v${ring?.version} ${ring?.state}${safe ? '' : ' (UNSAFE)'}`,
        );
      }
      replicas = change.replicas;
    }
    const first = Number(states[0]?.match(/^v(\d+) Committed$/)?.[1]);
    assert.ok(first >= 1, `the ring starts Committed: ${states.join(', ')}`);
    const expected = [`v${first} Committed`];
    for (let v = first + 1; v <= baseline + 5; v++) expected.push(`v${v} Prepared`, `v${v} Committed`);
    assert.deepEqual(states, expected);
    assert.equal(shrinks.length, 2, shrinks.join('; '));
    const restored = (await system.events('im')).filter((e) => e.reason === 'RingRestored').map((e) => e.message);
    assert.deepEqual(restored, [], 'a new operator acts only on synced caches: it never finds the ring missing');
    assert.deepEqual(
      shrinks.filter((s) => s.endsWith('(UNSAFE)')),
      [],
      shrinks.join('; '),
    );
  });
});
