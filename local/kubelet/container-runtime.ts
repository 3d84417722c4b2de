import type { Readable } from 'node:stream';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import type { PodLogOptions } from '../apiserver/http/pod-log.js';
import { backoffMs } from '../../kube/controller-kit.js';
import { ContainerProcess, type ExitStatus } from './container.js';
import { expandArgv, resolveEnv, type EnvSources } from './env.js';
import { containerArgv, type ImageCommands } from './images.js';
import { containerLogFiles, readLog, rotateContainerLog, type LogOwner } from './logs.js';
import {
  rfc3339,
  type ContainerSnapshot,
  type ContainerStateJson,
  type RestartPolicy,
  type TerminatedState,
} from './pod-status.js';
import { ProbeWorker } from './probes.js';

/** Waiting reasons (pkg/kubelet/images and kuberuntime). */
export const ErrImagePull = 'ErrImagePull';
export const CreateContainerConfigError = 'CreateContainerConfigError';
export const RunContainerError = 'RunContainerError';
export const CrashLoopBackOff = 'CrashLoopBackOff';
export const ContainerCreating = 'ContainerCreating';

/** What a container's runtime shares with its pod. */
export interface RuntimeContext {
  /** The pod as last seen (a private copy). */
  readonly pod: () => V1Pod;
  readonly owner: LogOwner;
  readonly podIP: string;
  readonly hostIP: string;
  readonly logDir: string;
  readonly images: ImageCommands;
  /** Variables every container gets first. */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly restartPolicy: RestartPolicy;
  /** Restart delays: first and longest, in ms. */
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  /** Reads the ConfigMaps and Secrets the pod references. */
  readonly readSources: () => Promise<EnvSources>;
  readonly record: (type: 'Normal' | 'Warning', reason: string, message: string) => void;
  /** Something in the status may have changed: sync the pod. */
  readonly changed: () => void;
}

/**
 * One container of a running pod, across its runs: starts it, probes it, restarts it per the
 * restart policy with exponential backoff, and reports its state as a {@link ContainerSnapshot}.
 */
export class ContainerRuntime {
  readonly #spec: V1Container;
  readonly #ctx: RuntimeContext;
  #run: ContainerProcess | undefined;
  #probes: { startup?: ProbeWorker; liveness?: ProbeWorker; readiness?: ProbeWorker } = {};
  #waiting: { reason: string; message?: string } | undefined;
  /** The end of the last run (the current state while not restarting). */
  #terminated: TerminatedState | undefined;
  #lastTerminated: TerminatedState | undefined;
  #restartCount = 0;
  /** Consecutive crashes and failed starts, for the backoff. */
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #final = false;

  constructor(spec: V1Container, ctx: RuntimeContext) {
    this.#spec = spec;
    this.#ctx = ctx;
  }

  get name(): string {
    return this.#spec.name;
  }

  /** The pid of the running process, if any. */
  get pid(): number | undefined {
    return this.#run?.running ? this.#run.pid : undefined;
  }

