import { parseRfc3339Nanos, rfc3339Nano } from '../../kube/nano-clock.js';

/**
 * The CRI container log format (kubernetes/cri-api's container log spec, as containerd and
 * CRI-O write it): one record a line, `<RFC 3339 time> <stdout|stderr> <F|P> <content>`, where
 * `F` ends a line of the container's output and `P` is part of a longer one. Pure.
 */

/** Longest piece of an output line in one record, in bytes; a longer line is split into `P` records (containerd's). */
export const MAX_RECORD_CONTENT_BYTES = 16 * 1024;

/** The stream of a record. */
export type LogStreamName = 'stdout' | 'stderr';

/** One record, decoded. */
export interface CriRecord {
  /** When the runtime read it, in nanoseconds since the Unix epoch. */
  readonly timeNs: bigint;
  readonly stream: LogStreamName;
  /** Part of a longer line (`P`): no newline follows its content. */
  readonly partial: boolean;
  readonly content: Buffer;
}

const NEWLINE = 0x0a;

/**
 * Turns one stream's output into records: whole lines as they complete, a line's piece as soon
 * as it reaches {@link MAX_RECORD_CONTENT_BYTES}, and what is left as a `P` record at the end.
 */
export class CriLineEncoder {
  readonly #stream: LogStreamName;
  #pending: Buffer = Buffer.alloc(0);

  constructor(stream: LogStreamName) {
    this.#stream = stream;
  }

  /** The records for `chunk`, read at `timeNs`; an incomplete last line is kept for later. */
  encode(chunk: Buffer, timeNs: bigint): Buffer {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const records: Buffer[] = [];
    for (;;) {
      const end = data.indexOf(NEWLINE);
      if (end >= 0 && end <= MAX_RECORD_CONTENT_BYTES) {
        records.push(this.#record(timeNs, 'F', data.subarray(0, end)));
        data = data.subarray(end + 1);
      } else if (data.length > MAX_RECORD_CONTENT_BYTES) {
        records.push(this.#record(timeNs, 'P', data.subarray(0, MAX_RECORD_CONTENT_BYTES)));
        data = data.subarray(MAX_RECORD_CONTENT_BYTES);
      } else break;
    }
    this.#pending = Buffer.from(data);
    return Buffer.concat(records);
  }

  /** The record of an unfinished last line (the stream ended without a newline); empty when there is none. */
  flush(timeNs: bigint): Buffer {
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    return rest.length > 0 ? this.#record(timeNs, 'P', rest) : Buffer.alloc(0);
  }

  #record(timeNs: bigint, tag: 'F' | 'P', content: Buffer): Buffer {
    return Buffer.concat([Buffer.from(`${rfc3339Nano(timeNs)} ${this.#stream} ${tag} `), content, Buffer.from('\n')]);
  }
}

/** Decodes one record (without its newline); undefined for a line that is not one. */
export function decodeCriRecord(line: Buffer): CriRecord | undefined {
  const first = line.indexOf(0x20);
  const second = first < 0 ? -1 : line.indexOf(0x20, first + 1);
  const third = second < 0 ? -1 : line.indexOf(0x20, second + 1);
  if (third < 0) return undefined;
  const timeNs = parseRfc3339Nanos(line.subarray(0, first).toString('latin1'));
  const stream = line.subarray(first + 1, second).toString('latin1');
  const tag = line.subarray(second + 1, third).toString('latin1');
  if (timeNs === undefined || (stream !== 'stdout' && stream !== 'stderr') || (tag !== 'F' && tag !== 'P'))
    return undefined;
  return { timeNs, stream, partial: tag === 'P', content: line.subarray(third + 1) };
}

/** How records are shown (the kubelet's log options). */
export interface CriRenderOptions {
  /** Records read before this time (ns since the epoch) are left out. */
  readonly sinceNs?: bigint;
  /** Each record's content is prefixed with its time (RFC 3339, nine fractional digits) and a space. */
  readonly timestamps: boolean;
}

/** What a client is sent for one record line: empty when it is filtered out or not a record. */
export function renderCriRecord(line: Buffer, options: CriRenderOptions): Buffer {
  const record = decodeCriRecord(line);
  if (!record || (options.sinceNs !== undefined && record.timeNs < options.sinceNs)) return Buffer.alloc(0);
  const parts = [record.content];
  if (options.timestamps) parts.unshift(Buffer.from(`${rfc3339Nano(record.timeNs)} `));
  if (!record.partial) parts.push(Buffer.from('\n'));
  return Buffer.concat(parts);
}
