import type {
  V1ConfigMap,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1EnvVarSource,
  V1ObjectFieldSelector,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';

/**
 * A container's environment, resolved as the kubelet does (pkg/kubelet/kubelet_pods.go
 * makeEnvironmentVariables): the runner's base variables, then `envFrom` in order, then `env`
 * in order, each `env` value expanded with `$(VAR)` against what is defined before it. Pure.
 */

/** What the name of a variable the runner's options set may be (POSIX: letters, digits, `_`, no digit first). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** ConfigMaps and Secrets of the pod's namespace, by name (absent ones are missing). */
export interface EnvSources {
  readonly configMaps: ReadonlyMap<string, V1ConfigMap>;
  readonly secrets: ReadonlyMap<string, V1Secret>;
}

/** What the pod's downward API can answer. */
export interface EnvInput {
  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly sources: EnvSources;
  /** Variables every container gets first (the runner's `env` option, PATH). */
  readonly base?: Readonly<Record<string, string>>;
}

/** The resolved environment, or the kubelet's `CreateContainerConfigError` message. */
export type EnvResult = { readonly env: Record<string, string> } | { readonly error: string };

/** The ConfigMaps and Secrets a pod's containers reference, so they can be read before resolving. */
export function referencedSources(pod: V1Pod): { configMaps: Set<string>; secrets: Set<string> } {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const add = (set: Set<string>, name: string | undefined): void => {
    if (name) set.add(name);
  };
  for (const container of pod.spec?.containers ?? []) {
    for (const from of container.envFrom ?? []) {
      add(configMaps, from.configMapRef?.name);
      add(secrets, from.secretRef?.name);
    }
    for (const variable of container.env ?? []) {
      add(configMaps, variable.valueFrom?.configMapKeyRef?.name);
      add(secrets, variable.valueFrom?.secretKeyRef?.name);
    }
  }
  return { configMaps, secrets };
}

/** Resolves one container's environment; the first missing required reference is the error. */
export function resolveEnv(input: EnvInput): EnvResult {
  const env: Record<string, string> = { ...input.base };
  try {
    for (const from of input.container.envFrom ?? []) Object.assign(env, envFromValues(from, input.sources));
    for (const variable of input.container.env ?? []) {
      const value = envValue(variable, input, env);
      if (value !== undefined) env[variable.name] = value;
    }
  } catch (error) {
    if (error instanceof ConfigError) return { error: error.message };
    throw error;
  }
  return { env };
}

/**
 * Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion): `$(NAME)` becomes the
 * value of NAME when defined and stays as written otherwise; `$$` is a literal `$`.
 */
export function expand(text: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$' || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = text.indexOf(')', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

/** Expands `$(VAR)` in a container's `command` and `args`, as the kubelet does. */
export function expandArgv(argv: readonly string[], env: Readonly<Record<string, string>>): string[] {
  return argv.map((word) => expand(word, (name) => env[name]));
}

/** A reference the container needs and cannot have. */
class ConfigError extends Error {}

function envFromValues(from: V1EnvFromSource, sources: EnvSources): Record<string, string> {
  const prefix = from.prefix ?? '';
  const out: Record<string, string> = {};
  const ref = from.configMapRef ?? from.secretRef;
  if (!ref) return out;
  const kind = from.configMapRef ? 'configmap' : 'secret';
  const values =
    kind === 'configmap'
      ? sources.configMaps.get(ref.name ?? '')?.data
      : secretValues(sources.secrets.get(ref.name ?? ''));
  if (!values && !ref.optional) throw new ConfigError(`${kind} "${ref.name}" not found`);
  for (const [k, v] of Object.entries(values ?? {})) out[prefix + k] = v;
  return out;
}

/** A Secret's values, decoded; undefined when there is no Secret. */
function secretValues(secret: V1Secret | undefined): Record<string, string> | undefined {
  if (!secret) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = decode(v);
  return { ...out, ...secret.stringData };
}

function envValue(variable: V1EnvVar, input: EnvInput, env: Record<string, string>): string | undefined {
  if (!variable.valueFrom) return expand(variable.value ?? '', (name) => env[name]);
  return valueFrom(variable.valueFrom, input);
}

function valueFrom(source: V1EnvVarSource, input: EnvInput): string | undefined {
  if (source.fieldRef) return fieldValue(source.fieldRef, input.pod);
  if (source.configMapKeyRef) {
    const ref = source.configMapKeyRef;
    const cm = input.sources.configMaps.get(ref.name ?? '');
    return keyValue(
      { kind: 'configmap', name: ref.name, key: ref.key, optional: ref.optional },
      cm && { ...cm.binaryData, ...cm.data },
    );
  }
  if (source.secretKeyRef) {
    const ref = source.secretKeyRef;
    return keyValue(
      { kind: 'secret', name: ref.name, key: ref.key, optional: ref.optional },
      secretValues(input.sources.secrets.get(ref.name ?? '')),
    );
  }
  if (source.resourceFieldRef)
    throw new ConfigError(
      `resourceFieldRef ${source.resourceFieldRef.resource} is not supported by the local pod runner`,
    );
  return undefined;
}

interface KeyRef {
  kind: 'configmap' | 'secret';
  name: string | undefined;
  key: string;
  optional: boolean | undefined;
}

function keyValue(ref: KeyRef, values: Record<string, string> | undefined): string | undefined {
  const value = values?.[ref.key];
  if (value !== undefined) return value;
  if (ref.optional) return undefined;
  if (!values) throw new ConfigError(`${ref.kind} "${ref.name}" not found`);
  throw new ConfigError(
    `couldn't find key ${ref.key} in ${ref.kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${ref.name}`,
  );
}

const LABEL_OR_ANNOTATION = /^metadata\.(labels|annotations)\['([^']*)'\]$/;

/** The downward API's fieldRef paths (pkg/fieldpath and the kubelet's podFieldSelectorRuntimeValue). */
function fieldValue(ref: V1ObjectFieldSelector, pod: V1Pod): string {
  const meta = pod.metadata ?? {};
  const keyed = LABEL_OR_ANNOTATION.exec(ref.fieldPath);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  const simple: Record<string, () => string | undefined> = {
    'metadata.name': () => meta.name,
    'metadata.namespace': () => meta.namespace,
    'metadata.uid': () => meta.uid,
    'spec.nodeName': () => pod.spec?.nodeName,
    'spec.serviceAccountName': () => pod.spec?.serviceAccountName,
    'status.podIP': () => pod.status?.podIP,
    'status.podIPs': () => pod.status?.podIPs?.map((p) => p.ip).join(','),
    'status.hostIP': () => pod.status?.hostIP,
    'status.hostIPs': () => pod.status?.hostIPs?.map((p) => p.ip).join(','),
  };
  const read = simple[ref.fieldPath];
  if (!read) throw new ConfigError(`unsupported fieldRef fieldPath "${ref.fieldPath}"`);
  return read() ?? '';
}

function decode(base64: string): string {
  return Buffer.from(base64, 'base64').toString('utf8');
}
