/**
 * Judges an IMGateway's spec and fills its defaults: `resolveSpec()`. Pure.
 *
 * The operator validates again what crds/imgateway.yaml says (types, ranges, patterns, enums,
 * the CEL rule on ports), because a local control plane ignores CEL and a real API server may
 * serve objects written before a default existed; and it judges what only it can: tableSize
 * prime and greater than replicas, and metadata.name short enough for the names it derives.
 */

import type { RingPolicy } from '../ring/index.js';
import { isPrime } from '../ring/primes.js';
import { LOG_LEVELS, type LogLevel } from './api.js';
import { isObject, readInteger, readMap, readString, unknownFields, type Check, type Json } from './spec-checks.js';
import { resolveRollout, ROLLOUT_DEFAULTS, type ResolvedRollout } from './spec-rollout.js';

/** One reason a spec is refused, at a field path such as `spec.ring.tableSize`. */
export interface SpecProblem {
  readonly field: string;
  readonly message: string;
}

/** A spec with every field present and valid: what the operator acts on. */
export interface ResolvedSpec {
  readonly replicas: number;
  readonly image: string;
  /** Container ports of each gateway pod; pairwise distinct. */
  readonly ports: { readonly ws: number; readonly grpc: number; readonly http: number };
  /** Quantities as strings (`"500m"`, `"1"`); either map may be absent. */
  readonly resources: {
    readonly requests?: Readonly<Record<string, string>>;
    readonly limits?: Readonly<Record<string, string>>;
  };
  readonly podTemplate: {
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
    readonly nodeSelector: Readonly<Record<string, string>>;
    /** core/v1 Tolerations, as written. */
    readonly tolerations: readonly object[];
    readonly env: readonly { readonly name: string; readonly value: string }[];
    /** The gateways' ServiceAccount (read the ring ConfigMap, write Leases); absent: the operator's default. */
    readonly serviceAccountName?: string;
  };
  /** `tableSize`: Maglev table size, prime. `ackTimeoutSeconds`: barrier limit, in s. */
  readonly ring: { readonly tableSize: number; readonly ackTimeoutSeconds: number };
  /** Limits of the migration step: in s, connections per s per gateway, and ms. */
  readonly drain: {
    readonly timeoutSeconds: number;
    readonly migrateRatePerSecond: number;
    readonly handoffWindowMs: number;
    /** How long a client that opted in to graceful migration has to move, in ms. */
    readonly moveDeadlineMs: number;
    /** The gateway pods' grace period, s. */
    readonly terminationGraceSeconds: number;
  };
  /** How the operator rolls gateway pods out (spec-rollout.ts). */
  readonly rollout: ResolvedRollout;
  /** How long a member's pod may be unready before it leaves the ring, in s. */
  readonly unreadyGraceSeconds: number;
  readonly auth: { readonly secretName: string; readonly secretKey: string };
  readonly logLevel: LogLevel;
}

/** The outcome of `resolveSpec()`: a usable spec with warnings, or every problem found. */
export type SpecResult =
  | { readonly ok: true; readonly spec: ResolvedSpec; readonly warnings: string[] }
  | { readonly ok: false; readonly problems: SpecProblem[] };

/** The schema's defaults (crds/imgateway.yaml), for fields a spec leaves out. */
export const SPEC_DEFAULTS = deepFreeze({
  replicas: 1,
  image: 'ghcr.io/imring/imring:0.1.0',
  ports: { ws: 10001, grpc: 10002, http: 10003 },
  ring: { tableSize: 65537, ackTimeoutSeconds: 30 },
  drain: {
    timeoutSeconds: 120,
    migrateRatePerSecond: 500,
    handoffWindowMs: 2000,
    moveDeadlineMs: 10_000,
    terminationGraceSeconds: 60,
  },
  rollout: ROLLOUT_DEFAULTS,
  unreadyGraceSeconds: 30,
  auth: { secretKey: 'key' },
  logLevel: 'info',
});

/** Longest gateway name: `<name>-headless` and pod names `<name>-<ordinal>` must stay DNS labels. */
export const MAX_GATEWAY_NAME_LENGTH = 52;

/** Below this many table slots per member, Maglev's balance suffers: a warning, not an error. */
export const MIN_SLOTS_PER_MEMBER = 100;

