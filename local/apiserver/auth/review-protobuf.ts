import { badRequest } from '../errors.js';
import { openEnvelope } from '../protobuf/envelope.js';
import { readFields, WireType } from '../protobuf/wire-reader.js';
import type { KubeObject } from '../types.js';

/** Field numbers → names of the messages a review holds (k8s.io/api/authorization/v1 generated.proto). */
const RESOURCE_ATTRIBUTES = ['', 'namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
const NON_RESOURCE_ATTRIBUTES = ['', 'path', 'verb'];

/**
 * A review sent as protobuf, as `kubectl auth can-i` sends it, decoded to its JSON shape: the
 * `runtime.Unknown` envelope, then the review's `spec` (attributes, user, groups, uid, namespace).
 */
export function decodeReview(kind: string, body: Buffer): KubeObject {
  const { raw } = openEnvelope(body);
  if (raw.length === 0) throw badRequest('the protobuf body holds no object');
  const object = fields(raw);
  const spec = fields(object.get(2)?.[0] ?? Buffer.alloc(0));
  if (kind === 'SelfSubjectRulesReview') {
    const namespace = spec.get(1)?.[0];
    return { spec: namespace ? { namespace: namespace.toString('utf8') } : {} };
  }
  return { spec: accessSpec(spec) };
}

/** A (Self)SubjectAccessReviewSpec: attributes, then a SubjectAccessReview's user, groups and uid. */
function accessSpec(spec: Map<number, Buffer[]>): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  const resource = spec.get(1)?.[0];
  const nonResource = spec.get(2)?.[0];
  if (resource) decoded.resourceAttributes = strings(resource, RESOURCE_ATTRIBUTES);
  if (nonResource) decoded.nonResourceAttributes = strings(nonResource, NON_RESOURCE_ATTRIBUTES);
  if (spec.has(3)) decoded.user = spec.get(3)![0]!.toString('utf8');
  if (spec.has(4)) decoded.groups = spec.get(4)!.map((g) => g.toString('utf8'));
  if (spec.has(6)) decoded.uid = spec.get(6)![0]!.toString('utf8');
  return decoded;
}

function strings(message: Buffer, names: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [field, values] of fields(message)) {
    const name = names[field];
    if (name) result[name] = values[0]!.toString('utf8');
  }
  return result;
}

/** The length-delimited fields of a message by number; varint and fixed fields are skipped. */
function fields(message: Buffer): Map<number, Buffer[]> {
  const found = new Map<number, Buffer[]>();
  for (const field of readFields(message)) {
    if (field.wireType !== WireType.lengthDelimited) continue;
    found.set(field.number, [...(found.get(field.number) ?? []), field.value as Buffer]);
  }
  return found;
}
