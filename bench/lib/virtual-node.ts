/**
 * A virtual node for simulated gateways: a Node registered with the API server (Ready, room
 * for 1,100 pods, a label the bench's pods select) whose kubelet is a child process of the
 * bench (bench/lib/virtual-node-process.ts) running every pod bound to it as a simulated gateway.
 * The local pod runner never serves it, so a thousand gateway pods cost no thousand processes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { desiredNode } from '../../local/controllers/nodes.js';
import { nextMessage } from './children.js';
import type { VirtualNodeConfig, VirtualNodeReply } from './virtual-node-process.js';

const ENTRY = fileURLToPath(new URL('./virtual-node-process.js', import.meta.url));
/** The label of the virtual node, for the gateway pods' `nodeSelector`. */
export const VIRTUAL_NODE_LABEL = { 'imring.dev/bench': 'simulated' } as const;
/** Pods the virtual node has room for. */
const VIRTUAL_NODE_PODS = '1100';
/** How long the child may take to start or to answer, ms. */
const ANSWER_TIMEOUT_MS = 30_000;
/** 127.15.0.0/16: below the pod runner's random /16s (127.16 and up), so no address is handed twice. */
const FIRST_POD_ADDRESS = '127.15.0.1';

export interface VirtualNodeOptions {
  /** An admin client of the cluster (registers the Node). */
  readonly kc: KubeConfig;
  /** The kubeconfig file the child's clients load. */
  readonly kubeconfigPath: string;
  /** Default `virtual-1`. */
  readonly name?: string;
  /** The simulated gateways' Lease periods, s. */
  readonly renewSeconds: number;
  readonly durationSeconds: number;
}

/** Measured figures of the child. */
export interface VirtualNodeStats {
  readonly gateways: number;
  readonly rss: number;
  readonly heapUsed: number;
}

/** The virtual node and its kubelet process. */
export class VirtualNode {
  readonly name: string;
  readonly #child: ChildProcess;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
  }

  /** Registers the Node and starts its kubelet; resolves once it watches pods. */
  static async start(options: VirtualNodeOptions): Promise<VirtualNode> {
    const name = options.name ?? 'virtual-1';
    const node = desiredNode(name, new Date());
    node.metadata = { ...node.metadata, labels: { ...node.metadata?.labels, ...VIRTUAL_NODE_LABEL } };
    node.status = {
      ...node.status,
      capacity: { ...node.status?.capacity, pods: VIRTUAL_NODE_PODS },
      allocatable: { ...node.status?.allocatable, pods: VIRTUAL_NODE_PODS },
    };
    await options.kc.makeApiClient(CoreV1Api).createNode({ body: node });
    const config: VirtualNodeConfig = {
      kubeconfig: options.kubeconfigPath,
      node: name,
      firstPodAddress: FIRST_POD_ADDRESS,
      renewSeconds: options.renewSeconds,
      durationSeconds: options.durationSeconds,
    };
    const child = fork(ENTRY, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const virtual = new VirtualNode(name, child);
    const ready = await virtual.#next();
    if (ready.type !== 'ready') {
      child.kill('SIGKILL');
      throw new Error(
        `the virtual node's kubelet did not start: ${ready.type === 'failed' ? ready.error : ready.type}`,
      );
    }
    return virtual;
  }

  /** The kubelet process's pid (CPU from /proc). */
  get pid(): number {
    return this.#child.pid!;
  }

  async stats(): Promise<VirtualNodeStats> {
    const answer = this.#next();
    this.#child.send({ type: 'stats' });
    const stats = await answer;
    if (stats.type !== 'stats') throw new Error(`virtual node: unexpected ${stats.type}`);
    return { gateways: stats.gateways, rss: stats.rss, heapUsed: stats.heapUsed };
  }

  /** Stops every simulated gateway (their Leases deleted) and the process. Idempotent. */
  async close(): Promise<void> {
    const child = this.#child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.connected) child.send({ type: 'close' });
    const timer = setTimeout(() => child.kill('SIGKILL'), ANSWER_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  #next(): Promise<VirtualNodeReply> {
    return nextMessage<VirtualNodeReply>(this.#child, ANSWER_TIMEOUT_MS);
  }
}
