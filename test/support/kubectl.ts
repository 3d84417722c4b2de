import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { stringify } from 'yaml';
import { startLocalApi, type LocalApi } from './local-api.js';

/** The kubectl the tests drive (v1.32). */
export const KUBECTL = '/usr/bin/kubectl';

/** Longest a single kubectl command may run, in ms; it is killed (SIGTERM) after. */
export const COMMAND_TIMEOUT_MS = 30_000;

/** Longest a watch waits for an expected output line, in ms. */
export const LINE_TIMEOUT_MS = 10_000;

/** Largest output of one kubectl command kept, in bytes. */
const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;

/** How one kubectl command ended. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every kubectl process started by this module that has not exited yet. */
const live = new Set<ChildProcess>();

/** Pids of kubectl processes started by these helpers that have not exited: empty unless a test leaks. */
export function liveKubectlPids(): number[] {
  return [...live].map((child) => child.pid ?? -1);
}

/**
 * A local API server and a kubectl pointed at it through its own kubeconfig and a fresh
 * `--cache-dir`, both in a temp dir (also kubectl's HOME, so no user config leaks in).
 */
export class KubectlSession {
  readonly api: LocalApi;
  readonly dir: string;
  readonly #watches = new Set<KubectlWatch>();
  #closing: Promise<void> | undefined;

  private constructor(api: LocalApi, dir: string) {
    this.api = api;
    this.dir = dir;
  }

  /** Starts a server on port 0 and writes its kubeconfig. The caller must `close()` it. */
  static async start(): Promise<KubectlSession> {
    const dir = await mkdtemp(join(tmpdir(), 'imring-kubectl-'));
    try {
      const api = await startLocalApi();
      await api.server.writeKubeconfig(join(dir, 'kubeconfig'));
      return new KubectlSession(api, dir);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs one kubectl command to its end; a non-zero exit is a result, a timeout throws. */
  run(args: readonly string[]): Promise<KubectlResult> {
    return runKubectl(join(this.dir, 'kubeconfig'), this.dir, args);
  }

  /** {@link run} that must succeed: resolves to stdout, throws with stderr otherwise. */
  async ok(args: readonly string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result.stdout;
  }

  /** Writes `objects` as one multi-document YAML manifest in the temp dir; returns its path. */
  async write(name: string, objects: readonly unknown[]): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, objects.map((o) => stringify(o)).join('---\n'));
    return path;
  }

  /** Starts a long-running kubectl (`get -w`), stopped by `close()` at the latest. */
  watch(args: readonly string[]): KubectlWatch {
    const child = spawn(KUBECTL, this.#argv(args), { env: this.#env(), stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    const watch = new KubectlWatch(child);
    this.#watches.add(watch);
    return watch;
  }

  /** Stops every watch, the server, and removes the temp dir. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#watches].map((w) => w.stop()));
      await this.api.close();
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.#closing;
  }

  #argv(args: readonly string[]): string[] {
    return ['--kubeconfig', join(this.dir, 'kubeconfig'), '--cache-dir', join(this.dir, 'cache'), ...args];
  }

  #env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, HOME: this.dir };
  }
}

/**
 * Runs one kubectl command against `kubeconfig` to its end (HOME and --cache-dir in `dir`, so
 * no user configuration leaks in); a non-zero exit is a result, a timeout throws.
 */
export function runKubectl(kubeconfig: string, dir: string, args: readonly string[]): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const argv = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args];
    const child = execFile(
      KUBECTL,
      argv,
      {
        env: { PATH: process.env.PATH, HOME: dir },
        timeout: COMMAND_TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        const code = error ? (error as { code?: unknown }).code : 0;
        if (typeof code === 'number') resolve({ code, stdout, stderr });
        else reject(new Error(`kubectl ${args.join(' ')} did not finish: ${stderr}`, { cause: error }));
      },
    );
    track(child);
  });
}

/** Runs `body` with a fresh {@link KubectlSession}, closed afterwards even if `body` throws. */
export async function withKubectl(body: (k: KubectlSession) => Promise<void>): Promise<void> {
  const session = await KubectlSession.start();
  try {
    await body(session);
  } finally {
    await session.close();
  }
}

/** A running kubectl whose stdout is read line by line. */
export class KubectlWatch {
  readonly child: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: string[] = [];
  #stderr = '';
  readonly #reader: Interface;
  readonly #exited: Promise<void>;

  constructor(child: ChildProcess) {
    this.child = child;
    // A failed spawn emits 'error' and may never emit 'close'.
    this.#exited = new Promise((resolve) => {
      child.once('close', () => resolve());
      child.once('error', (error) => {
        this.#stderr += `${error.message}\n`;
        resolve();
      });
    });
    // Registered first, so later 'line' listeners see `lines` already holding the line.
    this.#reader = createInterface({ input: child.stdout! }).on('line', (line) => this.lines.push(line));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#stderr += chunk));
  }

  /** Resolves with the first line (seen so far or later) matching `pattern`; rejects on exit or after `timeoutMs`. */
  line(pattern: RegExp, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, line?: string): void => {
        clearTimeout(timer);
        this.#reader.off('line', check);
        this.child.off('close', exited);
        if (error) reject(error);
        else resolve(line!);
      };
      const check = (): void => {
        const found = this.lines.find((l) => pattern.test(l));
        if (found !== undefined) finish(undefined, found);
      };
      const exited = (): void => finish(this.#failure(`exited before a line matched ${pattern}`));
      const timer = setTimeout(
        () => finish(this.#failure(`no line matched ${pattern} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#reader.on('line', check);
      this.child.once('close', exited);
      check();
    });
  }

  /** Sends SIGTERM unless it has exited, and waits for the exit. Idempotent. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.#exited;
    return { code: this.child.exitCode, signal: this.child.signalCode };
  }

  #failure(what: string): Error {
    return new Error(
      `kubectl ${this.child.spawnargs.slice(5).join(' ')} ${what}; stdout: ${JSON.stringify(this.lines)}; stderr: ${this.#stderr}`,
    );
  }
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
}

/** A Widget manifest (see `widgetCrd()`), in namespace `default` unless the context says otherwise. */
export function widget(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name }, spec };
}

/** A ConfigMap manifest. */
export function configMap(
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = { a: '1' },
): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

/** A StatefulSet manifest with one container, selecting `app: <name>`. */
export function statefulSet(name: string, replicas: number): Record<string, unknown> {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      serviceName: name,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'example/web:1' }] } },
    },
  };
}

/** What a core/v1 Event says about its object. */
export interface EventInit {
  name: string;
  reason: string;
  message: string;
}

/**
 * A core/v1 Event about `about` (a served object: its apiVersion, kind and metadata), as a controller would record it.
 */
export function eventAbout(
  about: { apiVersion: string; kind: string; metadata: { name: string; namespace: string; uid: string } },
  init: EventInit,
): Record<string, unknown> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const { name, namespace, uid } = about.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: init.name, namespace },
    involvedObject: { apiVersion: about.apiVersion, kind: about.kind, name, namespace, uid },
    reason: init.reason,
    message: init.message,
    type: 'Normal',
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'imring-test' },
  };
}
