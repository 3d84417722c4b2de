/**
 * The OpenAPI schemas of the built-in kinds, built from `@kubernetes/client-node`'s model classes:
 * each class carries its fields' JSON names and types (`V1ObjectMeta`, `Array<V1Container>`,
 * `{ [key: string]: string; }`, `Date`, `IntOrString`, formats), and its declaration file the
 * descriptions ({@link modelDocs}). Definitions are named as the apiserver names them
 * (`io.k8s.api.core.v1.Pod`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`).
 */
import * as models from '@kubernetes/client-node';
import type { ResourceType } from '../types.js';
import { modelDocs } from './model-docs.js';

/** An OpenAPI schema object, as JSON. */
export type OpenApiSchema = Record<string, unknown>;

/** Where an OpenAPI v3 document keeps its schemas; every `$ref` built here points in there. */
export const SCHEMA_REF_PREFIX = '#/components/schemas/';

/** The definition package of the built-in group `group` at `version` (`io.k8s.api.apps.v1`). */
export function definitionPackage(group: string, version: string): string {
  return packageOf(groupPackage(group), version);
}

/**
 * Every definition the built-in kinds of `types` reach, by name; custom resources are skipped,
 * and so is a kind with no model class (its name is then absent from the map).
 */
export function builtinSchemas(types: readonly ResourceType[]): Map<string, OpenApiSchema> {
  const builder = new SchemaBuilder();
  const builtins = types.filter((t) => !t.custom);
  // Core first, so that the types core kinds use are named core even when apps kinds reach them too.
  for (const t of builtins.filter((b) => b.group === '')) builder.root(t);
  for (const name of CORE_SEEDS) builder.visit(name, 'core');
  for (const t of builtins.filter((b) => b.group !== '')) builder.root(t);
  if (types.some((t) => t.scale)) builder.root(SCALE);
  return builder.definitions;
}

/** Names every definition of `definitions` that `start` (any JSON) reaches through `$ref`, directly or not. */
export function reachableDefinitions(definitions: ReadonlyMap<string, OpenApiSchema>, start: unknown): Set<string> {
  const seen = new Set<string>();
  const pending: string[] = [];
  collectRefs(start, pending);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (seen.has(name) || !definitions.has(name)) continue;
    seen.add(name);
    collectRefs(definitions.get(name), pending);
  }
  return seen;
}

/** The autoscaling/v1 Scale every `/scale` subresource reads and writes. */
const SCALE = { group: 'autoscaling', version: 'v1', kind: 'Scale', custom: false } as const;

/** Core types no core kind reaches but apps kinds do (pod templates, a StatefulSet's `volumeClaimTemplates`). */
const CORE_SEEDS = ['V1PodTemplateSpec', 'V1PersistentVolumeClaim'];

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** apimachinery's meta/v1 types among the model classes. */
const META_CLASSES = new Set([
  'V1ObjectMeta',
  'V1ListMeta',
  'V1LabelSelector',
  'V1LabelSelectorRequirement',
  'V1OwnerReference',
  'V1ManagedFieldsEntry',
  'V1Condition',
  'V1Status',
  'V1StatusDetails',
  'V1StatusCause',
  'V1DeleteOptions',
  'V1Preconditions',
]);

/** Definitions for the types the classes give as TypeScript built-ins. */
const LEAVES: Readonly<Record<string, OpenApiSchema>> = {
  [`${META}.Time`]: { type: 'string', format: 'date-time' },
  [`${META}.MicroTime`]: { type: 'string', format: 'date-time-micro' },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
};

