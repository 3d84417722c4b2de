/**
 * Field tables: for each protobuf message of a Kubernetes object, its field numbers and the JSON
 * field each one becomes, written in a Go-like notation, e.g.
 * `{ 1: 'replicas *int32', 2: 'containers []Container', 3: 'labels map[string]string', 4: '...ProbeHandler' }`.
 *
 * - A type is a scalar (`string`, `bytes`, `bool`, `int32`, `int64`), a well-known Kubernetes
 *   message with its own JSON form (`Time`, `Quantity`, `IntOrString`, `FieldsV1`), or a message
 *   named in a table.
 * - `*` marks a Go pointer field: its zero value is sent on purpose and kept. Any other scalar
 *   holding its zero value is left out, as Go's `omitempty` leaves it out of JSON.
 * - `...Message` is an embedded (`json:",inline"`) message: its fields join the parent's.
 * - Map values are the entry message's field 2, keys its field 1 (the protobuf map encoding).
 */

/** The scalar types of the tables. */
export const SCALARS = new Set(['string', 'bytes', 'bool', 'int32', 'int64']);

/** The messages with a JSON form of their own (apimachinery meta/v1, api/resource, util/intstr). */
export const WELL_KNOWN = new Set(['Time', 'Quantity', 'IntOrString', 'FieldsV1']);

/** Field numbers → field notation, for one message. */
export type MessageFields = Readonly<Record<number, string>>;

/** Message names → their fields. */
export type MessageTable = Readonly<Record<string, MessageFields>>;

/** One field of a message, as the decoder reads it. */
export interface FieldSpec {
  /** The JSON name; empty for an inline message. */
  readonly name: string;
  /** A scalar, a well-known message or a message of the tables. */
  readonly type: string;
  readonly repeated: boolean;
  /** A `map[string]type`: repeated entry messages. */
  readonly map: boolean;
  /** A Go pointer: a zero value is kept. */
  readonly pointer: boolean;
  /** An embedded message whose fields join the parent's. */
  readonly inline: boolean;
}

const NOTATION = /^(?:(\w+) (\*|\[\]|map\[string\])?(\w+)|\.\.\.(\w+))$/;

/**
 * The field a table's notation describes.
 * @throws TypeError on notation the tables do not use (a table's mistake, caught by the tests).
 */
export function parseField(notation: string): FieldSpec {
  const match = NOTATION.exec(notation);
  if (!match) throw new TypeError(`field table: cannot read the field notation "${notation}"`);
  const [, name, prefix, type, inline] = match;
  if (inline !== undefined)
    return { name: '', type: inline, repeated: false, map: false, pointer: false, inline: true };
  return {
    name: name!,
    type: type!,
    repeated: prefix === '[]',
    map: prefix === 'map[string]',
    pointer: prefix === '*',
    inline: false,
  };
}
