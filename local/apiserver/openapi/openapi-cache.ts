/**
 * The OpenAPI documents of one served set, built once: full schemas make a group-version
 * document hundreds of kilobytes and the root hashes every one of them, while the set only
 * changes when a CRD is written.
 */
import { servedAt } from '../http/discovery.js';
import { openApiV3GroupVersion, openApiV3Root } from '../http/openapi.js';
import type { ResourceType } from '../types.js';
import { builtinSchemas, type OpenApiSchema } from './builtin-schemas.js';
import { openApiV2 } from './openapi-v2.js';
import { encodeOpenApiV2 } from './openapi-v2-protobuf.js';

type Json = Record<string, unknown>;

interface ServedSet {
  readonly key: string;
  readonly types: readonly ResourceType[];
  readonly groupVersions: Map<string, Json | undefined>;
  root?: Json;
  v2?: { readonly json: Json; readonly protobuf: Uint8Array };
}

/**
 * Keeps the documents of the latest served set (and the built-in definitions of the latest set
 * of built-ins) and rebuilds them when a request brings a different set. A set is known by the
 * identity of its {@link ResourceType} objects: the catalog replaces a CRD's objects when the
 * CRD changes and never mutates them.
 */
export class OpenApiCache {
  readonly #ids = new WeakMap<ResourceType, number>();
  #nextId = 0;
  #builtins: { readonly key: string; readonly definitions: Map<string, OpenApiSchema> } | undefined;
  #set: ServedSet | undefined;

  /** The `/openapi/v3` root of `types`. */
  root(types: readonly ResourceType[]): Json {
    const set = this.#served(types);
    set.root ??= openApiV3Root(types, (g, v) => this.#groupVersion(set, g, v));
    return set.root;
  }

  /** The `/openapi/v3/<group-version>` document of `types`, or undefined when nothing is served there. */
  groupVersion(types: readonly ResourceType[], group: string, version: string): Json | undefined {
    return this.#groupVersion(this.#served(types), group, version);
  }

  /** The `/openapi/v2` document of `types`: as JSON, and as the gnostic `openapi_v2.Document` protobuf. */
  v2(types: readonly ResourceType[]): { readonly json: Json; readonly protobuf: Uint8Array } {
    const set = this.#served(types);
    if (!set.v2) {
      const pairs = new Map(types.map((t) => [`${t.group}/${t.version}`, t]));
      const documents = [...pairs.values()].map((t) => this.#groupVersion(set, t.group, t.version));
      const json = openApiV2(documents.filter((d) => d !== undefined));
      set.v2 = { json, protobuf: encodeOpenApiV2(json) };
    }
    return set.v2;
  }

  #groupVersion(set: ServedSet, group: string, version: string): Json | undefined {
    const key = `${group}/${version}`;
    if (!set.groupVersions.has(key)) {
      const definitions = this.#definitions(set.types);
      set.groupVersions.set(key, openApiV3GroupVersion(servedAt(set.types, group, version), definitions));
    }
    return set.groupVersions.get(key);
  }

  #served(types: readonly ResourceType[]): ServedSet {
    const key = this.#key(types);
    if (this.#set?.key !== key) this.#set = { key, types, groupVersions: new Map() };
    return this.#set;
  }

  #definitions(types: readonly ResourceType[]): Map<string, OpenApiSchema> {
    // builtinSchemas reads only the built-ins, and whether any kind has a scale subresource.
    const key = `${this.#key(types.filter((t) => !t.custom))}/${types.some((t) => t.scale)}`;
    if (this.#builtins?.key !== key) this.#builtins = { key, definitions: builtinSchemas(types) };
    return this.#builtins.definitions;
  }

  #key(types: readonly ResourceType[]): string {
    return types.map((t) => this.#id(t)).join(',');
  }

  #id(type: ResourceType): number {
    let id = this.#ids.get(type);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(type, id);
    }
    return id;
  }
}
