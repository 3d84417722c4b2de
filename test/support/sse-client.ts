import { get, type ClientRequest, type IncomingMessage } from 'node:http';

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/**
 * Reads a `text/event-stream` (the WHATWG HTML "server-sent events" format) and lets a test
 * wait for the first event that satisfies a predicate, past or future.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  #request: ClientRequest | undefined;
  #waiters = new Set<() => void>();

  /** Connects to `url`; resolves with the response once its headers arrived. */
  async connect(url: string): Promise<IncomingMessage> {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      this.#request = get(url, resolve).on('error', reject);
    });
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.#parse(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    });
    return response;
  }

  /** The first event (from the start of the stream) for which `accept` holds; rejects after `timeoutMs`. */
  async waitFor<T>(accept: (event: SseEvent) => T | undefined, timeoutMs = 10_000): Promise<T> {
    const started = this.events.length;
    for (const event of this.events.slice(0, started)) {
      const found = accept(event);
      if (found !== undefined) return found;
    }
    let seen = started;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no matching event within ${timeoutMs} ms; last: ${this.events.at(-1)?.data.slice(0, 400)}`));
      }, timeoutMs);
      const check = (): void => {
        for (; seen < this.events.length; seen++) {
          const found = accept(this.events[seen]!);
          if (found === undefined) continue;
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve(found);
          return;
        }
      };
      this.#waiters.add(check);
    });
  }

  /** Resolves once `count` comment lines `text` arrived (default 1); rejects after `timeoutMs`. */
  waitForComment(text: string, count = 1, timeoutMs = 10_000): Promise<void> {
    const arrived = (): boolean => this.comments.filter((c) => c === text).length >= count;
    if (arrived()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`no ${count} comments "${text}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (!arrived()) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  close(): void {
    this.#request?.destroy();
  }

  #parse(block: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) this.events.push({ event, data: data.join('\n') });
    for (const waiter of [...this.#waiters]) waiter();
  }
}
