/** Reads and writes the simple dotted JSON paths of scale subresources (`.spec.replicas`). */

type Json = Record<string, unknown>;

function segments(path: string): string[] {
  return path
    .replace(/^\./, '')
    .split('.')
    .filter((s) => s !== '');
}

/** The value at `path` in `object`, or undefined. */
export function getPath(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const segment of segments(path)) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Json)[segment];
  }
  return current;
}

/** Sets `path` in `object` (which the caller owns), creating objects on the way. */
export function setPath(object: Json, path: string, value: unknown): void {
  const parts = segments(path);
  let current = object;
  for (const segment of parts.slice(0, -1)) {
    const next = current[segment];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) current[segment] = {};
    current = current[segment] as Json;
  }
  current[parts[parts.length - 1]!] = value;
}

/** The `apiVersion` of a group and version: `v1` for the core group, else `group/version`. */
export function apiVersionOf(type: { group: string; version: string }): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}
