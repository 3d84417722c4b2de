/**
 * Child-process entry of the virtual node (bench/lib/virtual-node.ts): runs one
 * {@link VirtualKubelet}, so every simulated gateway lives in this one process, measured apart
 * from the bench (API server, controllers) and the operator.
 *
 * Usage: `node dist/bench/lib/virtual-node-process.js '<VirtualNodeConfig JSON>'` with an IPC
 * channel; answers `stats`, exits on `close` or when the parent goes away.
 */
import { loadKubeConfig } from '../../kube/kube-config.js';
import { VirtualKubelet } from './virtual-kubelet.js';

/** What the child is started with. */
export interface VirtualNodeConfig {
  readonly kubeconfig: string;
  readonly node: string;
  readonly firstPodAddress: string;
  readonly renewSeconds: number;
  readonly durationSeconds: number;
}

/** Messages the parent sends. */
export type VirtualNodeRequest = { readonly type: 'stats' } | { readonly type: 'close' };

/** Messages the child sends. */
export type VirtualNodeReply =
  | { readonly type: 'ready' }
  | { readonly type: 'stats'; readonly gateways: number; readonly rss: number; readonly heapUsed: number }
  | { readonly type: 'failed'; readonly error: string };

const config = JSON.parse(process.argv[2] ?? '{}') as VirtualNodeConfig;
const env = { KUBECONFIG: config.kubeconfig };
let errors = 0;
const kubelet = new VirtualKubelet({
  kc: loadKubeConfig({ env, userAgent: 'virtual-kubelet' }),
  gatewayKc: loadKubeConfig({ env, userAgent: 'imring-gateway' }),
  node: config.node,
  firstPodAddress: config.firstPodAddress,
  renewSeconds: config.renewSeconds,
  durationSeconds: config.durationSeconds,
  onError: (error) => {
    // Logged a few times only: a burst of the same failure would flood the bench's stderr.
    if (errors++ < 5) process.stderr.write(`[virtual-node] ${String(error)}\n`);
  },
});

const send = (message: VirtualNodeReply): void => {
  process.send?.(message);
};

async function shutdown(): Promise<void> {
  await kubelet.close();
  process.disconnect?.();
  process.exit(0);
}

process.on('disconnect', () => void shutdown());
process.on('message', (message: VirtualNodeRequest) => {
  if (message.type === 'close') void shutdown();
  else {
    const { rss, heapUsed } = process.memoryUsage();
    send({ type: 'stats', gateways: kubelet.size, rss, heapUsed });
  }
});

try {
  await kubelet.start();
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'failed', error: String(error) });
  process.exit(1);
}
