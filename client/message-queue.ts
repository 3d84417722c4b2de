/**
 * The buffer behind one `messages()` iterator: holds at most `limit` messages the consumer has
 * not taken yet. Past it, the iterator fails with a RangeError instead of growing without bound.
 */
export class MessageQueue<T> implements AsyncIterableIterator<T> {
  readonly #limit: number;
  readonly #items: T[] = [];
  readonly #waiters: Array<{ resolve: (result: IteratorResult<T>) => void; reject: (error: Error) => void }> = [];
  readonly #onDone: () => void;
  #ended = false;
  #error: Error | undefined;

  /** `onDone` runs once, when the queue ends, fails or the consumer stops. */
  constructor(limit: number, onDone: () => void) {
    this.#limit = limit;
    this.#onDone = onDone;
  }

  /** Adds a message, or fails the iterator when `limit` messages are already waiting. */
  push(item: T): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: item, done: false });
    } else if (this.#items.length >= this.#limit) {
      this.fail(
        new RangeError(`more than ${this.#limit} messages waited in a messages() iterator (maxQueuedMessages)`),
      );
    } else {
      this.#items.push(item);
    }
  }

  /** Ends the iteration after the messages already queued. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#onDone();
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  /** Ends the iteration with `error` (after the messages already queued). */
  fail(error: Error): void {
    if (this.#ended) return;
    this.#error = error;
    this.#ended = true;
    this.#onDone();
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined;
      return Promise.reject(error);
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.#items.length = 0;
    this.#error = undefined;
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
