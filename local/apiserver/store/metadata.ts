import { randomInt, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { StatusCause } from '../errors.js';
import type { KubeObject, ObjectMeta, ResourceType } from '../types.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The alphabet of generateName suffixes (k8s.io/apiserver's names.SimpleNameGenerator). */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
/** Kinds whose names must be DNS-1123 labels rather than subdomains. */
const LABEL_NAMED_KINDS = new Set(['Namespace', 'Service']);

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function timestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** A name for `generateName`: the prefix (cut to fit) and five random characters. */
export function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return `${prefix.slice(0, 63 - 5)}${suffix}`;
}

/** Problems with `metadata.name` for a kind, as the API server words them. */
export function nameCauses(type: ResourceType, name: string | undefined): StatusCause[] {
  if (!name)
    return [
      {
        reason: 'FieldValueRequired',
        field: 'metadata.name',
        message: 'Required value: name or generateName is required',
      },
    ];
  const label = LABEL_NAMED_KINDS.has(type.kind);
  const max = label ? 63 : 253;
  const pattern = label ? DNS_LABEL : DNS_SUBDOMAIN;
  if (name.length <= max && pattern.test(name)) return [];
  const what = label ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
  const shape = label
    ? "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
    : "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  return [
    { reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": ${what} ${shape}` },
  ];
}

/** Fresh system metadata for an object being created. */
export function createdMeta(
  meta: ObjectMeta,
  init: { namespace: string | undefined; now: Date; generation: boolean },
): ObjectMeta {
  const out: ObjectMeta = { ...meta };
  delete out.resourceVersion;
  delete out.deletionTimestamp;
  delete out.deletionGracePeriodSeconds;
  if (!out.name && out.generateName) out.name = generatedName(out.generateName);
  if (init.namespace !== undefined) out.namespace = init.namespace;
  else delete out.namespace;
  out.uid = randomUUID();
  out.creationTimestamp = timestamp(init.now);
  if (init.generation) out.generation = 1;
  else delete out.generation;
  return out;
}

/** Metadata for a write to an existing object: system fields stay as the server set them. */
export function updatedMeta(next: ObjectMeta, live: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = { ...next };
  for (const field of [
    'name',
    'namespace',
    'uid',
    'creationTimestamp',
    'generation',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ] as const) {
    if (live[field] === undefined) delete out[field];
    else (out as Record<string, unknown>)[field] = live[field];
  }
  out.resourceVersion = live.resourceVersion;
  if (out.generateName === undefined && live.generateName !== undefined) out.generateName = live.generateName;
  return out;
}

/** Everything but metadata and status: a change here bumps `metadata.generation`. */
export function hasSpecChange(before: KubeObject, after: KubeObject): boolean {
  return !isDeepStrictEqual(withoutMetaAndStatus(before), withoutMetaAndStatus(after));
}

/** True when a write changes nothing a client could see (managedFields times aside). */
export function isNoop(before: KubeObject, after: KubeObject): boolean {
  return isDeepStrictEqual(comparable(before), comparable(after));
}

function withoutMetaAndStatus(object: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = object;
  return rest;
}

function comparable(object: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = object;
  const meta = { ...rest.metadata };
  delete meta.resourceVersion;
  meta.managedFields = meta.managedFields?.map(({ time: _t, ...entry }) => entry) as ObjectMeta['managedFields'];
  if (meta.managedFields === undefined) delete meta.managedFields;
  return { ...rest, metadata: meta };
}
