import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { PushResult } from '../protos.js';

/** Where offline results go: a webhook, or a log line (DESIGN.md section 6). */
export interface OfflineSink {
  /** Takes results for delivery; never blocks, never throws (overflow is dropped and counted). */
  submit(results: readonly PushResult[]): void;
  /** Results accepted and not yet delivered. */
  queued(): number;
  /** Stops; results still queued are dropped and counted. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link createOfflineSink}. */
export interface OfflineSinkOptions {
  /** POST `{results:[…]}` here; undefined: one log line per batch. */
  readonly webhookUrl: string | undefined;
  /** Results held while the webhook is slow or failing; beyond, dropped and counted. */
  readonly queueLimit: number;
  /** Results per POST. */
  readonly batchSize: number;
  /** Attempts per POST before its results are dropped and counted. */
  readonly maxAttempts: number;
  /** Backoff after the first failed attempt, doubled each time up to `retryMaxMs`, in ms. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Per POST, in ms. */
  readonly requestTimeoutMs: number;
  readonly logger: Logger;
  /** Results delivered/dropped, by `outcome` (delivered, queue_full, webhook_failed, shutdown). */
  readonly counter: Counter<'outcome'>;
  /** Waits `ms` (injected so tests assert the backoff instead of sleeping). */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The sink {@link OfflineSinkOptions.webhookUrl} asks for. */
export function createOfflineSink(options: OfflineSinkOptions): OfflineSink {
  return options.webhookUrl === undefined ? logSink(options) : new WebhookSink(options, options.webhookUrl);
}

function logSink(options: OfflineSinkOptions): OfflineSink {
  return {
    submit(results) {
      if (results.length === 0) return;
      options.logger.info(
        {
          offline: results.length,
          results: results.map(({ msgId, userId, reason }) => ({ msgID: msgId, userID: userId, reason })),
        },
        'offline results',
      );
      options.counter.inc({ outcome: 'delivered' }, results.length);
    },
    queued: () => 0,
    close: () => Promise.resolve(),
  };
}

/** The webhook's body, in the HTTP API's JSON shape. */
export function webhookBody(results: readonly PushResult[]): string {
  return JSON.stringify({
    results: results.map(({ msgId, userId, reason }) => ({ msgID: msgId, userID: userId, status: 'offline', reason })),
  });
}

/**
 * A bounded queue drained by one worker that POSTs batches to the webhook, retrying each with
 * exponential backoff. One worker keeps the order and at most one request in flight.
 */
class WebhookSink implements OfflineSink {
  readonly #options: OfflineSinkOptions;
  readonly #url: string;
  readonly #queue: PushResult[] = [];
  readonly #abort = new AbortController();
  #worker: Promise<void> | undefined;
  #overflowing = false;
  #closed = false;

  constructor(options: OfflineSinkOptions, url: string) {
    this.#options = options;
    this.#url = url;
  }

  submit(results: readonly PushResult[]): void {
    if (this.#closed || results.length === 0) return;
    const room = Math.max(0, this.#options.queueLimit - this.#queue.length);
    this.#queue.push(...results.slice(0, room));
    const dropped = results.length - Math.min(room, results.length);
    if (dropped > 0) this.#drop(dropped, 'queue_full');
    else this.#overflowing = false;
    this.#worker ??= this.#drain().finally(() => (this.#worker = undefined));
  }

  queued(): number {
    return this.#queue.length;
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#abort.abort();
    }
    await this.#worker;
    if (this.#queue.length > 0) this.#drop(this.#queue.splice(0).length, 'shutdown');
  }

  async #drain(): Promise<void> {
    while (!this.#closed && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#options.batchSize);
      const delivered = await this.#post(batch);
      if (delivered) this.#options.counter.inc({ outcome: 'delivered' }, batch.length);
      else if (this.#closed) this.#drop(batch.length, 'shutdown');
      else this.#drop(batch.length, 'webhook_failed');
    }
  }

  /** POSTs one batch with retries; true once the webhook answered 2xx. */
  async #post(batch: PushResult[]): Promise<boolean> {
    const body = webhookBody(batch);
    let lastError = '';
    for (let attempt = 0; attempt < this.#options.maxAttempts && !this.#closed; attempt++) {
      if (attempt > 0) {
        const delay = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (attempt - 1));
        await this.#options.sleep(delay, this.#abort.signal).catch(() => undefined);
        if (this.#closed) return false;
      }
      try {
        const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#options.requestTimeoutMs)]);
        const response = await fetch(this.#url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal,
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return true;
        lastError = `HTTP ${response.status}`;
      } catch (error) {
        lastError = (error as Error).message;
      }
    }
    if (!this.#closed)
      this.#options.logger.warn(
        { webhook: this.#url, results: batch.length, attempts: this.#options.maxAttempts, error: lastError },
        'offline webhook failed; results dropped',
      );
    return false;
  }

  #drop(count: number, outcome: 'queue_full' | 'webhook_failed' | 'shutdown'): void {
    this.#options.counter.inc({ outcome }, count);
    if (outcome !== 'queue_full') return;
    // Logged once per overflow episode, not once per push.
    if (!this.#overflowing)
      this.#options.logger.warn(
        { limit: this.#options.queueLimit, dropped: count },
        'offline queue full; results dropped',
      );
    this.#overflowing = true;
  }
}
