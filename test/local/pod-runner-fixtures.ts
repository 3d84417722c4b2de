import assert from 'node:assert/strict';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { LOCAL_IMAGES_ENV } from '../../cli/local-system.js';
import { PodRunner, type PodRunnerOptions } from '../../local/kubelet/pod-runner.js';
import { startLocalApi, until, type LocalApi } from '../support/local-api.js';
import { describePod } from '../support/pod-state.js';
import { isAlive } from '../support/wait.js';

export { isAlive };

/** The test server's image, mapped to `node dist/test/fixtures/test-server.js`. */
export const TEST_IMAGE = 'imring-test/server';
export const TEST_SERVER = fileURLToPath(new URL('../fixtures/test-server.js', import.meta.url));

/** A pod as stored (plain JSON), read loosely by the tests. */
export interface StoredPod {
  metadata: any;
  spec: any;
  status: any;
}

/** A local API server with a pod runner serving its pods and logs. */
export interface Harness {
  api: LocalApi;
  core: CoreV1Api;
  runner: PodRunner;
  logDir: string;
  errors: unknown[];
  /** Resolves with the stored pod once `predicate` holds for it (checked at every change). */
  pod(name: string, predicate: (pod: StoredPod) => boolean, timeoutMs?: number): Promise<StoredPod>;
  /**
   * Resolves with the first version of the pod, since the server started, for which `predicate` held (transient states
   * included).
   */
  seen(name: string, predicate: (pod: StoredPod) => boolean, timeoutMs?: number): Promise<StoredPod>;
  /** Resolves once the pod is gone from the store. */
  gone(name: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the first event about `name` with `reason` (and a message matching `message`). */
  event(name: string, reason: string, message?: RegExp): Promise<{ message: string }>;
  close(): Promise<void>;
}

/**
 * Starts a server and a runner (test image mapped, more from imring's variable, small backoff);
 * the caller must `close()`.
 */
export async function startHarness(options: Partial<PodRunnerOptions> = {}): Promise<Harness> {
  const api = await startLocalApi();
  const logDir = await mkdtemp(join(tmpdir(), 'imring-pods-'));
  const errors: unknown[] = [];
  const runner = new PodRunner({
    kc: api.kc,
    logDir,
    images: { [TEST_IMAGE]: [process.execPath, TEST_SERVER] },
    imagesEnv: LOCAL_IMAGES_ENV,
    restartBackoffBaseMs: 300,
    restartBackoffMaxMs: 2_000,
    onError: (e) => errors.push(e),
    ...options,
  });
  api.server.setPodLogSource(runner.podLogs);
  await runner.start();
  const store = api.store;
  const changes = (notify: () => void): (() => void) => store.subscribe(store.resourceVersion, () => notify());
  const stateOf = (name: string) => (): string =>
    podState(store.get('/pods', 'default', name) as StoredPod | undefined);
  return {
    api,
    core: api.kc.makeApiClient(CoreV1Api),
    runner,
    logDir,
    errors,
    pod: (name, predicate, timeoutMs) =>
      until(
        changes,
        () => {
          const pod = store.get('/pods', 'default', name) as StoredPod | undefined;
          return pod && predicate(pod) ? pod : undefined;
        },
        { timeoutMs, describe: stateOf(name) },
      ),
    seen: (name, predicate, timeoutMs) => {
      let found: StoredPod | undefined;
      const replay = (notify: () => void): (() => void) => {
        // `until` checks once after subscribing, so the replayed history must not notify.
        let replaying = true;
        const off = store.subscribe(0, (event) => {
          if (
            found === undefined &&
            event.resource === '/pods' &&
            event.type !== 'DELETED' &&
            event.object.metadata?.name === name &&
            predicate(event.object as unknown as StoredPod)
          )
            found = event.object as unknown as StoredPod;
          if (!replaying) notify();
        });
        replaying = false;
        return off;
      };
      return until(replay, () => found, { timeoutMs, describe: stateOf(name) });
    },
    gone: async (name, timeoutMs) => {
      const absent = (): true | undefined => (store.get('/pods', 'default', name) ? undefined : true);
      await until(changes, absent, { timeoutMs, describe: stateOf(name) });
    },
    event: (name, reason, message) => {
      const about = (): any[] => store.list('/events', 'default').filter((e: any) => e.involvedObject?.name === name);
      const matches = (e: any): boolean => e.reason === reason && (message?.test(String(e.message)) ?? true);
      const describe = (): string => JSON.stringify(about().map((e: any) => `${e.reason}: ${e.message}`));
      return until(changes, () => about().find(matches) as { message: string } | undefined, { describe });
    },
    close: async () => {
      await runner.close();
      await api.close();
      await rm(logDir, { recursive: true, force: true });
    },
  };
}

/** A pod of one test-server container `main` binding its pod IP on PORT (8080), with `container` merged in. */
export function testPod(name: string, container: Partial<V1Container> = {}, spec: Partial<V1Pod['spec']> = {}): V1Pod {
  const env = [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, ...(container.env ?? [])];
  return {
    metadata: { name, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 2,
      ...spec,
      // Ready once it answers: with no readiness probe a container is ready as soon as it runs, before it listens.
      containers: [
        {
          name: 'main',
          image: `${TEST_IMAGE}:1`,
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 },
          ...container,
          env,
        },
      ],
    },
  };
}

