/**
 * Field selectors as the API server parses and matches them (k8s.io/apimachinery/pkg/fields
 * and the per-kind field label conversions), with the server's error messages.
 */

import { badRequest } from '../errors.js';
import type { KubeObject } from '../types.js';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '==' | '!=';
  readonly value: string;
}

export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
  /** Reads a selectable field of an object of this resource as its selector string. */
  readonly read: (object: KubeObject, field: string) => string;
}

type FieldReader = (object: KubeObject) => string;

/** Reads a dotted path (`status.podIPs.0.ip`) as the selector string; `fallback` when absent. */
function str(path: string, fallback = ''): FieldReader {
  return (o) => {
    let at: unknown = o;
    for (const k of path.split('.'))
      at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[k] : undefined;
    if (typeof at === 'string') return at;
    if (typeof at === 'number' || typeof at === 'boolean') return String(at);
    return at === undefined || at === null ? fallback : JSON.stringify(at);
  };
}

const META: Record<string, FieldReader> = {
  'metadata.name': str('metadata.name'),
  'metadata.namespace': str('metadata.namespace'),
};

/** Fields each resource accepts besides metadata.name/namespace, keyed `group/plural`. */
const FIELDS: Record<string, Record<string, FieldReader>> = {
  '/events': {
    ...Object.fromEntries(
      ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath'].map((f) => [
        `involvedObject.${f}`,
        str(`involvedObject.${f}`),
      ]),
    ),
    reason: str('reason'),
    reportingComponent: str('reportingComponent'),
    source: str('source.component'),
    type: str('type'),
  },
  '/pods': {
    'spec.nodeName': str('spec.nodeName'),
    'spec.restartPolicy': str('spec.restartPolicy'),
    'spec.schedulerName': str('spec.schedulerName'),
    'spec.serviceAccountName': str('spec.serviceAccountName'),
    'spec.hostNetwork': str('spec.hostNetwork', 'false'),
    'status.phase': str('status.phase'),
    'status.podIP': str('status.podIPs.0.ip'),
    'status.nominatedNodeName': str('status.nominatedNodeName'),
  },
  '/secrets': { type: str('type') },
  '/namespaces': { 'status.phase': str('status.phase') },
  '/nodes': { 'spec.unschedulable': str('spec.unschedulable', 'false') },
  '/replicationcontrollers': { 'status.replicas': str('status.replicas', '0') },
  'apps/replicasets': { 'status.replicas': str('status.replicas', '0') },
  'batch/jobs': { 'status.successful': str('status.successful', '0') },
  'certificates.k8s.io/certificatesigningrequests': { 'spec.signerName': str('spec.signerName') },
};

/**
 * Parses a field selector (`metadata.name=x,metadata.namespace!=y`, values escaped with `\`)
 * for `resource`; unsupported fields throw ApiError 400 `field label not supported: foo`.
 */
export function parseFieldSelector(text: string, resource: { group: string; plural: string }): FieldSelector {
  const readers = { ...META, ...FIELDS[`${resource.group}/${resource.plural}`] };
  const requirements = splitTerms(text)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) // Go's sort.Strings: code unit order
    .filter((term) => term !== '')
    .map((term) => parseTerm(text, term));
  for (const r of requirements) {
    if (!Object.hasOwn(readers, r.field)) throw badRequest(`field label not supported: ${r.field}`);
  }
  return { requirements, read: (object, field) => (Object.hasOwn(readers, field) ? readers[field]!(object) : '') };
}

/** True when every term holds for `object`. */
export function matchesFields(selector: FieldSelector, object: KubeObject): boolean {
  return selector.requirements.every((r) => (selector.read(object, r.field) === r.value) === (r.operator !== '!='));
}

function splitTerms(text: string): string[] {
  if (text === '') return [];
  const terms: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (escaped) escaped = false;
    else if (c === '\\') escaped = true;
    else if (c === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  return [...terms, text.slice(start)];
}

function parseTerm(selector: string, term: string): FieldRequirement {
  for (let i = 0; i < term.length; i++) {
    const op = (['!=', '==', '='] as const).find((o) => term.startsWith(o, i));
    if (op) return { field: term.slice(0, i), operator: op, value: unescapeValue(term.slice(i + op.length)) };
  }
  throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
}

function unescapeValue(s: string): string {
  let out = '';
  let escaped = false;
  for (const c of s) {
    if (escaped) {
      if (c !== '\\' && c !== ',' && c !== '=')
        throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
    } else if (c === '\\') escaped = true;
    else if (c === ',' || c === '=') throw badRequest(`invalid field selector: unescaped ${c}`);
    else out += c;
  }
  if (escaped) throw badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}
