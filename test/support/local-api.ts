import { request as httpsRequest } from 'node:https';
import { KubeConfig, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import {
  Faults,
  LocalApiServer,
  ObjectStore,
  type LocalApiServerOptions,
  type ServedRequest,
} from '../../local/index.js';

/** Requests a test's request log keeps, the newest. */
const REQUEST_LOG_LIMIT = 10_000;

/**
 * What a test reaches a local API server through, handed to it as options as any caller
 * could: the faults in force and a log of the requests it answered.
 */
export interface ApiProbes {
  readonly faults: Faults;
  /** The last 10,000 requests answered, oldest first. */
  readonly requestLog: ServedRequest[];
  /** The server options that connect them (`LocalCluster`'s `apiServer`). */
  readonly options: Required<Pick<LocalApiServerOptions, 'faults' | 'onRequest'>>;
}

/** New probes, for one server. */
export function apiProbes(): ApiProbes {
  const faults = new Faults();
  const requestLog: ServedRequest[] = [];
  const onRequest = (request: ServedRequest): void => {
    requestLog.push(request);
    if (requestLog.length > REQUEST_LOG_LIMIT) requestLog.splice(0, requestLog.length - REQUEST_LOG_LIMIT);
  };
  return { faults, requestLog, options: { faults, onRequest } };
}

/** A started local API server, a client-node KubeConfig for it, and what the test reaches it through. */
export interface LocalApi extends Omit<ApiProbes, 'options'> {
  server: LocalApiServer;
  kc: KubeConfig;
  /** The server's objects, read or seeded behind the API. */
  store: ObjectStore;
  close(): Promise<void>;
}

/** Starts a local API server on 127.0.0.1, port 0, its probes and store in hand. The caller must `close()` it. */
export async function startLocalApi(
  options: Omit<LocalApiServerOptions, 'store' | 'faults' | 'onRequest'> = {},
): Promise<LocalApi> {
  const { historyLimit, ...rest } = options;
  const store = new ObjectStore(historyLimit === undefined ? {} : { historyLimit });
  const probes = apiProbes();
  const server = new LocalApiServer({ ...rest, ...probes.options, store });
  await server.start();
  const kc = new KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return { server, kc, store, faults: probes.faults, requestLog: probes.requestLog, close: () => server.close() };
}

/** Replaces ConfigMap `body.metadata.name` in `namespace`, or creates it when there is none. */
export async function putConfigMap(
  core: CoreV1Api,
  namespace: string,
  body: V1ConfigMap & { metadata: { name: string } },
): Promise<void> {
  try {
    await core.replaceNamespacedConfigMap({ name: body.metadata.name, namespace, body });
  } catch (error) {
    if ((error as { code?: number }).code !== 404) throw error;
    await core.createNamespacedConfigMap({ namespace, body });
  }
}

/** The HTTP code of a client-node ApiException, or rethrows anything else. */
export async function codeOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw error;
  }
}

/** Parsed `Status` body of a client-node ApiException. */
export async function statusOf(promise: Promise<unknown>): Promise<{
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field?: string; message: string }[] };
}> {
  try {
    await promise;
  } catch (error) {
    const body = (error as { body?: unknown }).body;
    return JSON.parse(typeof body === 'string' ? body : JSON.stringify(body)) as never;
  }
  throw new Error('expected the request to fail');
}

/**
 * Resolves when `predicate` holds, checked now and each time `subscribe`'s notifier fires.
 * Fails at once when `predicate` throws; after `timeoutMs` (a bound, not a delay) it rejects
 * with what `describe` says of the state then. A number for `options` is its `timeoutMs`.
 */
export function until<T>(
  subscribe: (notify: () => void) => () => void,
  predicate: () => T | undefined,
  options: number | { timeoutMs?: number; describe?: () => string } = {},
): Promise<T> {
  const { timeoutMs = 10_000, describe } = typeof options === 'number' ? { timeoutMs: options } : options;
  let checks = 0;
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      checks++;
      let value: T | undefined;
      try {
        value = predicate();
      } catch (error) {
        cleanup();
        reject(error instanceof Error ? error : new Error(String(error)));
        return true;
      }
      if (value === undefined || value === false) return false;
      cleanup();
      resolve(value);
      return true;
    };
    const timer = setTimeout(() => {
      cleanup();
      const seen = describe === undefined ? '' : `; last seen: ${describe()}`;
      reject(new Error(`condition not met within ${timeoutMs} ms (${checks} checks)${seen}`));
    }, timeoutMs);
    const unsubscribe = subscribe(() => void check());
    function cleanup(): void {
      clearTimeout(timer);
      unsubscribe();
    }
    check();
  });
}

/** A raw HTTPS response of the local API server. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * One raw request to the local API server, trusting its certificate; sends the token unless
 * `anonymous`. For what client-node's typed calls cannot say (odd content types, bad tokens).
 */
export function rawRequest(
  api: LocalApi,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; anonymous?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      ...(init.anonymous ? {} : { authorization: `Bearer ${api.server.token}` }),
      ...init.headers,
    };
    const req = httpsRequest(
      `${api.server.url}${path}`,
      { method: init.method ?? 'GET', headers, ca: api.server.caCertificate },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * POSTs `object` as raw JSON. client-node's typed models drop JSON keys they spell otherwise
 * (`default`, `enum`, `x-kubernetes-*` are `_default`, `_enum`, `xKubernetes…` there), so CRDs
 * written as their YAML would be go through here.
 */
export async function postRaw(
  api: LocalApi,
  path: string,
  object: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await rawRequest(api, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(object),
  });
  return { status: response.status, body: response.json() };
}

/** {@link postRaw} that must create: anything but 201 throws. */
export async function createRaw(api: LocalApi, path: string, object: unknown): Promise<Record<string, unknown>> {
  const { status, body } = await postRaw(api, path, object);
  if (status !== 201) throw new Error(`POST ${path}: ${status} ${JSON.stringify(body)}`);
  return body;
}
