import { cpus, release, totalmem, type } from 'node:os';
import {
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Node,
  type V1Taint,
} from '@kubernetes/client-node';
import { ResilientInformer, WorkQueue } from '../../kube/controller-kit.js';
import { apiStatusCode } from '../../kube/api-errors.js';
import { Lifecycle } from './lifecycle.js';

/** Options of {@link NodeController}. */
export interface NodeControllerOptions {
  readonly kc: KubeConfig;
  /** The nodes to register, `<prefix>-1` to `<prefix>-<count>`. Default 3. */
  readonly count?: number;
  /** The prefix of the node names. Default `local`. */
  readonly prefix?: string;
  /** How often each node's conditions get a fresh `lastHeartbeatTime`, in ms. Default 40,000. */
  readonly heartbeatMs?: number;
  /** The clock. Default `() => new Date()`. */
  readonly now?: () => Date;
  /** Told of failed writes (retried) and informer restarts. Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

const DEFAULTS = {
  count: 3,
  prefix: 'local',
  heartbeatMs: 40_000,
  now: (): Date => new Date(),
  onError: (): void => undefined,
};

type ResolvedOptions = Required<NodeControllerOptions>;

/** The taint the node lifecycle controller keeps on a cordoned node (`spec.unschedulable`). */
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

/** The kubelet version every node reports, the API server's own. */
const KUBELET_VERSION = 'v1.32.0';

/** Pods a node takes (the kubelet's default `maxPods`). */
const MAX_PODS = '110';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/**
 * Registers this machine as `count` Nodes, as each node's kubelet would, keeps their Ready
 * condition's heartbeat fresh, and keeps the `node.kubernetes.io/unschedulable:NoSchedule` taint
 * on cordoned nodes and off the others, as the node lifecycle controller does. Every node is
 * this machine: one pod runner runs the pods of all of them.
 */
export class NodeController {
  readonly #options: ResolvedOptions;
  readonly #core: CoreV1Api;
  readonly #nodes: ResilientInformer<V1Node>;
  readonly #queue: WorkQueue;
  #heartbeat: NodeJS.Timeout | undefined;
  readonly #lifecycle = new Lifecycle('NodeController', { start: () => this.#start(), close: () => this.#close() });

  constructor(options: NodeControllerOptions) {
    this.#options = resolveOptions(options);
    const { kc, onError } = this.#options;
    const core = kc.makeApiClient(CoreV1Api);
    this.#core = core;
    this.#nodes = new ResilientInformer<V1Node>({ kc, onError, path: '/api/v1/nodes', list: () => core.listNode() });
    this.#queue = new WorkQueue((name) => this.#syncTaint(name), { onError: (_key, error) => onError(error) });
    for (const event of ['add', 'update'] as const)
      this.#nodes.on(event, (node) => this.#queue.add(node.metadata!.name!));
  }

  /** The names of the nodes registered. */
  get names(): string[] {
    return Array.from({ length: this.#options.count }, (_, i) => `${this.#options.prefix}-${i + 1}`);
  }

  /** Registers the nodes (keeping any already there) and starts watching them. Refused after `close()`. */
  start(): Promise<void> {
    return this.#lifecycle.start();
  }

  /** Stops the heartbeats and the watch. Idempotent. */
  close(): Promise<void> {
    return this.#lifecycle.close();
  }

  async #start(): Promise<void> {
    for (const name of this.names) {
      try {
        await this.#core.createNode({ body: desiredNode(name, this.#options.now()) });
      } catch (error) {
        if (apiStatusCode(error) !== 409) throw new Error(`while registering node ${name}`, { cause: error });
      }
    }
    await this.#nodes.start();
    this.#heartbeat = setInterval(() => void this.#beat(), this.#options.heartbeatMs);
    this.#heartbeat.unref();
  }

  async #close(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#nodes.close();
    await this.#queue.close();
  }

  async #beat(): Promise<void> {
    const now = this.#options
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    for (const name of this.names) {
      const node = this.#nodes.get(name);
      if (!node?.status?.conditions) continue;
      const conditions = node.status.conditions.map((c) => ({ ...c, lastHeartbeatTime: now }));
      try {
        await this.#core.patchNodeStatus({ name, body: { status: { conditions } } }, mergePatch);
      } catch (error) {
        this.#options.onError(error);
      }
    }
  }

  async #syncTaint(name: string): Promise<void> {
    const node = this.#nodes.get(name);
    if (!node || this.#lifecycle.isClosed) return;
    const taints = node.spec?.taints ?? [];
    const tainted = taints.some((t) => t.key === UNSCHEDULABLE_TAINT && t.effect === 'NoSchedule');
    const cordoned = node.spec?.unschedulable === true;
    if (tainted === cordoned) return;
    const next: V1Taint[] = cordoned
      ? [...taints, { key: UNSCHEDULABLE_TAINT, effect: 'NoSchedule', timeAdded: this.#options.now() }]
      : taints.filter((t) => t.key !== UNSCHEDULABLE_TAINT);
    const body = { metadata: { resourceVersion: node.metadata?.resourceVersion }, spec: { taints: next } };
    try {
      await this.#core.patchNode({ name, body }, mergePatch);
    } catch (error) {
      if (apiStatusCode(error) !== 409 && apiStatusCode(error) !== 404) throw error;
    }
  }
}

/** A v1 Node for this machine named `name`, Ready, with its capacity and addresses. */
export function desiredNode(name: string, now: Date): V1Node {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const capacity = { cpu: String(cpus().length), memory: `${Math.floor(totalmem() / 1024)}Ki`, pods: MAX_PODS };
  const condition = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'beta.kubernetes.io/arch': arch,
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': arch,
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
      },
    },
    spec: {},
    status: {
      capacity,
      allocatable: capacity,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: name,
        systemUUID: name,
        bootID: name,
        kernelVersion: release(),
        osImage: type(),
        containerRuntimeVersion: `local://${process.version}`,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: KUBELET_VERSION,
        operatingSystem: 'linux',
        architecture: arch,
      },
    },
  };
}

function resolveOptions(options: NodeControllerOptions): ResolvedOptions {
  const resolved = { ...DEFAULTS, ...options };
  if (!Number.isInteger(resolved.count) || resolved.count < 1) {
    throw new RangeError(`count must be an integer >= 1, got ${resolved.count}`);
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(resolved.prefix)) {
    throw new TypeError(`prefix must be a DNS label, got ${JSON.stringify(resolved.prefix)}`);
  }
  if (!Number.isFinite(resolved.heartbeatMs) || resolved.heartbeatMs <= 0) {
    throw new RangeError(`heartbeatMs must be a positive number, got ${resolved.heartbeatMs}`);
  }
  return resolved;
}
