import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { PushAnswer, PushRefusal, ReadMessages } from './serve-push.js';
import { jsonResult, parsePushBody } from './validate.js';

/** What the HTTP server needs from push. */
export interface HttpApiOptions {
  /** Largest request body read, in bytes; beyond: 413 without reading further. */
  readonly maxBodyBytes: number;
  /**
   * Push's one request path (servePush): a request refused at admission (`overloaded`,
   * `fenced`) gets 503 with Retry-After, its body not read.
   */
  readonly serve: (read: () => Promise<ReadMessages>) => Promise<PushAnswer>;
  readonly requests: Counter<'api' | 'code'>;
  readonly logger: Logger;
}

/**
 * Push's route on the runtime ops server (which serves `/healthz`, `/readyz`, `/metrics`):
 * `POST /v1/push` (JSON, DESIGN.md section 6). Errors are JSON `{"error":{"code","message"}}`:
 * 400 invalid, 413 too large, 405 wrong method, 503 too many requests at once (`overloaded`)
 * or a ring that may be stale (`fenced`).
 * @returns the ops server's `routes` function (true when it took the request).
 */
export function pushRoutes(options: HttpApiOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if ((req.url ?? '/').split('?', 1)[0] !== '/v1/push') return false;
    pushRoute(options, req, res).catch((error: unknown) => {
      options.logger.error({ err: error }, 'push HTTP request failed');
      send(res, 500, errorBody('internal', 'internal error'));
    });
    return true;
  };
}

async function pushRoute(options: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = (code: number, body: string, headers?: Record<string, string>): void => {
    options.requests.inc({ api: 'http', code: String(code) });
    send(res, code, body, { headers });
  };
  if (req.method !== 'POST') return answer(405, errorBody('method_not_allowed', 'use POST'), { allow: 'POST' });
  let bodyTooLarge = false;
  const outcome = await options.serve(async (): Promise<ReadMessages> => {
    const body = await readBody(req, options.maxBodyBytes);
    if (body === undefined) {
      bodyTooLarge = true;
      return { ok: false, error: { kind: 'too_large', message: `body is larger than ${options.maxBodyBytes} bytes` } };
    }
    const parsed = parsePushBody(body);
    return parsed.ok ? { ok: true, messages: parsed.messages, api: 'json' } : parsed;
  });
  if (outcome.ok) return answer(200, JSON.stringify({ results: outcome.results.map(jsonResult) }));
  const { kind, message } = outcome.error;
  if (kind === 'overloaded' || kind === 'fenced') {
    req.resume();
    // Retry-After in seconds (RFC 9110 section 10.2.3).
    return answer(503, errorBody(kind, message), { 'retry-after': '1', connection: 'close' });
  }
  const code = kind === 'invalid' ? 'invalid_argument' : 'too_large';
  // A body cut off unread: the connection goes with it.
  answer(statusOf(outcome.error), errorBody(code, message), bodyTooLarge ? { connection: 'close' } : undefined);
}

/** The body as UTF-8, or undefined once it passes `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function statusOf(error: PushRefusal): number {
  return error.kind === 'too_large' ? 413 : 400;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function send(
  res: ServerResponse,
  status: number,
  body: string,
  head: { type?: string; headers?: Record<string, string> } = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': head.type ?? 'application/json',
    'content-length': Buffer.byteLength(body),
    ...head.headers,
  });
  res.end(body);
}
