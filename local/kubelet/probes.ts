import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';
import { PROBE_API_DEFAULTS } from '../apiserver/store/pod-defaults.js';

/**
 * Container probes (startup, liveness, readiness) as the kubelet runs them
 * (pkg/kubelet/prober): httpGet, tcpSocket and exec, run from this process against the pod's
 * address; thresholds and timing from the probe, with the API defaults.
 */

/** One probe attempt's outcome; `message` says why it failed. */
export interface ProbeResult {
  readonly success: boolean;
  readonly message: string;
}

/** What a probe runs against. */
export interface ProbeTarget {
  readonly podIP: string;
  readonly ports: readonly V1ContainerPort[];
  /** The container's environment, for exec probes. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * Probe timing when a field is missing: the API server's defaults, which every pod it admits
 * already carries; no initial delay.
 */
export const PROBE_DEFAULTS = { ...PROBE_API_DEFAULTS, initialDelaySeconds: 0 } as const;

/** Largest exec probe output kept for the failure message, in bytes (the kubelet keeps 10 KiB). */
const MAX_EXEC_OUTPUT_BYTES = 10 * 1024;

/** Runs one probe attempt; never throws. */
export async function runProbe(probe: V1Probe, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? PROBE_DEFAULTS.timeoutSeconds) * 1000;
  try {
    if (probe.httpGet) return await httpProbe(probe.httpGet, target, timeoutMs);
    if (probe.tcpSocket)
      return await tcpProbe(
        { host: probe.tcpSocket.host || target.podIP, port: portOf(probe.tcpSocket.port, target.ports) },
        timeoutMs,
      );
    if (probe.exec) return await execProbe(probe.exec.command ?? [], target.env, timeoutMs);
    return {
      success: false,
      message: probe.grpc ? 'grpc probes are not supported by the local pod runner' : 'the probe has no handler',
    };
  } catch (error) {
    return { success: false, message: (error as Error).message };
  }
}

/** A probe's consecutive counts and its current result (undefined before it is decided). */
export interface ProbeState {
  readonly result: boolean | undefined;
  readonly successes: number;
  readonly failures: number;
}

/** The probe state after one more attempt: the result flips only at its threshold. Pure. */
export function nextProbeState(state: ProbeState, success: boolean, probe: V1Probe): ProbeState {
  const successes = success ? state.successes + 1 : 0;
  const failures = success ? 0 : state.failures + 1;
  let result = state.result;
  if (success && successes >= (probe.successThreshold ?? PROBE_DEFAULTS.successThreshold)) result = true;
  if (!success && failures >= (probe.failureThreshold ?? PROBE_DEFAULTS.failureThreshold)) result = false;
  return { result, successes, failures };
}

/** What a {@link ProbeWorker} tells its owner. */
export interface ProbeWorkerOptions {
  readonly probe: V1Probe;
  readonly target: ProbeTarget;
  /** The decided result changed. */
  readonly onResult: (result: boolean) => void;
  /** One attempt failed (the kubelet's `Unhealthy` event). */
  readonly onFailure: (message: string) => void;
}

/** Runs a probe every `periodSeconds` after `initialDelaySeconds`, one attempt at a time, until stopped. */
export class ProbeWorker {
  readonly #options: ProbeWorkerOptions;
  #state: ProbeState = { result: undefined, successes: 0, failures: 0 };
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ProbeWorkerOptions) {
    this.#options = options;
  }

  /** The decided result, undefined until the first threshold is met. */
  get result(): boolean | undefined {
    return this.#state.result;
  }

  start(): void {
    this.#schedule((this.#options.probe.initialDelaySeconds ?? 0) * 1000);
  }

  /** Stops probing (an attempt in flight is ignored). Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#attempt(), delayMs);
  }

  async #attempt(): Promise<void> {
    const { probe, target } = this.#options;
    const outcome = await runProbe(probe, target);
    if (this.#stopped) return;
    const before = this.#state.result;
    this.#state = nextProbeState(this.#state, outcome.success, probe);
    if (!outcome.success) this.#options.onFailure(outcome.message);
    if (this.#state.result !== before && this.#state.result !== undefined) this.#options.onResult(this.#state.result);
    this.#schedule((probe.periodSeconds ?? PROBE_DEFAULTS.periodSeconds) * 1000);
  }
}

/** A port by number, numeric string, or the name of a container port. */
export function portOf(port: number | string, ports: readonly V1ContainerPort[]): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = ports.find((p) => p.name === port);
  if (!named) throw new Error(`port "${port}" is not a named port of the container`);
  return named.containerPort;
}

function httpProbe(
  action: NonNullable<V1Probe['httpGet']>,
  target: ProbeTarget,
  timeoutMs: number,
): Promise<ProbeResult> {
  const host = action.host || target.podIP;
  const port = portOf(action.port, target.ports);
  const path = action.path || '/';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  const request = action.scheme === 'HTTPS' ? httpsRequest : httpRequest;
  const url = `${action.scheme === 'HTTPS' ? 'https' : 'http'}://${host}:${port}${path}`;
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(
        status >= 200 && status < 400
          ? { success: true, message: '' }
          : { success: false, message: `HTTP probe failed with statuscode: ${status}` },
      );
    });
    req.on('timeout', () =>
      req.destroy(
        new Error(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`),
      ),
    );
    req.on('error', (error) => resolve({ success: false, message: `Get "${url}": ${error.message}` }));
    req.end();
  });
}

function tcpProbe(address: { host: string; port: number }, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect(address);
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`dial tcp ${address.host}:${address.port}: i/o timeout`)),
    );
    socket.once('connect', () => {
      socket.destroy();
      resolve({ success: true, message: '' });
    });
    socket.once('error', (error) => resolve({ success: false, message: error.message }));
  });
}

function execProbe(
  command: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
): Promise<ProbeResult> {
  if (command.length === 0) return Promise.resolve({ success: false, message: 'exec probe has no command' });
  return new Promise((resolve) => {
    const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (chunk: Buffer): void => {
      if (output.length < MAX_EXEC_OUTPUT_BYTES)
        output += chunk.toString('utf8').slice(0, MAX_EXEC_OUTPUT_BYTES - output.length);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      killGroup(child.pid);
      resolve({ success: false, message: `command timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ success: false, message: error.message });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve(
        code === 0
          ? { success: true, message: '' }
          : { success: false, message: output.trim() || `command exited with ${code}` },
      );
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone: nothing to kill.
  }
}
