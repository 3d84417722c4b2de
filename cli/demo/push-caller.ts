/**
 * Calls push's HTTP API over keep-alive connections, as a service that pushes messages would.
 *
 * A keep-alive connection can be closed by the server while idle (push draining as its pod
 * stops, or its idle timeout) at the moment a request is sent on it: the request then fails
 * with a reset before any byte of an answer. HTTP/1.1 lets a client retry when it knows the
 * server never saw the request (RFC 9112 section 9.3.1); Node marks such a request
 * `reusedSocket`. The caller retries that case (a reset of a reused connection before any
 * answer), once, on a new connection, as Node's documentation advises; any other failure is
 * the caller's, so a request the server may have acted on is not sent twice.
 */
import { Agent, request, type IncomingMessage } from 'node:http';

/** A JSON answer: its status and parsed body (`undefined` when the body is not JSON). */
export interface JsonAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Error codes of a connection the server closed before it read the request. */
const CLOSED_BEFORE_READ = new Set(['ECONNRESET', 'EPIPE']);

/** Whether a failed request on a reused keep-alive connection is safe to send again. */
export function retryable(error: NodeJS.ErrnoException, reusedSocket: boolean): boolean {
  return reusedSocket && error.code !== undefined && CLOSED_BEFORE_READ.has(error.code);
}

export class PushCaller {
  readonly #agent = new Agent({ keepAlive: true });
  /** Requests retried on a new connection after their reused one was closed under them. */
  retried = 0;

  /** POSTs `body` as JSON to `url`. @throws when the connection fails (but for the one retry) */
  async post(url: string, body: unknown): Promise<JsonAnswer> {
    const payload = Buffer.from(JSON.stringify(body));
    try {
      return await this.#send(url, payload);
    } catch (error) {
      const failure = error as SendError;
      if (!retryable(failure, failure.reusedSocket === true)) throw error;
      this.retried += 1;
      return this.#send(url, payload);
    }
  }

  /** Closes the idle connections. */
  close(): void {
    this.#agent.destroy();
  }

  #send(url: string, payload: Buffer): Promise<JsonAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        agent: this.#agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      });
      req.once('error', (error: SendError) => {
        error.reusedSocket = req.reusedSocket;
        reject(error);
      });
      req.once('response', (response) => void readJson(response).then(resolve, reject));
      req.end(payload);
    });
  }
}

type SendError = NodeJS.ErrnoException & { reusedSocket?: boolean };

async function readJson(response: IncomingMessage): Promise<JsonAnswer> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.statusCode ?? 0, body };
}
