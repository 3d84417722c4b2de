import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { PodLogOptions } from '../apiserver/http/pod-log.js';
import { renderCriRecord, type CriRenderOptions } from './cri-log.js';

/**
 * Container log files, laid out like the kubelet's /var/log/pods:
 * `<logDir>/<namespace>_<pod>_<uid>/<container>.log`, the run before kept as
 * `<container>.previous.log`, each line a CRI record (cri-log.ts). Readers get a stream of the
 * output as the kubelet serves it: from the tail's first record, records before `since` left
 * out, with or without timestamps, at most `limitBytes`; following, each new record until the
 * run ends.
 */

/** Bytes read from a log file at once. */
export const LOG_CHUNK_BYTES = 64 * 1024;

/** The pod a log belongs to. */
export interface LogOwner {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** The directory of a pod's logs. */
export function podLogDir(logDir: string, pod: LogOwner): string {
  return join(logDir, `${pod.namespace}_${pod.name}_${pod.uid}`);
}

/** The current and previous log files of a container. */
export function containerLogFiles(
  logDir: string,
  pod: LogOwner,
  container: string,
): { current: string; previous: string } {
  const dir = podLogDir(logDir, pod);
  return { current: join(dir, `${container}.log`), previous: join(dir, `${container}.previous.log`) };
}

/** Before a new run: creates the directory, and makes the last run's log the previous one. */
export async function rotateContainerLog(logDir: string, pod: LogOwner, container: string): Promise<string> {
  const files = containerLogFiles(logDir, pod, container);
  await mkdir(podLogDir(logDir, pod), { recursive: true });
  await rename(files.current, files.previous).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  return files.current;
}

/** Removes a pod's logs (the pod is gone). */
export async function removePodLogs(logDir: string, pod: LogOwner): Promise<void> {
  await rm(podLogDir(logDir, pod), { recursive: true, force: true });
}

/** Reading options: {@link PodLogOptions} plus, when following, when the run ends. */
export interface ReadLogOptions extends Pick<PodLogOptions, 'tailLines' | 'limitBytes' | 'timestamps' | 'sinceMs'> {
  /** Follow until this resolves (the run ended), then end after the last bytes; omitted: no follow. */
  readonly until?: Promise<unknown>;
}

/** A stream of `file` from its tail; undefined when the file does not exist. */
export async function readLog(file: string, options: ReadLogOptions): Promise<Readable | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const start = await tailOffset(handle, size, options.tailLines);
    const render: CriRenderOptions = {
      timestamps: options.timestamps,
      ...(options.sinceMs !== undefined ? { sinceNs: BigInt(options.sinceMs) * 1_000_000n } : {}),
    };
    return new LogStream({
      handle,
      file,
      position: start,
      limit: options.limitBytes ?? Infinity,
      until: options.until,
      render,
    });
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Where the last `lines` lines of the file start (0 for all). */
export async function tailOffset(handle: FileHandle, size: number, lines: number | undefined): Promise<number> {
  if (lines === undefined) return 0;
  if (lines <= 0 || size === 0) return size;
  const buffer = Buffer.alloc(LOG_CHUNK_BYTES);
  let end = size;
  let newlines = 0;
  let first = true;
  while (end > 0) {
    const start = Math.max(0, end - LOG_CHUNK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      // A final newline ends the last line; it does not start another.
      if (buffer[i] !== 0x0a || (first && start + i === size - 1)) continue;
      if (++newlines === lines) return start + i + 1;
    }
    first = false;
    end = start;
  }
  return 0;
}

interface LogStreamInit {
  handle: FileHandle;
  file: string;
  position: number;
  /** Bytes left to send. */
  limit: number;
  until: Promise<unknown> | undefined;
  render: CriRenderOptions;
}

/**
 * Reads a growing file from a position; ends at its end, or (following) once `until` has resolved and the rest is read.
 */
class LogStream extends Readable {
  readonly #init: LogStreamInit;
  readonly #buffer = Buffer.alloc(LOG_CHUNK_BYTES);
  /** The start of a record not yet read to its end (being written while followed). */
  #partial: Buffer = Buffer.alloc(0);
  #watcher: FSWatcher | undefined;
  #finished: boolean;
  #reading = false;
  #again = false;
  #done = false;

  constructor(init: LogStreamInit) {
    super();
    this.#init = init;
    this.#finished = init.until === undefined;
    if (init.until) {
      this.#watcher = watch(init.file, () => void this.#pump());
      this.#watcher.on('error', () => undefined);
      void init.until.then(() => {
        this.#finished = true;
        void this.#pump();
      });
    }
  }

  override _read(): void {
    void this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#done = true;
    this.#watcher?.close();
    this.#init.handle.close().then(
      () => callback(error),
      (closeError: Error) => callback(error ?? closeError),
    );
  }

  async #pump(): Promise<void> {
    if (this.#done) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = true;
    try {
      await this.#drain();
    } catch (error) {
      this.destroy(error as Error);
    } finally {
      this.#reading = false;
    }
    if (this.#again) {
      this.#again = false;
      void this.#pump();
    }
  }

  /** Pushes what the file has beyond the position, rendered, while the reader wants more. */
  async #drain(): Promise<void> {
    const init = this.#init;
    for (;;) {
      if (this.#done) return;
      const finished = this.#finished;
      const { bytesRead } =
        init.limit > 0 ? await init.handle.read(this.#buffer, 0, LOG_CHUNK_BYTES, init.position) : { bytesRead: 0 };
      if (bytesRead > 0) {
        init.position += bytesRead;
        if (!this.#pushRecords(this.#buffer.subarray(0, bytesRead))) return;
        continue;
      }
      if (finished || init.limit <= 0) {
        this.#done = true;
        this.#watcher?.close();
        this.push(null);
      }
      return;
    }
  }

  /** Renders the complete records in `bytes` (with the partial one before them) and pushes them, up to the limit. */
  #pushRecords(bytes: Buffer): boolean {
    const data = Buffer.concat([this.#partial, bytes]);
    const end = data.lastIndexOf(0x0a) + 1;
    this.#partial = Buffer.from(data.subarray(end));
    const output: Buffer[] = [];
    let start = 0;
    while (start < end) {
      const next = data.indexOf(0x0a, start);
      output.push(renderCriRecord(data.subarray(start, next), this.#init.render));
      start = next + 1;
    }
    const rendered = Buffer.concat(output);
    const sent = rendered.subarray(0, Math.min(rendered.length, this.#init.limit));
    this.#init.limit -= sent.length;
    return sent.length === 0 || this.push(sent);
  }
}
