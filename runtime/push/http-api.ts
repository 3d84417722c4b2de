import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import type { PushMessage, PushResult } from '../protos.js';
import { jsonResult, parsePushBody, type RequestError, type RequestLimits } from './validate.js';

/** What the HTTP server needs from push. */
export interface HttpApiOptions {
  readonly limits: RequestLimits;
  /** Largest request body read, in bytes; beyond: 413 without reading further. */
  readonly maxBodyBytes: number;
  readonly push: (messages: PushMessage[]) => Promise<PushResult[]>;
  readonly ready: () => boolean;
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'code'>;
  readonly logger: Logger;
}

/**
 * The node:http request listener: `POST /v1/push` (JSON, DESIGN.md section 6), `/healthz`,
 * `/readyz` (200 once a ring is loaded) and `/metrics`. Errors are JSON
 * `{"error":{"code","message"}}`: 400 invalid, 413 too large, 405 wrong method, 404.
 */
export function httpHandler(options: HttpApiOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(options, req, res).catch((error: unknown) => {
      options.logger.error({ err: error }, 'push HTTP request failed');
      send(res, 500, errorBody('internal', 'internal error'));
    });
  };
}

const TEXT = { type: 'text/plain; charset=utf-8' };

async function route(options: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  switch (path) {
    case '/v1/push':
      return pushRoute(options, req, res);
    case '/healthz':
      return send(res, 200, 'ok\n', TEXT);
    case '/readyz':
      return options.ready() ? send(res, 200, 'ok\n', TEXT) : send(res, 503, 'no ring loaded\n', TEXT);
    case '/metrics':
      return send(res, 200, await options.registry.metrics(), { type: options.registry.contentType });
    default:
      return send(res, 404, errorBody('not_found', `no route for ${path}`));
  }
}

async function pushRoute(options: HttpApiOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = (code: number, body: string, headers?: Record<string, string>): void => {
    options.requests.inc({ api: 'http', code: String(code) });
    send(res, code, body, { headers });
  };
  if (req.method !== 'POST') return answer(405, errorBody('method_not_allowed', 'use POST'), { allow: 'POST' });
  const body = await readBody(req, options.maxBodyBytes);
  if (body === undefined) {
    answer(413, errorBody('too_large', `body is larger than ${options.maxBodyBytes} bytes`), { connection: 'close' });
    return;
  }
  const checked = parsePushBody(body, options.limits);
  if (!checked.ok) return answer(statusOf(checked.error), errorBody(checked.error.kind === 'invalid' ? 'invalid_argument' : 'too_large', checked.error.message));
  const results = await options.push(checked.messages);
  answer(200, JSON.stringify({ results: results.map(jsonResult) }));
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

function statusOf(error: RequestError): number {
  return error.kind === 'too_large' ? 413 : 400;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

function send(res: ServerResponse, status: number, body: string, head: { type?: string; headers?: Record<string, string> } = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': head.type ?? 'application/json', 'content-length': Buffer.byteLength(body), ...head.headers });
  res.end(body);
}
