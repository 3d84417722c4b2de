import { STATUS_CODES } from 'node:http';

/** The bytes the proxy writes itself: refusals, and the request head it forwards. No I/O. */

/** What the proxy forwards of an upgrade request. */
export interface ForwardedRequest {
  readonly method: string;
  /** The request target exactly as received. */
  readonly url: string;
  /** `1.1` */
  readonly httpVersion: string;
  /** Node's `rawHeaders`: names and values alternating, as received (case and order kept). */
  readonly rawHeaders: readonly string[];
  /** The client's address; undefined when the socket is already gone. */
  readonly remoteAddress: string | undefined;
}

const X_FORWARDED_FOR = 'x-forwarded-for';

/**
 * The request head to send to the gateway: the request line and the headers as received,
 * then `X-Forwarded-For` with the client's address appended to any earlier hops (the
 * de-facto format; RFC 7239 section 5.2 describes the same chain for `Forwarded`).
 */
export function forwardedHead(request: ForwardedRequest): string {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const hops: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!;
    const value = request.rawHeaders[i + 1]!;
    if (request.remoteAddress !== undefined && name.toLowerCase() === X_FORWARDED_FOR) hops.push(value);
    else lines.push(`${name}: ${value}`);
  }
  if (request.remoteAddress !== undefined)
    lines.push(`X-Forwarded-For: ${[...hops, request.remoteAddress].join(', ')}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** What a refusal carries. */
export interface ResponseInit {
  /** Plain text; a newline is added. */
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A complete `Connection: close` HTTP/1.1 response with a plain-text body. */
export function httpResponse(status: number, init: ResponseInit): string {
  const body = `${init.body}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  for (const [name, value] of Object.entries(init.headers ?? {})) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
