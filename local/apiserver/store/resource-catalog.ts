import { BUILTIN_TYPES } from './builtins.js';
import type { ResourceType } from '../types.js';

/** The key objects of a resource are stored under, whatever version a client asks in. */
export function storageKey(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

/**
 * Every resource the server serves: the built-ins, plus the versions of each established CRD.
 * Discovery, routing and validation read it; CRD writes change it at once.
 */
export class ResourceCatalog {
  readonly #types = new Map<string, ResourceType>();
  /** CRD name → the keys of the types it added. */
  readonly #byCrd = new Map<string, string[]>();

  constructor() {
    for (const type of BUILTIN_TYPES) this.#types.set(typeKey(type.group, type.version, type.plural), type);
  }

  /** The resource at `group/version/plural`, if served. */
  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.#types.get(typeKey(group, version, plural));
  }

  /** The served resource of `group` with `kind`, preferring the storage version. */
  findKind(group: string, kind: string): ResourceType | undefined {
    const matches = this.all().filter((t) => t.group === group && t.kind === kind);
    return matches.find((t) => !t.custom || t.storageVersion === t.version) ?? matches[0];
  }

  /** Everything served, built-ins first. */
  all(): ResourceType[] {
    return [...this.#types.values()];
  }

  /** Adds (or replaces) the served versions of the CRD named `crdName`. */
  setCrd(crdName: string, types: readonly ResourceType[]): void {
    this.removeCrd(crdName);
    const keys = types.map((t) => typeKey(t.group, t.version, t.plural));
    types.forEach((t, i) => this.#types.set(keys[i]!, t));
    this.#byCrd.set(crdName, keys);
  }

  /** Stops serving the CRD's resources. */
  removeCrd(crdName: string): void {
    for (const key of this.#byCrd.get(crdName) ?? []) this.#types.delete(key);
    this.#byCrd.delete(crdName);
  }
}

function typeKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}
