/** Where an object lives in the collector's caches, and the uids of its owners. */
export interface GraphNode {
  /** The key of its resource (`resourceKey()`), to find the informer that caches it. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly owners: readonly string[];
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The ownerReferences among the objects the garbage collector watches, by uid, in both
 * directions: each object's owners, and each owner's dependents. An owner has dependents here
 * whether it is watched, or exists, or not: that is how a dangling reference is found.
 */
export class OwnerGraph {
  readonly #nodes = new Map<string, GraphNode>();
  readonly #dependents = new Map<string, Set<string>>();

  /** The node of the object with `uid`, if it is watched. */
  get(uid: string): GraphNode | undefined {
    return this.#nodes.get(uid);
  }

  /** Whether the object with `uid` is watched. */
  has(uid: string): boolean {
    return this.#nodes.has(uid);
  }

  /** Records (or replaces) the node of `uid`; returns the owners it had before, none when new. */
  set(uid: string, node: GraphNode): readonly string[] {
    const previous = this.#nodes.get(uid)?.owners ?? [];
    this.#unlink(uid, previous);
    this.#nodes.set(uid, node);
    for (const owner of node.owners) this.#link(uid, owner);
    return previous;
  }

  /** Removes the node of `uid` and returns it; its dependents keep their references to it. */
  delete(uid: string): GraphNode | undefined {
    const node = this.#nodes.get(uid);
    this.#nodes.delete(uid);
    if (node) this.#unlink(uid, node.owners);
    return node;
  }

  /** The uids of the objects that name `uid` among their owners. */
  dependentsOf(uid: string): ReadonlySet<string> {
    return this.#dependents.get(uid) ?? NONE;
  }

  /** The uids of the objects of the resource `key`. */
  uidsOf(key: string): string[] {
    return [...this.#nodes].filter(([, node]) => node.key === key).map(([uid]) => uid);
  }

  /** The uids of the objects that have at least one owner. */
  owned(): string[] {
    return [...this.#nodes].filter(([, node]) => node.owners.length > 0).map(([uid]) => uid);
  }

  #link(uid: string, owner: string): void {
    const set = this.#dependents.get(owner);
    if (set) set.add(uid);
    else this.#dependents.set(owner, new Set([uid]));
  }

  #unlink(uid: string, owners: readonly string[]): void {
    for (const owner of owners) {
      const set = this.#dependents.get(owner);
      set?.delete(uid);
      if (set?.size === 0) this.#dependents.delete(owner);
    }
  }
}
