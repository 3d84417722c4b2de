/**
 * What a client-node error says: its HTTP status and the API server's message. client-node 1.x
 * throws `ApiException` with `code` (the HTTP status) and `body` (the `Status` object as text).
 */

/** The HTTP status of a client-node error (404, 409, …), or undefined for any other error. */
export function apiStatusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's `Status.message` when the error carries one, else the error's first line. */
export function apiErrorMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return status.message;
    } catch {
      // Not a Status: fall back to the error's own message.
    }
  }
  return String((error as Error | null)?.message ?? error).split('\n')[0]!;
}
