/**
 * Label selectors as the API server parses and matches them
 * (k8s.io/apimachinery/pkg/labels, pkg/fields, and the per-kind field label conversions),
 * with the server's error messages. Bad selectors throw ApiError 400; objects never do.
 */

import { badRequest } from '../errors.js';

/** selection.Operator values (`exists` and `!` are the key-only forms). */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** Sorted and de-duplicated for parsed selectors; as given for selector objects. */
  readonly values: readonly string[];
}

/** A parsed label selector: all requirements must match; `nothing` matches no object at all. */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  readonly nothing?: boolean;
}

/**
 * Parses a label selector string (`a=b,c!=d,e in (x,y),f notin (z),g,!h`, also `==`, `>`/`<`);
 * throws ApiError 400 with the apiserver's message on a bad selector. Empty matches everything.
 */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = new LabelParser(lex(text)).parse();
  return { requirements: [...requirements].sort((a, b) => compare(a.key, b.key)) };
}

/** True when every requirement holds for `labels` (missing labels count as absent keys). */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  if (selector.nothing) return false;
  return selector.requirements.every((r) => matchesRequirement(r, labels ?? {}));
}

function matchesRequirement(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = has ? labels[r.key]! : '';
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(value);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    default:
      return has && compareInteger(r, value);
  }
}

function compareInteger(r: LabelRequirement, value: string): boolean {
  if (!/^[+-]?\d+$/.test(value) || r.values.length !== 1) return false;
  const actual = BigInt(value);
  const bound = BigInt(r.values[0]!);
  return r.operator === 'gt' ? actual > bound : actual < bound;
}

/**
 * Converts a metav1.LabelSelector object ({matchLabels, matchExpressions}) to the same form
 * (StatefulSets, PDBs, scale's status.selector). A missing selector matches nothing, `{}`
 * everything; a bad one throws ApiError 400.
 */
export function fromLabelSelectorObject(obj: unknown): LabelSelector {
  if (obj === null || obj === undefined) return { requirements: [], nothing: true };
  if (!isRecord(obj)) throw badRequest('label selector must be an object');
  const requirements: LabelRequirement[] = [];
  const matchLabels = isRecord(obj.matchLabels) ? obj.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) {
    requirements.push(newRequirement(key, '=', [String(value)]));
  }
  const expressions = Array.isArray(obj.matchExpressions) ? (obj.matchExpressions as unknown[]) : [];
  for (const expr of expressions) requirements.push(expressionRequirement(expr));
  return { requirements: requirements.sort((a, b) => compare(a.key, b.key)) };
}

const EXPRESSION_OPERATORS: Record<string, LabelOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

function expressionRequirement(expr: unknown): LabelRequirement {
  const e = isRecord(expr) ? expr : {};
  const op = EXPRESSION_OPERATORS[String(e.operator)];
  if (!op) throw badRequest(`${goQuote(String(e.operator))} is not a valid label selector operator`);
  const values = Array.isArray(e.values) ? e.values.map(String) : [];
  if ((op === 'exists' || op === '!') && values.length > 0) {
    throw badRequest(
      `values: Invalid value: ${goStrings(values)}: values set must be empty for exists and does not exist`,
    );
  }
  return newRequirement(String(e.key), op, values);
}

/** The canonical string the apiserver prints for a metav1.LabelSelector (`app=im,tier in (gw)`). */
export function labelSelectorToString(obj: unknown): string {
  return fromLabelSelectorObject(obj).requirements.map(requirementString).join(',');
}

