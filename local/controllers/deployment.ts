import { isDeepStrictEqual } from 'node:util';
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { EventRecorder, ResilientInformer } from '../../kube/controller-kit.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import {
  ControllerLoop,
  StatusMemo,
  objectKey,
  resolveWorkloadOptions,
  type ResolvedWorkloadOptions,
  type WorkloadControllerOptions,
} from './controller-loop.js';
import { planDeployment, specOf, splitReplicaSets, type DeploymentAction } from './deployment-plan.js';
import { deploymentStatus, type DeploymentStatusJson } from './deployment-status.js';
import { podInformer, replicaSetInformer } from './workload-informers.js';
import { controllerKeyOf, isControlledBy } from './owner-refs.js';

/** Options of {@link DeploymentController}. */
export type DeploymentControllerOptions = WorkloadControllerOptions;

/** Component name on the Events it records, as the real controller's. */
const COMPONENT = 'deployment-controller';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * The Deployment controller of the local control plane, after kube-controller-manager's:
 * ReplicaSets `<deployment>-<pod-template-hash>` per template, rolled by RollingUpdate
 * (maxSurge, maxUnavailable) or Recreate, paused rollouts, revision history pruned to
 * `revisionHistoryLimit`, and status with the Available and Progressing conditions. A plain
 * client of the API server: the ReplicaSet controller runs the pods.
 */
export class DeploymentController {
  readonly #options: ResolvedWorkloadOptions;
  readonly #apps: AppsV1Api;
  readonly #events: EventRecorder;
  readonly #deployments: ResilientInformer<V1Deployment>;
  readonly #replicaSets: ResilientInformer<V1ReplicaSet>;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #loop: ControllerLoop;
  readonly #written = new StatusMemo<DeploymentStatusJson>();

