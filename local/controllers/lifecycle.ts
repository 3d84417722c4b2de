/** The two steps a component of the local control plane runs once each. */
export interface LifecycleSteps {
  /** Starts the component; resolves once it is serving. */
  start(): Promise<void>;
  /** Stops the component and waits for its work in flight. */
  close(): Promise<void>;
}

/**
 * Start and close of a controller, each run once: every `start()` shares the first one's
 * promise and is refused once `close()` was called; every `close()` shares the first one's.
 * Closing is seen from the moment `close()` is called, before its step runs, so the step and
 * any callback it ends can tell a requested stop from a failure.
 */
export class Lifecycle {
  readonly #name: string;
  readonly #steps: LifecycleSteps;
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  /** `name` prefixes the error a `start()` after `close()` rejects with. */
  constructor(name: string, steps: LifecycleSteps) {
    this.#name = name;
    this.#steps = steps;
  }

  /** True from the first `close()` call on. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Runs the start step once; rejects once `close()` was called. */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`${this.#name}: closed`));
    this.#started ??= this.#steps.start();
    return this.#started;
  }

  /** Runs the close step once. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#steps.close();
    return this.#closing;
  }
}
