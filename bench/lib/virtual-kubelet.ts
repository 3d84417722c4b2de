/**
 * The kubelet of a virtual node (the Virtual Kubelet idea): pods the scheduler binds to this
 * node run no process; each gateway pod gets a {@link SimulatedGateway} instead, and its status
 * is written as a kubelet would (Running, a pod address, Ready once the gateway serves a ring).
 * A pod with a deletionTimestamp is stopped as a gateway stops, then removed (grace 0).
 */
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1EnvVar,
  type V1Pod,
} from '@kubernetes/client-node';
import { ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import { AddressPool } from '../../local/kubelet/address-pool.js';
import { ignoringCodes, removeStoppedPod } from '../../local/kubelet/pod-deletion.js';
import { hasStatusChanged, podStatus, rfc3339, type PodStatusJson } from '../../local/kubelet/pod-status.js';
import { PodEnv } from '../../ring/index.js';
import { SimulatedGateway } from './simulated-gateway.js';

export interface VirtualKubeletOptions {
  /** The kubelet's client (pod status, deletion). */
  readonly kc: KubeConfig;
  /** The simulated gateways' client (ring watch, Leases): as a gateway pod's. */
  readonly gatewayKc: KubeConfig;
  /** The node served. */
  readonly node: string;
  /** First pod address handed out (127.0.0.0/8; nothing binds it). */
  readonly firstPodAddress: string;
  /** The gateways' Lease periods, s. */
  readonly renewSeconds: number;
  readonly durationSeconds: number;
  /** Pods synced at once. Default 32. */
  readonly concurrency?: number;
  readonly onError?: (error: unknown) => void;
}

const HOST_IP = '127.0.0.1';
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

interface Running {
  readonly uid: string;
  readonly gateway: SimulatedGateway;
  readonly podIP: string;
  readonly startTime: string;
  written?: PodStatusJson;
  removeListener: () => void;
}

/** Runs the pods bound to one virtual node as simulated gateways. */
export class VirtualKubelet {
  readonly #options: VirtualKubeletOptions;
  readonly #core: CoreV1Api;
  readonly #pods: ResilientInformer<V1Pod>;
  readonly #queue: WorkQueue;
  readonly #addresses: AddressPool;
  readonly #running = new Map<string, Running>();
  #closing: Promise<void> | undefined;

  constructor(options: VirtualKubeletOptions) {
    this.#options = options;
    const core = options.kc.makeApiClient(CoreV1Api);
    this.#core = core;
    this.#addresses = new AddressPool(options.firstPodAddress);
    this.#pods = new ResilientInformer<V1Pod>({
      kc: options.kc,
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces(),
      onError: options.onError,
    });
    this.#queue = new WorkQueue((key) => this.#sync(key), {
      concurrency: options.concurrency ?? 32,
      onError: (_key, error) => options.onError?.(error),
    });
    for (const event of ['add', 'update', 'delete'] as const) {
      this.#pods.on(event, (pod) => this.#queue.add(`${pod.metadata?.namespace}/${pod.metadata?.name}`));
    }
  }

  /** Gateways running now. */
  get size(): number {
    return this.#running.size;
  }

  async start(): Promise<void> {
    await this.#pods.start();
  }

  /** Stops watching and every simulated gateway (their Leases deleted). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#queue.close();
      await this.#pods.close();
      await Promise.all([...this.#running.values()].map((r) => r.gateway.stop()));
      this.#running.clear();
    })();
    return this.#closing;
  }

  async #sync(key: string): Promise<void> {
    const [namespace = '', name = ''] = key.split('/');
    const pod = this.#pods.get(name, namespace);
    const running = this.#running.get(key);
    if (running && running.uid !== pod?.metadata?.uid) await this.#retire(key, running);
    if (!pod || pod.spec?.nodeName !== this.#options.node || this.#closing) return;
    if (pod.metadata?.deletionTimestamp) return this.#finishDeletion(key, pod);
    const current = this.#running.get(key) ?? this.#run(key, pod);
    await this.#writeStatus(pod, current);
  }

  #run(key: string, pod: V1Pod): Running {
    const gateway = new SimulatedGateway({
      kc: this.#options.gatewayKc,
      namespace: pod.metadata!.namespace!,
      gateway: gatewayOf(pod),
      pod: pod.metadata!.name!,
      renewSeconds: this.#options.renewSeconds,
      durationSeconds: this.#options.durationSeconds,
    });
    const running: Running = {
      uid: pod.metadata!.uid!,
      gateway,
      podIP: this.#addresses.allocate(),
      startTime: rfc3339(new Date()),
      removeListener: () => undefined,
    };
    this.#running.set(key, running);
    // Readiness follows the ring served (as the gateway's /readyz): write the status when it changes.
    running.removeListener = gateway.onRingChange(() => this.#queue.add(key));
    gateway.start().then(
      () => this.#queue.add(key),
      (error: unknown) => this.#options.onError?.(error),
    );
    return running;
  }

  /** A pod being deleted: the gateway stops (draining Lease, then none), then the pod is removed. */
  async #finishDeletion(key: string, pod: V1Pod): Promise<void> {
    const running = this.#running.get(key);
    if (running) await this.#retire(key, running);
    // No status write while terminating: the API server completes a pending deletion on any write.
    await removeStoppedPod(this.#core, pod);
  }

  async #retire(key: string, running: Running): Promise<void> {
    this.#running.delete(key);
    running.removeListener();
    await running.gateway.stop();
    this.#addresses.release(running.podIP);
  }

  async #writeStatus(pod: V1Pod, running: Running): Promise<void> {
    const container = pod.spec?.containers?.[0];
    const ready = running.gateway.ready();
    const status = podStatus({
      restartPolicy: 'Always',
      containers: [
        {
          name: container?.name ?? 'gateway',
          image: container?.image ?? '',
          state: { running: { startedAt: running.startTime } },
          restartCount: 0,
          ready,
          started: true,
          containerID: `virtual://${running.uid}`,
        },
      ],
      hostIP: HOST_IP,
      podIP: running.podIP,
      startTime: running.startTime,
      previous: running.written?.conditions,
      now: rfc3339(new Date()),
    });
    if (!hasStatusChanged(status, running.written)) return;
    const body = [
      { op: 'test', path: '/metadata/uid', value: running.uid },
      { op: 'add', path: '/status', value: status },
    ];
    const { name = '', namespace = '' } = pod.metadata ?? {};
    if (await ignoringCodes([404, 422], this.#core.patchNamespacedPodStatus({ name, namespace, body }, jsonPatch))) {
      running.written = status;
    }
  }
}

/** The IMGateway a gateway pod serves: its container's `IMRING_GATEWAY`, as the gateway reads it. */
function gatewayOf(pod: V1Pod): string {
  const env: V1EnvVar[] = pod.spec?.containers?.[0]?.env ?? [];
  const value = env.find((e) => e.name === PodEnv.gateway)?.value;
  if (!value) throw new Error(`pod ${pod.metadata?.name} has no ${PodEnv.gateway}`);
  return value;
}
