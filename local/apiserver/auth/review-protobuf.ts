import { badRequest } from '../errors.js';
import type { KubeObject } from '../types.js';

/** The prefix of a Kubernetes protobuf body (k8s.io/apimachinery runtime/serializer/protobuf). */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Field numbers → names of the messages a review holds (k8s.io/api/authorization/v1 generated.proto). */
const RESOURCE_ATTRIBUTES = ['', 'namespace', 'verb', 'group', 'version', 'resource', 'subresource', 'name'];
const NON_RESOURCE_ATTRIBUTES = ['', 'path', 'verb'];

/**
 * A review sent as protobuf, as `kubectl auth can-i` sends it, decoded to its JSON shape: the
 * `runtime.Unknown` envelope, then the review's `spec` (attributes, user, groups, uid, namespace).
 */
export function decodeReview(kind: string, body: Buffer): KubeObject {
  if (!body.subarray(0, 4).equals(MAGIC)) throw badRequest('the body of the request is not a Kubernetes protobuf');
  const envelope = fields(body.subarray(4));
  const raw = envelope.get(2)?.[0];
  if (!raw) throw badRequest('the protobuf body holds no object');
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
  let at = 0;
  while (at < message.length) {
    const [tag, afterTag] = varint(message, at);
    const wire = tag & 7;
    at = afterTag;
    if (wire === 0) at = varint(message, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, start] = varint(message, at);
      const field = Math.floor(tag / 8);
      found.set(field, [...(found.get(field) ?? []), message.subarray(start, start + length)]);
      at = start + length;
    } else throw badRequest(`the protobuf body has an unsupported wire type ${wire}`);
  }
  return found;
}

function varint(buffer: Buffer, from: number): [number, number] {
  let value = 0;
  let scale = 1;
  let at = from;
  for (;;) {
    if (at >= buffer.length) throw badRequest('the protobuf body is truncated');
    const byte = buffer[at++]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, at];
  }
}