  constructor(options: DeploymentControllerOptions) {
    this.#options = resolveWorkloadOptions('DeploymentController', options);
    const { kc, namespace, onError } = this.#options;
    const apps = (this.#apps = kc.makeApiClient(AppsV1Api));
    this.#events = new EventRecorder(kc, COMPONENT, onError);
    this.#deployments = new ResilientInformer<V1Deployment>({
      kc,
      onError,
      path: namespace ? `/apis/apps/v1/namespaces/${namespace}/deployments` : '/apis/apps/v1/deployments',
      list: () => (namespace ? apps.listNamespacedDeployment({ namespace }) : apps.listDeploymentForAllNamespaces()),
    });
    this.#replicaSets = replicaSetInformer(this.#options);
    this.#pods = podInformer(this.#options);
    const informers = [this.#deployments, this.#replicaSets, this.#pods] as const;
    this.#loop = new ControllerLoop({
      name: 'DeploymentController',
      options: this.#options,
      startInformers: async () => void (await Promise.all(informers.map((i) => i.start()))),
      closeInformers: () => Promise.all(informers.map((i) => i.close())).then(() => this.#written.clear()),
      keys: () => this.#deployments.list().map(objectKey),
      reconcile: (key) => this.#reconcile(key),
    });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#deployments.on(event, (d) => this.#loop.enqueue(objectKey(d)));
      this.#replicaSets.on(event, (rs) => this.#loop.enqueue(controllerKeyOf(rs, 'Deployment')));
      this.#pods.on(event, (pod) => this.#loop.enqueue(this.#deploymentKeyOf(pod)));
    }
  }

  /** Starts watching; resolves once the informers have synced and every Deployment is queued. Refused after close. */
  start(): Promise<void> {
    return this.#loop.start();
  }

  /** Stops: no new reconciles, waits for the running ones, closes the informers. Idempotent. */
  close(): Promise<void> {
    return this.#loop.close();
  }

  /** The Deployment of the ReplicaSet controlling `pod`: pod readiness moves a rollout on. */
  #deploymentKeyOf(pod: V1Pod): string | undefined {
    const rsKey = controllerKeyOf(pod, 'ReplicaSet');
    if (rsKey === undefined) return undefined;
    const [namespace = '', name = ''] = rsKey.split('/');
    const rs = this.#replicaSets.get(name, namespace);
    return rs ? controllerKeyOf(rs, 'Deployment') : undefined;
  }

  /** observe → plan one step (pure) → apply it → status (pure) → write it if it changed. */
  async #reconcile(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const deployment = this.#deployments.get(name, namespace);
    if (deployment === undefined) {
      this.#written.forget(key);
      return;
    }
    let replicaSets = this.#replicaSets.list(namespace).filter((rs) => isControlledBy(rs, deployment));
    const pods = this.#pods.list(namespace).filter((pod) => replicaSets.some((rs) => isControlledBy(pod, rs)));
    let createdNewRS = false;
    // The garbage collector removes the ReplicaSets of a Deployment being deleted.
    if (!deployment.metadata?.deletionTimestamp) {
      const nowMs = this.#options.now();
      for (const action of planDeployment({ deployment, replicaSets, pods, nowMs })) {
        const result = await this.#apply(deployment, action);
        if (result === 'conflict') return this.#loop.enqueue(key, this.#options.conflictRetryMs);
        createdNewRS ||= action.kind === 'create';
        replicaSets = [...replicaSets.filter((rs) => rs.metadata?.name !== action.rs.metadata?.name), ...result];
      }
    }
    const { newRS } = splitReplicaSets(deployment, replicaSets);
    const nowMs = this.#options.now();
    const { status, recheckAfterMs } = deploymentStatus({ deployment, newRS, replicaSets, nowMs, createdNewRS });
    const cached = {
      resourceVersion: deployment.metadata?.resourceVersion,
      differs: differs(deployment.status, status),
    };
    if (this.#written.shouldWrite(key, cached, (from) => differs(from, status)))
      await this.#writeStatus(key, deployment, status);
    if (recheckAfterMs !== undefined) this.#loop.enqueue(key, recheckAfterMs);
  }

  /** One ReplicaSet write and its Event; the ReplicaSets it leaves, or `conflict` on a 409 (a stale cache). */
  async #apply(deployment: V1Deployment, action: DeploymentAction): Promise<V1ReplicaSet[] | 'conflict'> {
    const namespace = deployment.metadata?.namespace ?? '';
    const name = action.rs.metadata?.name ?? '';
    try {
      if (action.kind === 'delete') {
        const body = { preconditions: { uid: action.rs.metadata?.uid } };
        await this.#apps.deleteNamespacedReplicaSet({ namespace, name, body });
        return [];
      }
      const saved = await this.#write(namespace, action);
      await this.#recordScaling(deployment, action.kind === 'create' ? 0 : specOf(action.rs), saved);
      return [saved];
    } catch (error) {
      const code = apiStatusCode(error);
      if (code === 409) return 'conflict';
      if (code === 404 && action.kind === 'delete') return [];
      throw new Error(`while trying to ${action.kind} replicaset ${namespace}/${name}`, { cause: error });
    }
  }

  #write(namespace: string, action: Exclude<DeploymentAction, { kind: 'delete' }>): Promise<V1ReplicaSet> {
    if (action.kind === 'create') return this.#apps.createNamespacedReplicaSet({ namespace, body: action.rs });
    const { resourceVersion } = action.rs.metadata ?? {};
    // The resourceVersion makes the write fail (409) when it was planned from a stale cache.
    const body = {
      metadata: { resourceVersion, annotations: action.annotations },
      spec: { replicas: action.replicas },
    };
    return this.#apps.patchNamespacedReplicaSet({ namespace, name: action.rs.metadata?.name ?? '', body }, mergePatch);
  }

  /** ScalingReplicaSet, as `kubectl describe deploy` shows it: `Scaled up replica set x from 0 to 2`. */
  async #recordScaling(deployment: V1Deployment, before: number, saved: V1ReplicaSet): Promise<void> {
    const after = specOf(saved);
    if (after === before) return;
    const message = `Scaled ${after > before ? 'up' : 'down'} replica set ${saved.metadata?.name} from ${before} to ${after}`;
    const target = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: deployment.metadata };
    await this.#events.record(target, 'Normal', 'ScalingReplicaSet', message);
  }

  async #writeStatus(key: string, deployment: V1Deployment, status: DeploymentStatusJson): Promise<void> {
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    // A JSON patch of /status alone (`add` sets it whether or not there is one): the cache may be stale.
    const body = [{ op: 'add', path: '/status', value: status }];
    try {
      const saved = await this.#apps.patchNamespacedDeploymentStatus({ namespace, name, body });
      this.#written.remember(key, status, saved.metadata?.resourceVersion);
    } catch (error) {
      if (apiStatusCode(error) === 404) return;
      throw new Error(`while writing the status of deployment ${key}`, { cause: error });
    }
  }
}

/** Whether `next` differs from `previous` as JSON (the cache holds condition times as Dates or strings). */
function differs(previous: unknown, next: DeploymentStatusJson): boolean {
  const normal = (value: unknown): unknown => JSON.parse(JSON.stringify(value ?? {}, dropMillis));
  return !isDeepStrictEqual(normal(previous), normal(next));
}

function dropMillis(_key: string, value: unknown): unknown {
  return typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)
    ? value.replace(/\.\d{3}Z$/, 'Z')
    : value;
}