/** A group-prefixed class name (`CoreV1Event`, `RbacV1Subject`): the prefix names its package. */
const PREFIXED = /^([A-Z][a-z]+)(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/;
const PLAIN = /^(V\d+(?:alpha\d+|beta\d+)?)([A-Z]\w*)$/;

interface Attribute {
  readonly name: string;
  readonly baseName: string;
  readonly type: string;
  readonly format: string;
}

interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

type KindRef = Pick<ResourceType, 'group' | 'version' | 'kind'>;

class SchemaBuilder {
  readonly definitions = new Map<string, OpenApiSchema>();
  /** Class name → definition name, set before a class's fields are walked (the types are recursive). */
  readonly #names = new Map<string, string>();

  root(t: KindRef): void {
    const pkg = groupPackage(t.group);
    const version = capitalize(t.version);
    const className = [`${capitalize(pkg)}${version}${t.kind}`, `${version}${t.kind}`].find(modelClass);
    if (!className) return;
    const name = this.visit(className, pkg);
    const schema = this.definitions.get(name)!;
    schema['x-kubernetes-group-version-kind'] = [{ group: t.group, kind: t.kind, version: t.version }];
  }

  /** The definition name of `className`, building its schema on the first visit. */
  visit(className: string, pkg: string): string {
    const known = this.#names.get(className);
    if (known) return known;
    const name = definitionName(className, pkg);
    this.#names.set(className, name);
    const attributes = modelClass(className)?.getAttributeTypeMap() ?? [];
    const docs = modelDocs(className);
    const properties: Record<string, OpenApiSchema> = {};
    for (const a of attributes) {
      properties[a.baseName] = described(this.#typeSchema(a.type, a.format, pkg), docs.fields.get(a.name));
    }
    const baseNames = new Map(attributes.map((a) => [a.name, a.baseName]));
    const required = docs.required.map((n) => baseNames.get(n) ?? n);
    this.definitions.set(name, {
      ...(docs.description ? { description: docs.description } : {}),
      type: 'object',
      properties,
      ...(required.length > 0 ? { required } : {}),
    });
    return name;
  }

  #typeSchema(type: string, format: string, pkg: string): OpenApiSchema {
    const array = /^Array<(.+)>$/.exec(type);
    if (array) return { type: 'array', items: this.#typeSchema(array[1]!, format, pkg) };
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) return { type: 'object', additionalProperties: this.#typeSchema(map[1]!, format, pkg) };
    switch (type) {
      case 'string':
      case 'boolean':
        return { type, ...(format ? { format } : {}) };
      case 'number':
        return format.startsWith('int')
          ? { type: 'integer', format }
          : { type: 'number', ...(format ? { format } : {}) };
      case 'Date':
      case 'V1MicroTime':
        return this.#leaf(format === 'date-time-micro' ? `${META}.MicroTime` : `${META}.Time`);
      case 'IntOrString':
        return this.#leaf('io.k8s.apimachinery.pkg.util.intstr.IntOrString');
      case 'any':
        return { 'x-kubernetes-preserve-unknown-fields': true };
      default:
        if (!modelClass(type)) throw new Error(`client-node type ${type} has no model class`);
        return { $ref: `${SCHEMA_REF_PREFIX}${this.visit(type, pkg)}` };
    }
  }

  #leaf(name: string): OpenApiSchema {
    if (!this.definitions.has(name)) this.definitions.set(name, { ...LEAVES[name] });
    return { $ref: `${SCHEMA_REF_PREFIX}${name}` };
  }
}

/** `schema` with a field's description; a described ref goes in `allOf`, as the apiserver's v3 puts it. */
function described(schema: OpenApiSchema, description: string | undefined): OpenApiSchema {
  if (!description) return schema;
  return '$ref' in schema ? { description, allOf: [schema] } : { description, ...schema };
}

/** `className`'s definition name, in package `pkg` unless its name or meta/v1 says otherwise. */
function definitionName(className: string, pkg: string): string {
  if (META_CLASSES.has(className)) return `${META}.${className.slice(2)}`;
  const prefixed = PREFIXED.exec(className);
  if (prefixed) return `${packageOf(prefixed[1]!.toLowerCase(), prefixed[2]!.toLowerCase())}.${prefixed[3]}`;
  const plain = PLAIN.exec(className);
  if (!plain) throw new Error(`client-node class ${className} has no version prefix`);
  return `${packageOf(pkg, plain[1]!.toLowerCase())}.${plain[2]}`;
}

/** The package word of an API group: `core` for the legacy group, else the group's first label. */
function groupPackage(group: string): string {
  return group === '' ? 'core' : (group.split('.')[0] ?? group);
}

function packageOf(pkg: string, version: string): string {
  if (pkg === 'apiextensions') return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${version}`;
  return `io.k8s.api.${pkg}.${version}`;
}

function modelClass(className: string): ModelClass | undefined {
  const value = (models as Record<string, unknown>)[className];
  return typeof value === 'function' && 'getAttributeTypeMap' in value ? (value as unknown as ModelClass) : undefined;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function collectRefs(value: unknown, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v.slice(v.lastIndexOf('/') + 1));
      else collectRefs(v, out);
    }
  }
}
