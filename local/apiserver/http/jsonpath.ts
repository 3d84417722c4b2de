/**
 * The JSONPath subset that CRD `additionalPrinterColumns` use (k8s.io/client-go/util/jsonpath as
 * the apiextensions-apiserver's table convertor calls it): fields (`.spec.replicas`), quoted keys
 * (`['b.c']`), indexes (`[0]`, `[-1]`), `[*]`, and filters (`[?(@.type=="Ready")]`, `==`/`!=`).
 */

type Step =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'filter'; readonly path: readonly Step[]; readonly op: '==' | '!='; readonly value: unknown };

/**
 * The first value `path` selects in `root`, or `undefined` when nothing matches or the path is not
 * of the supported subset. Never throws, whatever `root` holds. Braces (`{.a.b}`) are accepted.
 */
export function findFirst(root: unknown, path: string): unknown {
  const steps = parsePath(path);
  if (steps === undefined) return undefined;
  return evaluate([root], steps)[0];
}

/** Whether `path` parses as the supported subset (for validating printer columns up front). */
export function isSupportedPath(path: string): boolean {
  return parsePath(path) !== undefined;
}

function parsePath(path: string): Step[] | undefined {
  let text = path.trim();
  if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1).trim();
  if (text.startsWith('$')) text = text.slice(1);
  const steps: Step[] = [];
  let at = 0;
  while (at < text.length) {
    const parsed = parseStep(text, at);
    if (parsed === undefined) return undefined;
    if (parsed.step) steps.push(parsed.step);
    at = parsed.next;
  }
  return steps;
}

interface Parsed {
  readonly step: Step | undefined;
  readonly next: number;
}

function parseStep(text: string, at: number): Parsed | undefined {
  const c = text[at];
  if (c === '.') {
    const match = /^[A-Za-z0-9_\-$]*/.exec(text.slice(at + 1));
    const name = match?.[0] ?? '';
    // A bare "." (the root, or the dot before a bracket) selects nothing new.
    return { step: name === '' ? undefined : { kind: 'field', name }, next: at + 1 + name.length };
  }
  if (c === '[') return parseBracket(text, at);
  return undefined;
}

function parseBracket(text: string, at: number): Parsed | undefined {
  const end = closingBracket(text, at);
  if (end < 0) return undefined;
  const inner = text.slice(at + 1, end).trim();
  const next = end + 1;
  if (inner === '*') return { step: { kind: 'all' }, next };
  if (/^-?\d+$/.test(inner)) return { step: { kind: 'index', index: Number(inner) }, next };
  const quoted = /^(['"])(.*)\1$/.exec(inner);
  if (quoted) return { step: { kind: 'field', name: quoted[2] ?? '' }, next };
  const filter = parseFilter(inner);
  return filter ? { step: filter, next } : undefined;
}

/** The index of the `]` closing the `[` at `at`, skipping quoted text; -1 if none. */
function closingBracket(text: string, at: number): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[') {
      depth++;
    } else if (c === ']' && --depth === 0) {
      return i;
    }
  }
  return -1;
}

function parseFilter(inner: string): Step | undefined {
  const match = /^\?\(\s*@((?:\.[A-Za-z0-9_\-$]+|\[[^\]]*\])*)\s*(==|!=)\s*(.+?)\s*\)$/.exec(inner);
  if (!match) return undefined;
  const path = parsePath(match[1] ?? '');
  const value = parseLiteral(match[3] ?? '');
  if (path === undefined || value === undefined) return undefined;
  return { kind: 'filter', path, op: match[2] === '!=' ? '!=' : '==', value: value.value };
}

function parseLiteral(text: string): { value: unknown } | undefined {
  const quoted = /^(['"])(.*)\1$/.exec(text);
  if (quoted) return { value: quoted[2] ?? '' };
  if (text === 'true' || text === 'false') return { value: text === 'true' };
  if (text === 'null') return { value: null };
  const n = Number(text);
  return Number.isFinite(n) ? { value: n } : undefined;
}

function evaluate(values: readonly unknown[], steps: readonly Step[]): unknown[] {
  let current = values;
  for (const step of steps) {
    current = current.flatMap((v) => apply(v, step));
    if (current.length === 0) break;
  }
  return [...current];
}

function apply(value: unknown, step: Step): unknown[] {
  switch (step.kind) {
    case 'field':
      return isRecord(value) && Object.hasOwn(value, step.name) ? [value[step.name]] : [];
    case 'index': {
      if (!Array.isArray(value)) return [];
      const i = step.index < 0 ? value.length + step.index : step.index;
      return i >= 0 && i < value.length ? [value[i] as unknown] : [];
    }
    case 'all':
      return Array.isArray(value) ? [...(value as unknown[])] : isRecord(value) ? Object.values(value) : [];
    case 'filter':
      return Array.isArray(value) ? (value as unknown[]).filter((item) => matches(item, step)) : [];
  }
}

function matches(item: unknown, step: Extract<Step, { kind: 'filter' }>): boolean {
  const found = evaluate([item], step.path);
  // client-go's jsonpath compares only elements where the filter's left side exists.
  if (found.length === 0) return false;
  const equal = found[0] === step.value;
  return step.op === '==' ? equal : !equal;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
