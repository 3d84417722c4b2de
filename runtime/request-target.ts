/**
 * The path and query of an origin-form request target (RFC 9112 section 3.2.1), or undefined:
 * `new URL` throws on targets like `//` and `http://[::1`, and a throw in an upgrade handler
 * would take the whole process down. The proxy and the gateway read a target the same way, so
 * that no request is routed by one reading and served by another.
 */
export function originFormTarget(target: string | undefined): URL | undefined {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    // The base only anchors the target; it is never dialled.
    return new URL(target, 'http://target.invalid');
  } catch {
    return undefined;
  }
}
