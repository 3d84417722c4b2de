/**
 * The descriptions and required fields of `@kubernetes/client-node`'s model classes, read from the
 * package's own type declarations (`dist/gen/models/<Class>.d.ts`): the JSDoc there is the field
 * documentation of the Kubernetes API the classes were generated from, and a property declared
 * without `?` is required. Only the installed package is read; nothing of it is copied here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** What a model class's declaration says about it. */
export interface ModelDocs {
  /** The class's JSDoc, or undefined when it has none. */
  readonly description: string | undefined;
  /** Property name (the class's, not always the JSON name) → its JSDoc. */
  readonly fields: ReadonlyMap<string, string>;
  /** Property names declared without `?`. */
  readonly required: readonly string[];
}

const NONE: ModelDocs = { description: undefined, fields: new Map(), required: [] };

/** The folder of the model declarations, resolved once. */
let modelsDir: string | undefined;

/**
 * The docs of the model class `className` (`V1Container`), or empty docs when its declaration
 * file is absent (a package layout without declarations: the schema keeps its structure and
 * loses only its text).
 */
export function modelDocs(className: string): ModelDocs {
  modelsDir ??= join(dirname(createRequire(import.meta.url).resolve('@kubernetes/client-node')), 'gen', 'models');
  let text: string;
  try {
    text = readFileSync(join(modelsDir, `${className}.d.ts`), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return NONE;
    throw new Error(`while reading the declaration of ${className}`, { cause: error });
  }
  return parseDeclaration(text);
}

const PROPERTY = /^\s*'([^']+)'(\?)?:/;
const CLASS = /^export declare class /;

/** Pairs each JSDoc block with the class or property declared on the line after it. */
export function parseDeclaration(text: string): ModelDocs {
  const fields = new Map<string, string>();
  const required: string[] = [];
  let description: string | undefined;
  let pending: string[] | undefined;
  let comment: string | undefined;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (pending) {
      if (trimmed.startsWith('*/')) [comment, pending] = [pending.join(' ').trim(), undefined];
      else pending.push(trimmed.replace(/^\*\s?/, ''));
      continue;
    }
    if (trimmed === '/**') {
      pending = [];
      continue;
    }
    const property = PROPERTY.exec(line);
    if (property) {
      if (comment) fields.set(property[1]!, unescape(comment));
      if (!property[2]) required.push(property[1]!);
    } else if (CLASS.test(line) && comment) {
      description = unescape(comment);
    }
    comment = undefined;
  }
  return { description, fields, required };
}

/** The generator escapes quotes and backslashes inside JSDoc; a description shows them plain. */
function unescape(text: string): string {
  return text.replace(/\\(["'\\])/g, '$1');
}