/** The schema's patterns, verbatim. */
export const Patterns = {
  image:
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
  envName: /^[-._a-zA-Z][-._a-zA-Z0-9]*$/,
  dns1123Subdomain: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
  secretKey: /^[-._a-zA-Z0-9]+$/,
  quantity:
    /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/,
  dns1123Label: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
} as const;

const SPEC_FIELDS = [
  'replicas',
  'image',
  'ports',
  'resources',
  'podTemplate',
  'ring',
  'drain',
  'rollout',
  'unreadyGraceSeconds',
  'auth',
  'logLevel',
];

/**
 * Validates `gateway.spec` as the CRD schema would, plus the operator's own rules, and fills
 * defaults for absent (or null) fields. Never throws; never mutates `gateway`. Unknown fields
 * are ignored with a warning (an API server with the CRD prunes them).
 */
export function resolveSpec(gateway: { metadata?: { name?: string }; spec?: unknown }): SpecResult {
  const check: Check = { problems: [], warnings: [] };
  checkName(gateway.metadata?.name, check);
  const raw = gateway.spec ?? {};
  if (!isObject(raw)) {
    return { ok: false, problems: [...check.problems, { field: 'spec', message: 'must be an object' }] };
  }
  unknownFields(raw, SPEC_FIELDS, 'spec', check);
  const d = SPEC_DEFAULTS;
  const spec: ResolvedSpec = {
    replicas: readInteger(raw, { path: 'spec.replicas', min: 0, max: 1000, fallback: d.replicas }, check),
    image: readString(
      raw,
      {
        path: 'spec.image',
        maxLength: 512,
        pattern: Patterns.image,
        fallback: d.image,
        what: 'an OCI image reference',
      },
      check,
    ),
    ports: resolvePorts(raw, check),
    resources: resolveResources(raw.resources, check),
    podTemplate: resolvePodTemplate(raw.podTemplate, check),
    ring: resolveRing(raw.ring, check),
    drain: resolveDrain(raw.drain, check),
    rollout: resolveRollout(raw.rollout, check),
    unreadyGraceSeconds: readInteger(
      raw,
      { path: 'spec.unreadyGraceSeconds', min: 0, max: 3600, fallback: d.unreadyGraceSeconds },
      check,
    ),
    auth: resolveAuth(raw.auth, check),
    logLevel: resolveLogLevel(raw.logLevel, check),
  };
  checkRing(spec, check);
  if (check.problems.length > 0) return { ok: false, problems: check.problems };
  return { ok: true, spec, warnings: check.warnings };
}

function checkName(name: string | undefined, check: Check): void {
  const problem = (message: string): void => void check.problems.push({ field: 'metadata.name', message });
  if (name === undefined || name === '') problem('Required value');
  else if (name.length > MAX_GATEWAY_NAME_LENGTH)
    problem(`must be no more than ${MAX_GATEWAY_NAME_LENGTH} characters, got ${name.length}`);
  else if (!Patterns.dns1123Label.test(name))
    problem(
      `must be a DNS-1123 label (lower case alphanumerics and '-', starting and ending alphanumeric), got ${JSON.stringify(name)}`,
    );
}

/** The object at `raw[key]`, `{}` when absent or null, undefined (with a problem) when not an object. */
function section(raw: unknown, path: string, fields: readonly string[], check: Check): Json | undefined {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) {
    check.problems.push({ field: path, message: 'must be an object' });
    return undefined;
  }
  unknownFields(raw, fields, path, check);
  return raw;
}

function resolvePorts(spec: Json, check: Check): ResolvedSpec['ports'] {
  const ports = readIntegerSection(spec.ports, PORTS_FIELDS, check);
  if (new Set([ports.ws, ports.grpc, ports.http]).size !== 3) {
    check.problems.push({ field: 'spec.ports', message: 'ports.ws, ports.grpc and ports.http must differ' });
  }
  return ports;
}

function resolveResources(raw: unknown, check: Check): ResolvedSpec['resources'] {
  const resources = section(raw, 'spec.resources', ['requests', 'limits'], check) ?? {};
  const out: { requests?: Record<string, string>; limits?: Record<string, string> } = {};
  for (const key of ['requests', 'limits'] as const) {
    if (resources[key] === undefined || resources[key] === null) continue;
    out[key] = readMap(resources[key], { path: `spec.resources.${key}`, value: quantity }, check);
  }
  return out;
}

