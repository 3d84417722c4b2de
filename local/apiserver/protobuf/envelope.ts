import { badRequest } from '../errors.js';
import { readFields, WireType } from './wire-reader.js';

/** The prefix of a Kubernetes protobuf body (k8s.io/apimachinery runtime/serializer/protobuf). */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** What a Kubernetes protobuf body holds: the object's type and its message's bytes. */
export interface Envelope {
  apiVersion: string;
  kind: string;
  /** The object's message. */
  raw: Buffer;
  /** How `raw` is encoded beyond protobuf; empty for plain bytes. */
  contentEncoding: string;
}

/**
 * The envelope of a Kubernetes protobuf body: the `k8s\0` prefix, then a `runtime.Unknown`
 * (1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType; k8s.io/apimachinery
 * pkg/runtime generated.proto).
 * @throws ApiError 400 when the body lacks the prefix or is malformed.
 */
export function openEnvelope(body: Buffer): Envelope {
  if (!body.subarray(0, MAGIC.length).equals(MAGIC))
    throw badRequest('the body of the request is not a Kubernetes protobuf: it lacks the k8s\\0 prefix');
  const envelope: Envelope = { apiVersion: '', kind: '', raw: Buffer.alloc(0), contentEncoding: '' };
  for (const field of readFields(body.subarray(MAGIC.length))) {
    if (field.wireType !== WireType.lengthDelimited)
      throw badRequest(`the protobuf envelope holds field ${field.number} with the wrong wire type ${field.wireType}`);
    const value = field.value as Buffer;
    if (field.number === 1) {
      for (const part of readFields(value)) {
        const text = Buffer.isBuffer(part.value) ? part.value.toString('utf8') : '';
        if (part.number === 1) envelope.apiVersion = text;
        else if (part.number === 2) envelope.kind = text;
      }
    } else if (field.number === 2) envelope.raw = value;
    else if (field.number === 3) envelope.contentEncoding = value.toString('utf8');
  }
  return envelope;
}
