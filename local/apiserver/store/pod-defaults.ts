/**
 * The defaults core/v1 gives a pod spec, wherever one appears (a Pod, or the template of a
 * workload kind): pkg/apis/core/v1/defaults.go's SetDefaults_PodSpec, SetDefaults_Container,
 * SetDefaults_Probe, SetDefaults_HTTPGetAction, SetDefaults_ObjectFieldSelector and the volume
 * sources' default modes. Mutates the spec, which the caller owns.
 */

type Json = Record<string, unknown>;

/** SetDefaults_Probe: what `kubectl describe` prints as `delay=0s timeout=1s period=10s #success=1 #failure=3`. */
export const PROBE_API_DEFAULTS = {
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
} as const;

/** The file mode (0644) of the files of a secret, configMap, projected or downwardAPI volume. */
const VOLUME_FILE_MODE = 0o644;

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

/** Defaults a pod spec and each of its containers, init containers included. */
export function defaultPodSpec(spec: Json): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const list of ['containers', 'initContainers']) {
    const containers = spec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers as Json[]) defaultContainer(c);
  }
  if (Array.isArray(spec.volumes)) for (const volume of spec.volumes as Json[]) defaultVolume(volume);
}

function defaultContainer(c: Json): void {
  c.imagePullPolicy ??= imageTag(c.image) === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  if (Array.isArray(c.ports)) for (const p of c.ports as Json[]) p.protocol ??= 'TCP';
  for (const name of PROBES) if (isObject(c[name])) defaultProbe(c[name]);
  if (Array.isArray(c.env)) for (const variable of c.env as Json[]) defaultEnvSource(variable);
}

/** The tag of an image reference: `latest` when it has none, `digest` for one pinned by digest. */
function imageTag(image: unknown): string {
  const text = typeof image === 'string' ? image : '';
  return text.includes('@') ? 'digest' : (text.split('/').pop()?.split(':')[1] ?? 'latest');
}

function defaultProbe(probe: Json): void {
  probe.timeoutSeconds ??= PROBE_API_DEFAULTS.timeoutSeconds;
  probe.periodSeconds ??= PROBE_API_DEFAULTS.periodSeconds;
  probe.successThreshold ??= PROBE_API_DEFAULTS.successThreshold;
  probe.failureThreshold ??= PROBE_API_DEFAULTS.failureThreshold;
  if (isObject(probe.httpGet)) {
    probe.httpGet.path ??= '/';
    probe.httpGet.scheme ??= 'HTTP';
  }
}

function defaultEnvSource(variable: Json): void {
  const source = variable.valueFrom;
  if (isObject(source) && isObject(source.fieldRef)) source.fieldRef.apiVersion ??= 'v1';
}

function defaultVolume(volume: Json): void {
  for (const kind of ['secret', 'configMap', 'projected', 'downwardAPI']) {
    const source = volume[kind];
    if (isObject(source)) source.defaultMode ??= VOLUME_FILE_MODE;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