  /** Starts the container unless it runs, waits for a backoff, is done for good, or is stopping. */
  async ensure(): Promise<void> {
    if (this.#stopping || this.#final || this.#timer || this.#run?.running) return;
    await this.#start();
  }

  /** Stops probing and restarting; SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopProbes();
    if (this.#run?.running) await this.#run.stop(graceMs);
  }

  /** The container's state for the pod status. */
  snapshot(): ContainerSnapshot {
    const run = this.#run?.running ? this.#run : undefined;
    const state = this.#state(run);
    const started = run !== undefined && (this.#spec.startupProbe ? this.#probes.startup?.result === true : true);
    const ready = started && (this.#spec.readinessProbe ? this.#probes.readiness?.result === true : true);
    const containerID = run ? containerIdOf(run.pid) : this.#terminated?.containerID;
    return {
      name: this.name,
      image: this.#spec.image ?? '',
      state,
      ...(this.#lastTerminated ? { lastTerminated: this.#lastTerminated } : {}),
      restartCount: this.#restartCount,
      ready,
      started,
      ...(containerID ? { containerID } : {}),
    };
  }

  #state(run: ContainerProcess | undefined): ContainerStateJson {
    if (run) return { running: { startedAt: rfc3339(run.startedAt) } };
    if (this.#waiting && !this.#stopping) return { waiting: this.#waiting };
    if (this.#terminated) return { terminated: this.#terminated };
    return { waiting: { reason: ContainerCreating } };
  }

  /** The log of the current (or `previous`) run; undefined when there is none. */
  logs(options: PodLogOptions): Promise<Readable | undefined> {
    const files = containerLogFiles(this.#ctx.logDir, this.#ctx.owner, this.name);
    const { tailLines, limitBytes, timestamps, sinceMs } = options;
    const read = { tailLines, limitBytes, timestamps, sinceMs };
    if (options.previous) return readLog(files.previous, read);
    const until = options.follow && this.#run?.running ? this.#run.exited : undefined;
    return readLog(files.current, { ...read, ...(until ? { until } : {}) });
  }

  async #start(): Promise<void> {
    const sources = await this.#ctx.readSources();
    const env = resolveEnv({ pod: this.#podWithAddresses(), container: this.#spec, sources, base: this.#ctx.baseEnv });
    if ('error' in env) return this.#failStart(CreateContainerConfigError, `Error: ${env.error}`);
    const command = this.#spec.command ? expandArgv(this.#spec.command, env.env) : undefined;
    const args = this.#spec.args ? expandArgv(this.#spec.args, env.env) : undefined;
    const argv = containerArgv(
      { image: this.#spec.image ?? '', ...(command ? { command } : {}), ...(args ? { args } : {}) },
      this.#ctx.images,
    );
    if ('error' in argv)
      return this.#failStart(ErrImagePull, `Failed to pull image "${this.#spec.image}": ${argv.error}`);
    this.#ctx.record('Normal', 'Pulled', `Container image "${this.#spec.image}" already present on machine`);
    let run: ContainerProcess;
    try {
      const logFile = await rotateContainerLog(this.#ctx.logDir, this.#ctx.owner, this.name);
      run = await ContainerProcess.start({
        argv: argv.argv,
        env: env.env,
        logFile,
        onLogError: (error) =>
          this.#ctx.record('Warning', 'Failed', `Error: writing the container log: ${String(error)}`),
      });
    } catch (error) {
      return this.#failStart(RunContainerError, `Error: ${(error as Error).message}`);
    }
    this.#ctx.record('Normal', 'Created', `Created container ${this.name}`);
    this.#ctx.record('Normal', 'Started', `Started container ${this.name}`);
    this.#run = run;
    this.#waiting = undefined;
    void run.exited.then((status) => this.#onExit(run, status));
    // Stopped while starting (the pod was deleted or the runner closed): this run goes too.
    if (this.#stopping) return void run.stop(0);
    this.#startProbes(env.env);
  }

  /** The pod as the downward API sees it: its addresses are known before its status says so. */
  #podWithAddresses(): V1Pod {
    const pod = this.#ctx.pod();
    const { podIP, hostIP } = this.#ctx;
    return { ...pod, status: { ...pod.status, podIP, podIPs: [{ ip: podIP }], hostIP, hostIPs: [{ ip: hostIP }] } };
  }

  #failStart(reason: string, message: string): void {
    this.#waiting = { reason, message };
    this.#ctx.record('Warning', 'Failed', message);
    this.#retryAfter(backoffMs(this.#attempt++, this.#ctx.backoff.baseMs, this.#ctx.backoff.maxMs));
  }

  #onExit(run: ContainerProcess, status: ExitStatus): void {
    this.#stopProbes();
    const ranMs = status.finishedAt.getTime() - run.startedAt.getTime();
    // The kubelet forgets the backoff of a container that ran well for twice the longest delay.
    if (ranMs > 2 * this.#ctx.backoff.maxMs) this.#attempt = 0;
    this.#terminated = {
      exitCode: status.exitCode,
      ...(status.signal !== undefined ? { signal: status.signal } : {}),
      reason: status.exitCode === 0 ? 'Completed' : 'Error',
      startedAt: rfc3339(run.startedAt),
      finishedAt: rfc3339(status.finishedAt),
      containerID: containerIdOf(run.pid),
    };
    if (this.#stopping || !shouldRestart(this.#ctx.restartPolicy, status.exitCode)) {
      this.#final = !this.#stopping;
      this.#ctx.changed();
      return;
    }
    this.#lastTerminated = this.#terminated;
    this.#restartCount++;
    const delay = backoffMs(this.#attempt++, this.#ctx.backoff.baseMs, this.#ctx.backoff.maxMs);
    const pod = this.#ctx.owner;
    this.#waiting = {
      reason: CrashLoopBackOff,
      message: `back-off ${formatDelay(delay)} restarting failed container=${this.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`,
    };
    this.#ctx.record(
      'Warning',
      'BackOff',
      `Back-off restarting failed container ${this.name} in pod ${pod.name}_${pod.namespace}(${pod.uid})`,
    );
    this.#retryAfter(delay);
    this.#ctx.changed();
  }

  #retryAfter(delayMs: number): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#ctx.changed();
    }, delayMs);
  }

  #startProbes(env: Readonly<Record<string, string>>): void {
    const target = { podIP: this.#ctx.podIP, ports: this.#spec.ports ?? [], env };
    const probe = (spec: V1Probe, onResult: (ok: boolean) => void, kind: string): ProbeWorker => {
      const worker = new ProbeWorker({
        probe: spec,
        target,
        onResult,
        onFailure: (message) => this.#ctx.record('Warning', 'Unhealthy', `${kind} probe failed: ${message}`),
      });
      worker.start();
      return worker;
    };
    const afterStarted = (): void => {
      if (this.#spec.livenessProbe)
        this.#probes.liveness = probe(
          this.#spec.livenessProbe,
          (ok) => ok || this.#kill(this.#spec.livenessProbe!, 'liveness'),
          'Liveness',
        );
      if (this.#spec.readinessProbe)
        this.#probes.readiness = probe(this.#spec.readinessProbe, () => this.#ctx.changed(), 'Readiness');
    };
    const startup = this.#spec.startupProbe;
    if (!startup) return afterStarted();
    this.#probes.startup = probe(
      startup,
      (ok) => {
        if (!ok) return this.#kill(startup, 'startup');
        this.#probes.startup?.stop();
        afterStarted();
        this.#ctx.changed();
      },
      'Startup',
    );
  }

  /** A failed liveness or startup probe: the container is killed, then restarted per the policy. */
  #kill(probe: V1Probe, kind: string): void {
    const run = this.#run;
    if (!run?.running || this.#stopping) return;
    this.#stopProbes();
    this.#ctx.record('Normal', 'Killing', `Container ${this.name} failed ${kind} probe, will be restarted`);
    const graceSeconds =
      probe.terminationGracePeriodSeconds ?? this.#ctx.pod().spec?.terminationGracePeriodSeconds ?? 30;
    void run.stop(graceSeconds * 1000);
  }

  #stopProbes(): void {
    for (const worker of Object.values(this.#probes)) worker.stop();
    this.#probes = {};
  }
}

/** Whether a container that exited with `exitCode` is started again. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

function containerIdOf(pid: number): string {
  return `local://${pid}`;
}

/** `10s`, `1m20s`, `500ms`, as Go prints a duration. */
function formatDelay(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}
