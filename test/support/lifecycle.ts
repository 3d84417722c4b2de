/**
 * What the lifecycle tests and `bench:lifecycle` observe of the sample's gateway pods: every pod
 * object a watch shows (so a replacement counts once however the watch is timed), and when a
 * rollout has finished (every pod Ready on the StatefulSet's update revision, the ring converged).
 */
import { AppsV1Api, CoreV1Api, Watch, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { SAMPLE } from '../../cli/local-system.js';
import type { IMGateway } from '../../operator/api.js';
import { REVISION_LABEL } from '../../operator/observe.js';
import { isConverged } from './operator-system.js';
import { GATEWAYS_PATH, PODS_PATH, sampleGateway, until } from './scenario.js';

/** A gateway pod of the sample (`demo-<ordinal>`), not the proxy or push. */
export function isGatewayPod(name: string | undefined): boolean {
  return name !== undefined && new RegExp(`^${SAMPLE.name}-\\d+$`).test(name);
}

/** Every gateway pod object (by uid) seen since {@link PodHistory.start}, per pod name. */
export class PodHistory {
  readonly #uids = new Map<string, Set<string>>();
  readonly #kc: KubeConfig;
  #request: AbortController | undefined;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
  }

  /** Records the pods there are now, then every one a watch brings. */
  async start(): Promise<void> {
    const core = this.#kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: SAMPLE.namespace });
    for (const pod of list.items) this.#record(pod);
    this.#request = await new Watch(this.#kc).watch(
      PODS_PATH,
      { resourceVersion: list.metadata?.resourceVersion },
      (_type: string, pod: V1Pod) => this.#record(pod),
      () => undefined,
    );
  }

  stop(): void {
    this.#request?.abort();
  }

  /** Pod objects seen per name, for names seen more than once: `{ "demo-1": 2 }` is one replacement. */
  replacements(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, uids] of [...this.#uids].sort()) if (uids.size > 1) out[name] = uids.size - 1;
    return out;
  }

  #record(pod: V1Pod): void {
    const { name, uid } = pod.metadata ?? {};
    if (!isGatewayPod(name) || uid === undefined) return;
    let uids = this.#uids.get(name!);
    if (uids === undefined) this.#uids.set(name!, (uids = new Set()));
    uids.add(uid);
  }
}

/** The sample StatefulSet's update revision now (to tell {@link rolledOut} which one a rollout leaves). */
export async function updateRevision(kc: KubeConfig): Promise<string | undefined> {
  const set = await kc
    .makeApiClient(AppsV1Api)
    .readNamespacedStatefulSet({ name: SAMPLE.name, namespace: SAMPLE.namespace });
  return set.status?.updateRevision;
}

/**
 * Resolves once the ring converged at `replicas` and every gateway pod is Ready on the
 * StatefulSet's update revision (`status.updatedReplicas` says so too), a revision other than
 * `from` (the one before the rollout: until the new template reached the StatefulSet's status,
 * every pod is on the old revision, which would pass for rolled out).
 */
export function rolledOut(kc: KubeConfig, replicas: number, from: string | undefined): Promise<IMGateway> {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return until(kc, GATEWAYS_PATH, async (observe) => {
    const gateway = await sampleGateway(kc);
    const set = await apps.readNamespacedStatefulSet({ name: SAMPLE.name, namespace: SAMPLE.namespace });
    const update = set.status?.updateRevision;
    const pods = (await core.listNamespacedPod({ namespace: SAMPLE.namespace })).items.filter((p) =>
      isGatewayPod(p.metadata?.name),
    );
    const onUpdate = pods.filter(
      (p) => update !== undefined && update !== from && p.metadata?.labels?.[REVISION_LABEL] === update,
    );
    const status = gateway.status;
    observe({
      phase: status?.phase,
      updatedReplicas: status?.updatedReplicas,
      onUpdate: onUpdate.map((p) => p.metadata?.name).sort(),
      ring: status?.ring?.members,
    });
    return isConverged(gateway, replicas) && onUpdate.length === replicas && status?.updatedReplicas === replicas
      ? gateway
      : undefined;
  });
}