/** A quantity as a string, or a problem message. */
function quantity(value: unknown): string | { problem: string } {
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string' && Patterns.quantity.test(value)) return value;
  if (typeof value === 'string')
    return { problem: `must be a quantity (such as 500m, 1Gi or 2), got ${JSON.stringify(value)}` };
  return { problem: 'must be an integer or a string' };
}

const POD_TEMPLATE_FIELDS = ['labels', 'annotations', 'nodeSelector', 'tolerations', 'env', 'serviceAccountName'];

function resolvePodTemplate(raw: unknown, check: Check): ResolvedSpec['podTemplate'] {
  const template = section(raw, 'spec.podTemplate', POD_TEMPLATE_FIELDS, check) ?? {};
  const strings = (key: string): Record<string, string> =>
    readMap(template[key] ?? {}, { path: `spec.podTemplate.${key}`, value: stringValue }, check);
  return {
    labels: strings('labels'),
    annotations: strings('annotations'),
    nodeSelector: strings('nodeSelector'),
    tolerations: resolveTolerations(template.tolerations, check),
    env: resolveEnv(template.env, check),
    ...(template.serviceAccountName === undefined || template.serviceAccountName === null
      ? {}
      : {
          serviceAccountName: readString(
            template,
            {
              path: 'spec.podTemplate.serviceAccountName',
              maxLength: 253,
              pattern: Patterns.dns1123Subdomain,
              what: 'a DNS-1123 subdomain',
              fallback: '',
            },
            check,
          ),
        }),
  };
}

function stringValue(value: unknown): string | { problem: string } {
  return typeof value === 'string' ? value : { problem: 'must be a string' };
}

function resolveTolerations(raw: unknown, check: Check): object[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    check.problems.push({ field: 'spec.podTemplate.tolerations', message: 'must be an array' });
    return [];
  }
  const out: object[] = [];
  raw.forEach((item, i) => {
    if (isObject(item)) out.push(structuredClone(item));
    else check.problems.push({ field: `spec.podTemplate.tolerations[${i}]`, message: 'must be an object' });
  });
  return out;
}

function resolveEnv(raw: unknown, check: Check): { name: string; value: string }[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    check.problems.push({ field: 'spec.podTemplate.env', message: 'must be an array' });
    return [];
  }
  return raw.map((item, i) => {
    const path = `spec.podTemplate.env[${i}]`;
    const entry = section(item, path, ['name', 'value'], check) ?? {};
    if (entry.name === undefined || entry.name === null)
      check.problems.push({ field: `${path}.name`, message: 'Required value' });
    const name = readString(
      entry,
      { path: `${path}.name`, pattern: Patterns.envName, fallback: '', what: 'an environment variable name' },
      check,
    );
    return { name, value: readString(entry, { path: `${path}.value`, fallback: '' }, check) };
  });
}

function resolveRing(raw: unknown, check: Check): ResolvedSpec['ring'] {
  return readIntegerSection(raw, RING_FIELDS, check);
}

/** What the schema cannot say about the table size: prime, more slots than members, and enough of them. */
function checkRing(spec: ResolvedSpec, check: Check): void {
  const { tableSize } = spec.ring;
  const field = 'spec.ring.tableSize';
  if (check.problems.some((p) => p.field === field || p.field === 'spec.replicas')) return;
  if (!isPrime(tableSize)) check.problems.push({ field, message: `must be a prime number, got ${tableSize}` });
  if (tableSize <= spec.replicas) {
    check.problems.push({ field, message: `must be greater than spec.replicas (${spec.replicas}), got ${tableSize}` });
  } else if (tableSize < MIN_SLOTS_PER_MEMBER * spec.replicas) {
    check.warnings.push(
      `${field}: ${tableSize} is less than ${MIN_SLOTS_PER_MEMBER} × spec.replicas (${MIN_SLOTS_PER_MEMBER * spec.replicas}); users will spread unevenly over the members`,
    );
  }
}

function resolveDrain(raw: unknown, check: Check): ResolvedSpec['drain'] {
  return readIntegerSection(raw, DRAIN_FIELDS, check);
}

