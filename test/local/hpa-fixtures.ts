/** What the resource metrics and autoscaling tests share: a CPU-burning workload, a kubectl bound to a cluster. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { LocalCluster } from '../../local/cluster.js';
import { runKubectl } from '../support/kubectl.js';
import { watchUntil, type Observe } from '../support/wait.js';
import { webPodTemplate } from './cluster-fixtures.js';

/** The kubectl of a cluster: its kubeconfig, HOME and cache in the cluster's state dir. */
export class ClusterKubectl {
  readonly #cluster: LocalCluster;

  constructor(cluster: LocalCluster) {
    this.#cluster = cluster;
  }

  /** stdout of a command that must succeed. */
  async ok(...args: string[]): Promise<string> {
    const result = await runKubectl(this.#cluster.kubeconfigPath, this.#cluster.stateDir, args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** stderr of a command that must fail. */
  async fails(...args: string[]): Promise<string> {
    const result = await runKubectl(this.#cluster.kubeconfigPath, this.#cluster.stateDir, args);
    if (result.code === 0) throw new Error(`kubectl ${args.join(' ')} succeeded: ${result.stdout}`);
    return result.stderr;
  }

  /** `kubectl apply -f` of `object` as YAML. */
  async apply(object: unknown): Promise<string> {
    const path = join(this.#cluster.stateDir, 'manifest.yaml');
    await writeFile(path, stringify(object));
    return this.ok('apply', '-f', path);
  }
}

/** A Deployment `web` of the test server, its container requesting `cpuRequest` (none when undefined). */
export function cpuDeployment(replicas: number, cpuRequest: string | undefined): V1Deployment {
  const template = webPodTemplate();
  if (cpuRequest !== undefined) template.spec!.containers[0]!.resources = { requests: { cpu: cpuRequest } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template },
  };
}

/** Asks the test server in `pod` to keep about `millicores` of CPU busy (0 stops it). */
export async function burnCpu(pod: V1Pod, millicores: number): Promise<void> {
  const response = await fetch(`http://${pod.status!.podIP}:8080/cpu/${millicores}`, { method: 'POST' });
  if (!response.ok) throw new Error(`POST /cpu/${millicores} to ${pod.metadata!.name}: ${response.status}`);
}

/**
 * Resolves with the first result of `check` that is not undefined, evaluated on every event of
 * `path` and once per metrics window (`windowMs`): resource metrics change without events.
 */
export function untilEachWindow<T>(
  cluster: LocalCluster,
  path: string,
  windowMs: number,
  check: (observe: Observe) => Promise<T | undefined>,
): Promise<T> {
  return watchUntil(cluster.kc, path, check, {
    wake: (evaluate) => {
      const timer = setInterval(evaluate, windowMs);
      return () => clearInterval(timer);
    },
  });
}

/** The figures of `kubectl top pod` rows: name → [millicores, MiB]. */
export function topRows(stdout: string): Map<string, [number, number]> {
  const rows = new Map<string, [number, number]>();
  for (const line of stdout.trim().split('\n').slice(1)) {
    const cells = line.trim().split(/\s+/);
    const [cpu, memory] = cells.slice(-2);
    rows.set(cells.slice(0, -2).join(' '), [parseInt(cpu!, 10), parseInt(memory!, 10)]);
  }
  return rows;
}
