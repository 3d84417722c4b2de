import type { Readable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import type { PodLogOptions } from '../apiserver/http/pod-log.js';
import { ContainerRuntime, type RuntimeContext } from './container-runtime.js';
import { podStatus, rfc3339, type PodConditionJson, type PodStatusJson, type RestartPolicy } from './pod-status.js';

/** What a pod's worker needs from the runner. */
export type PodWorkerContext = Omit<RuntimeContext, 'pod' | 'owner' | 'restartPolicy'>;

/**
 * One pod on this node: its address, its containers' runtimes, its termination. The runner
 * keeps one per pod UID and feeds it the pod as it changes.
 */
export class PodWorker {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly podIP: string;
  readonly startTime: string;
  readonly #hostIP: string;
  readonly #restartPolicy: RestartPolicy;
  readonly #containers: ContainerRuntime[];
  #pod: V1Pod;
  #terminating: Promise<void> | undefined;
  #terminated = false;

  /** @param pod a private copy (never an informer's object). */
  constructor(pod: V1Pod, context: PodWorkerContext) {
    this.#pod = pod;
    this.uid = pod.metadata?.uid ?? '';
    this.namespace = pod.metadata?.namespace ?? 'default';
    this.name = pod.metadata?.name ?? '';
    this.podIP = context.podIP;
    this.#hostIP = context.hostIP;
    this.startTime = rfc3339(new Date());
    this.#restartPolicy = (pod.spec?.restartPolicy as RestartPolicy | undefined) ?? 'Always';
    const owner = { namespace: this.namespace, name: this.name, uid: this.uid };
    const ctx: RuntimeContext = { ...context, pod: () => this.#pod, owner, restartPolicy: this.#restartPolicy };
    this.#containers = (pod.spec?.containers ?? []).map((c) => new ContainerRuntime(c, ctx));
  }

  /** The pod as last seen (a private copy); labels and annotations feed the downward API. */
  update(pod: V1Pod): void {
    this.#pod = pod;
  }

  get pod(): V1Pod {
    return this.#pod;
  }

  /** Whether termination has begun. */
  get terminating(): boolean {
    return this.#terminating !== undefined;
  }

  /** Whether every container has stopped after {@link terminate}. */
  get terminated(): boolean {
    return this.#terminated;
  }

  /** Starts what should run. */
  async sync(): Promise<void> {
    if (this.#terminating) return;
    for (const container of this.#containers) await container.ensure();
  }

  /** Stops every container (SIGTERM, SIGKILL after `graceMs`); later calls share the first. */
  terminate(graceMs: number): Promise<void> {
    this.#terminating ??= Promise.all(this.#containers.map((c) => c.stop(graceMs))).then(() => {
      this.#terminated = true;
    });
    return this.#terminating;
  }

  /** The names of the containers that are running. */
  runningContainers(): string[] {
    return this.#containers.filter((c) => c.pid !== undefined).map((c) => c.name);
  }

  pids(): number[] {
    return this.#containers.map((c) => c.pid).filter((pid): pid is number => pid !== undefined);
  }

  /** The running containers' names and pids. */
  runningProcesses(): { container: string; pid: number }[] {
    return this.#containers.flatMap((c) => (c.pid === undefined ? [] : [{ container: c.name, pid: c.pid }]));
  }

  /** The pod status now; `previous` conditions keep their transition times. */
  status(previous: readonly PodConditionJson[] | undefined): PodStatusJson {
    return podStatus({
      restartPolicy: this.#restartPolicy,
      containers: this.#containers.map((c) => c.snapshot()),
      hostIP: this.#hostIP,
      podIP: this.podIP,
      startTime: this.startTime,
      previous,
      now: rfc3339(new Date()),
    });
  }

  /** A container's log; undefined for an unknown container or a log that does not exist. */
  logs(options: PodLogOptions): Promise<Readable | undefined> {
    const container = this.#containers.find((c) => c.name === options.container);
    return container ? container.logs(options) : Promise.resolve(undefined);
  }
}