function requirementString(r: LabelRequirement): string {
  const values = r.values.length === 1 ? r.values[0]! : [...r.values].sort(compare).join(',');
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.operator} (${values})`;
    case 'gt':
      return `${r.key}>${values}`;
    case 'lt':
      return `${r.key}<${values}`;
    default:
      return `${r.key}${r.operator}${values}`;
  }
}

// ---- lexer and parser (labels.Lexer / labels.Parser) ----

type Token = 'end' | 'error' | 'id' | ')' | ',' | '!' | '==' | '=' | '>' | '<' | 'in' | '!=' | 'notin' | '(';

interface Item {
  readonly tok: Token;
  readonly lit: string;
}

const KEYWORDS: ReadonlySet<string> = new Set([')', ',', '!', '==', '=', '>', '<', 'in', '!=', 'notin', '(']);
const SPECIAL = '=!(),><';
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(text: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < text.length && isSpace(text[pos]!)) pos++;
    if (pos >= text.length) break;
    const start = pos;
    if (SPECIAL.includes(text[pos]!)) {
      while (pos < text.length && SPECIAL.includes(text[pos]!) && KEYWORDS.has(text.slice(start, pos + 1))) pos++;
      if (pos === start) return [...items, { tok: 'error', lit: `error expected: keyword found '${text[start]!}'` }];
    } else {
      while (pos < text.length && !SPECIAL.includes(text[pos]!) && !isSpace(text[pos]!)) pos++;
    }
    const lit = text.slice(start, pos);
    items.push({ tok: KEYWORDS.has(lit) ? (lit as Token) : 'id', lit });
  }
  items.push({ tok: 'end', lit: '' });
  return items;
}

const BINARY_OPERATORS = 'in, notin, =, ==, !=, gt, lt';
const OPERATOR_TOKENS: Partial<Record<Token, LabelOperator>> = {
  in: 'in',
  notin: 'notin',
  '=': '=',
  '==': '==',
  '!=': '!=',
  '>': 'gt',
  '<': 'lt',
};

class LabelParser {
  #position = 0;

  constructor(readonly items: readonly Item[]) {}

  /** `in`/`notin` read as identifiers where a value or key is expected. */
  #peek(asValue = true): Item {
    const item = this.items[Math.min(this.#position, this.items.length - 1)]!;
    return asValue && (item.tok === 'in' || item.tok === 'notin') ? { tok: 'id', lit: item.lit } : item;
  }

  #next(asValue = true): Item {
    const item = this.#peek(asValue);
    this.#position++;
    return item;
  }

  parse(): LabelRequirement[] {
    const requirements: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.#peek();
      if (tok === 'end') return requirements;
      if (tok !== 'id' && tok !== '!') throw badRequest(`found '${lit}', expected: !, identifier, or 'end of string'`);
      requirements.push(this.#requirement());
      const sep = this.#next();
      if (sep.tok === 'end') return requirements;
      if (sep.tok !== ',') throw badRequest(`found '${sep.lit}', expected: ',' or 'end of string'`);
      const after = this.#peek();
      if (after.tok !== 'id' && after.tok !== '!')
        throw badRequest(`found '${after.lit}', expected: identifier after ','`);
    }
  }

  #requirement(): LabelRequirement {
    try {
      return this.#parseRequirement();
    } catch (err) {
      throw badRequest(`unable to parse requirement: ${(err as Error).message}`);
    }
  }

  #parseRequirement(): LabelRequirement {
    let { tok, lit } = this.#next();
    const negated = tok === '!';
    if (negated) ({ tok, lit } = this.#next());
    if (tok !== 'id') throw new Error(`found '${lit}', expected: identifier`);
    const keyError = qualifiedNameErrors(lit);
    if (keyError.length > 0) throw new Error(`<nil>: Invalid value: ${goQuote(lit)}: ${keyError.join('; ')}`);
    const ahead = this.#peek().tok;
    if (negated || ahead === 'end' || ahead === ',') return newRequirement(lit, negated ? '!' : 'exists', []);
    const op = this.#next(false);
    const operator = OPERATOR_TOKENS[op.tok];
    if (!operator) throw new Error(`found '${op.lit}', expected: ${BINARY_OPERATORS}`);
    const values = operator === 'in' || operator === 'notin' ? this.#values() : this.#exactValue();
    return newRequirement(lit, operator, [...new Set(values)].sort(compare));
  }

  #values(): string[] {
    const open = this.#next();
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.#peek();
    if (tok === ')') {
      this.#next();
      return [''];
    }
    if (tok !== 'id' && tok !== ',') throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const values = this.#identifiers();
    if (this.#next().tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
    return values;
  }

  #identifiers(): string[] {
    const values: string[] = [];
    for (;;) {
      const { tok, lit } = this.#next();
      if (tok === 'id') {
        values.push(lit);
        const after = this.#peek();
        if (after.tok === ')') return values;
        if (after.tok !== ',') throw new Error(`found '${after.lit}', expected: ',' or ')'`);
      } else if (tok === ',') {
        if (values.length === 0) values.push(''); // "(," has an empty value first
        const after = this.#peek().tok;
        if (after === ')') return [...values, ''];
        if (after === ',') {
          this.#next();
          values.push('');
        }
      } else {
        throw new Error(`found '${lit}', expected: ',', or identifier`);
      }
    }
  }

  #exactValue(): string[] {
    const ahead = this.#peek().tok;
    if (ahead === 'end' || ahead === ',') return [''];
    const { tok, lit } = this.#next();
    if (tok !== 'id') throw new Error(`found '${lit}', expected: identifier`);
    return [lit];
  }
}

/** labels.NewRequirement's checks; throws Error (wrapped by callers) with the aggregate message. */
function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errors: string[] = [];
  const keyErrors = qualifiedNameErrors(key);
  if (keyErrors.length > 0) errors.push(`key: Invalid value: ${goQuote(key)}: ${keyErrors.join('; ')}`);
  if ((operator === 'gt' || operator === 'lt') && values.length === 1 && !/^[+-]?\d+$/.test(values[0]!)) {
    errors.push(
      `values[0]: Invalid value: ${goQuote(values[0]!)}: for 'Gt', 'Lt' operators, the value must be an integer`,
    );
  }
  values.forEach((v, i) => {
    const valueErrors = labelValueErrors(v);
    if (valueErrors.length > 0)
      errors.push(`values[${i}][${key}]: Invalid value: ${goQuote(v)}: ${valueErrors.join('; ')}`);
  });
  const unique = [...new Set(errors)];
  if (unique.length > 0) throw badRequest(unique.length === 1 ? unique[0]! : `[${unique.join(', ')}]`);
  return { key, operator, values };
}

// ---- name validation (k8s.io/apimachinery/pkg/util/validation) ----

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

/** validation.RegexError: `msg (e.g. 'a',  or 'b', regex used for validation is 'fmt')`. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

/** validation.IsQualifiedName: `[prefix/]name` label keys. */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  if (parts.length > 2) {
    const detail = regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc');
    return [`a qualified name ${detail} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  const errors: string[] = [];
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  if (parts.length === 2) {
    const prefix = parts[0]!;
    if (prefix.length === 0) errors.push('prefix part must be non-empty');
    else errors.push(...subdomainErrors(prefix).map((e) => `prefix part ${e}`));
  }
  if (name.length === 0) errors.push('name part must be non-empty');
  else if (name.length > 63) errors.push('name part must be no more than 63 characters');
  if (!QUALIFIED_NAME.test(name)) {
    errors.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  }
  return errors;
}

/** validation.IsDNS1123Subdomain. */
function subdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value))
    errors.push(regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN.source.slice(1, -1), 'example.com'));
  return errors;
}

/** validation.IsValidLabelValue: empty, or at most 63 qualified-name characters. */
export function labelValueErrors(value: string): string[] {
  const errors: string[] = [];
  if (Buffer.byteLength(value) > 63) errors.push('must be no more than 63 characters');
  if (value !== '' && !QUALIFIED_NAME.test(value)) {
    errors.push(regexError(LABEL_VALUE_MSG, `(${QUALIFIED_NAME_FMT})?`, 'MyValue', 'my_value', '12345'));
  }
  return errors;
}

// ---- helpers ----

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Byte-wise (UTF-16 code unit) ordering, as Go's sort.Strings does for ASCII keys. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function goQuote(s: string): string {
  return JSON.stringify(s);
}

function goStrings(values: readonly string[]): string {
  return `[]string{${values.map(goQuote).join(', ')}}`;
}