/** A section of integer fields: its path, each field's default and the schema's `[min, max]`. */
interface IntegerSection<K extends string> {
  readonly path: string;
  readonly defaults: Readonly<Record<K, number>>;
  readonly bounds: Readonly<Record<K, readonly [number, number]>>;
}

/** The schema's bounds of `spec.ports`, `spec.ring` and `spec.drain` (crds/imgateway.yaml). */
const PORTS_FIELDS: IntegerSection<keyof ResolvedSpec['ports']> = {
  path: 'spec.ports',
  defaults: SPEC_DEFAULTS.ports,
  bounds: { ws: [1, 65535], grpc: [1, 65535], http: [1, 65535] },
};

const RING_FIELDS: IntegerSection<keyof ResolvedSpec['ring']> = {
  path: 'spec.ring',
  defaults: SPEC_DEFAULTS.ring,
  bounds: {
    tableSize: [3, 10_000_019],
    ackTimeoutSeconds: [1, 3600],
  },
};

const DRAIN_FIELDS: IntegerSection<keyof ResolvedSpec['drain']> = {
  path: 'spec.drain',
  defaults: SPEC_DEFAULTS.drain,
  bounds: {
    timeoutSeconds: [0, 3600],
    migrateRatePerSecond: [1, 100_000],
    handoffWindowMs: [0, 60_000],
    moveDeadlineMs: [0, 300_000],
    terminationGraceSeconds: [1, 3600],
  },
};

/** The ring document's `policy` for `spec`: how gateways move users (RING-SPEC.md section 5). */
export function ringPolicyOf(spec: ResolvedSpec): RingPolicy {
  const { migrateRatePerSecond, handoffWindowMs, moveDeadlineMs } = spec.drain;
  return { migrateRatePerSecond, handoffWindowMs, moveDeadlineMs };
}

/**
 * Reads a section of integer fields (the schema's bounds, `[min, max]` each), each falling back
 * to its default; unknown fields are problems.
 */
function readIntegerSection<K extends string>(
  raw: unknown,
  fields: IntegerSection<K>,
  check: Check,
): Record<K, number> {
  const { path, defaults, bounds } = fields;
  const names = Object.keys(bounds) as K[];
  const given = section(raw, path, names, check) ?? {};
  const read = (name: K): [K, number] => {
    const [min, max] = bounds[name];
    return [name, readInteger(given, { path: `${path}.${name}`, min, max, fallback: defaults[name] }, check)];
  };
  return Object.fromEntries(names.map(read)) as Record<K, number>;
}

function resolveAuth(raw: unknown, check: Check): ResolvedSpec['auth'] {
  if (raw === undefined || raw === null) {
    check.problems.push({ field: 'spec.auth', message: 'Required value' });
    return { secretName: '', secretKey: SPEC_DEFAULTS.auth.secretKey };
  }
  const auth = section(raw, 'spec.auth', ['secretName', 'secretKey'], check) ?? {};
  if (auth.secretName === undefined || auth.secretName === null)
    check.problems.push({ field: 'spec.auth.secretName', message: 'Required value' });
  return {
    secretName: readString(
      auth,
      {
        path: 'spec.auth.secretName',
        maxLength: 253,
        pattern: Patterns.dns1123Subdomain,
        fallback: '',
        what: 'a DNS-1123 subdomain',
      },
      check,
    ),
    secretKey: readString(
      auth,
      {
        path: 'spec.auth.secretKey',
        maxLength: 253,
        pattern: Patterns.secretKey,
        fallback: SPEC_DEFAULTS.auth.secretKey,
        what: "alphanumerics, '-', '_' or '.'",
      },
      check,
    ),
  };
}

function resolveLogLevel(raw: unknown, check: Check): LogLevel {
  if (raw === undefined || raw === null) return SPEC_DEFAULTS.logLevel;
  if ((LOG_LEVELS as readonly unknown[]).includes(raw)) return raw as LogLevel;
  check.problems.push({
    field: 'spec.logLevel',
    message: `Unsupported value: ${JSON.stringify(raw)}: supported values: ${LOG_LEVELS.map((l) => `"${l}"`).join(', ')}`,
  });
  return SPEC_DEFAULTS.logLevel;
}

function deepFreeze<const T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