/** Waits until the pod's single container is running and ready; returns the pod. */
export function readyPod(h: Harness, name: string): Promise<StoredPod> {
  return h.pod(name, (p) => hasCondition(p, 'Ready', 'True'));
}

/** A container status as stored, read loosely. */
export interface ContainerStatusView {
  state: any;
  lastState: any;
  ready: boolean;
  started: boolean;
  restartCount: number;
  containerID: string;
}

/** The state of container `main` of a stored pod. */
export function mainStatus(pod: StoredPod): ContainerStatusView {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- loose JSON on purpose
  return pod.status?.containerStatuses?.find((c: any) => c.name === 'main');
}

/** One plain HTTP request; resolves with status and body. */
export function http(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves when `pid` has exited (checked every 20 ms: an unrelated process cannot be waited on). */
export function exited(pid: number, timeoutMs = 10_000): Promise<true> {
  return until(
    (notify) => {
      const timer = setInterval(notify, 20);
      return () => clearInterval(timer);
    },
    () => (isAlive(pid) ? undefined : true),
    { timeoutMs, describe: () => `pid ${pid} still runs` },
  );
}

/** A stored pod in one line, for a wait that gives up. */
function podState(pod: StoredPod | undefined): string {
  return pod === undefined ? 'no such pod' : describePod(pod);
}

/** The pid in a `local://<pid>` containerID. */
export function pidOf(status: unknown): number {
  return Number(String((status as { containerID?: unknown }).containerID).replace('local://', ''));
}

/** A follow request whose body is read line by line. */
export async function openFollow(
  api: LocalApi,
  path: string,
): Promise<{ line(pattern: RegExp): Promise<string>; ended: Promise<void> }> {
  let text = '';
  const waiters = new Set<() => void>();
  let ended!: Promise<void>;
  await new Promise<void>((resolve, reject) => {
    const req = httpsRequest(
      `${api.server.url}${path}`,
      { headers: { authorization: `Bearer ${api.server.token}` }, ca: api.server.caCertificate },
      (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /text\/plain/);
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          for (const w of waiters) w();
        });
        ended = new Promise((done) => res.on('end', done));
        resolve();
      },
    );
    req.on('error', reject);
    req.end();
  });
  return {
    ended,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matched ${pattern}: ${JSON.stringify(text)}`)),
          10_000,
        );
        const check = (): void => {
          const found = text.split('\n').find((l) => pattern.test(l));
          if (found === undefined) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Whether the stored pod has condition `type` with `status`. */
export function hasCondition(pod: StoredPod, type: string, status: 'True' | 'False'): boolean {
  const conditions = (pod.status?.conditions ?? []) as { type: string; status: string }[];
  return conditions.some((c) => c.type === type && c.status === status);
}
