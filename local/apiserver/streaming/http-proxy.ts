import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { unavailable, type ProxyTarget } from './proxy-targets.js';

/**
 * Relays one HTTP request to a pod as the API server's proxy subresources do: method, path,
 * query, body and end-to-end headers go on; the answer comes back streamed. The client's
 * credentials and impersonation headers stay here: they are for the API server, not the pod.
 */

/** Headers that belong to one hop (RFC 9110, section 7.6.1) or to the API server. */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
]);

/**
 * Sends `req` to `target` at `path` (with the query), and its answer to `res`.
 * @throws ApiError 503 when the target cannot be reached (nothing was answered yet).
 */
export function proxyHttp(
  req: IncomingMessage,
  res: ServerResponse,
  to: { readonly target: ProxyTarget; readonly path: string },
): Promise<void> {
  const { target, path } = to;
  return new Promise((resolve, reject) => {
    const send = target.scheme === 'https' ? httpsRequest : httpRequest;
    const upstream = send(
      {
        host: target.host,
        port: target.port,
        method: req.method,
        path,
        headers: endToEnd(req.headers),
        // The API server does not verify a pod's serving certificate either.
        ...(target.scheme === 'https' ? { rejectUnauthorized: false } : {}),
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        res.flushHeaders();
        // A client that goes away ends the relay early: not an error of the server.
        pipeline(answer, res).then(resolve, () => resolve());
      },
    );
    upstream.once('error', (error) => {
      if (!res.headersSent) return reject(unavailable(`error trying to reach service: ${error.message}`));
      res.destroy();
      resolve();
    });
    pipeline(req, upstream).catch(() => upstream.destroy());
  });
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase()),
  );
  return Object.fromEntries(
    Object.entries(headers).filter(
      ([name]) => !DROPPED.has(name) && !named.has(name) && !name.startsWith('impersonate-'),
    ),
  );
}
