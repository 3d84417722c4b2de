import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';
import { decodeObject } from '../protobuf/decode-object.js';

/**
 * Bodies as the API server reads and writes them: JSON, YAML or protobuf in, up to a size; JSON out, with
 * `Warning` headers; errors as `meta/v1 Status`.
 */

/** Answers `status` with `body` as JSON, and `warnings` as `Warning` headers. */
export function send(res: ServerResponse, status: number, body: unknown, warnings: readonly string[] = []): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  };
  if (warnings.length > 0) headers.Warning = [...warnings];
  res.writeHead(status, headers).end(text);
}

/** Answers `error` as a `Status` (an unexpected one as 500); ends a response already under way. */
export function sendError(res: ServerResponse, error: unknown): void {
  const apiError =
    error instanceof ApiError
      ? error
      : new ApiError(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`);
  if (res.headersSent) {
    res.end();
    return;
  }
  send(res, apiError.code, apiError.toStatus());
}

/** The request body as bytes (protobuf), up to `limit` bytes (else 413). */
export async function readBodyBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new ApiError(413, 'RequestEntityTooLarge', `the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** A request body as the object handlers read it: its media type, and its text once asked for. */
export interface RequestBody {
  /** The media type of {@link text}: JSON for a decoded protobuf body. */
  readonly contentType: string | undefined;
  /**
   * The body as text, decoded on the first call: a handler asks only once the route is known to
   * be served, so a request for what is not served gets its 404 before any decoding error.
   * @throws ApiError 415 for a protobuf object the decoder has no table for, 400 for malformed bytes.
   */
  text(): string;
}

/**
 * The body of a resource request, up to `limit` bytes. A protobuf object (kubectl's generators,
 * `kubectl create configmap …`, send built-ins so) is handed on as JSON.
 * @throws ApiError 415 for CBOR; 413 past `limit`.
 */
export async function readRequestBody(req: IncomingMessage, limit: number): Promise<RequestBody> {
  const contentType = req.headers['content-type'];
  if (contentType?.includes('cbor')) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the local API server accepts JSON, YAML and protobuf bodies, not ${contentType}: use "kubectl apply -f" or "kubectl create -f"`,
    );
  }
  const bytes = await readBodyBytes(req, limit);
  if (!contentType?.includes('protobuf') || bytes.length === 0) {
    const text = bytes.toString('utf8');
    return { contentType, text: () => text };
  }
  let decoded: string | undefined;
  return { contentType: 'application/json', text: () => (decoded ??= JSON.stringify(decodeObject(bytes))) };
}

/** Whether the client asks for a `meta.k8s.io/v1 Table` first (`kubectl get`). */
export function wantsTable(accept: string | undefined): boolean {
  return accept?.split(',')[0]?.includes('as=Table') ?? false;
}
