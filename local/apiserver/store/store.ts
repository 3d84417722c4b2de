import { gone } from '../errors.js';
import type { KubeObject } from '../types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as kept in the history and handed to watchers. */
export interface StoreEvent {
  readonly type: WatchEventType;
  /** `group/plural` of the object's resource. */
  readonly resource: string;
  /** The object after the change (for DELETED: as it was, with the deletion's resourceVersion). */
  readonly object: KubeObject;
  /** The object before the change (MODIFIED only), so selector watches can see it leave. */
  readonly previous?: KubeObject;
  readonly resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

export interface ObjectStoreOptions {
  /** Changes kept for watches that resume from a resourceVersion (events). Default 10,000. */
  historyLimit?: number;
}

/**
 * The objects of every resource, with one global resourceVersion counter and a bounded
 * history of changes, like etcd behind the Kubernetes API server. Objects handed in are
 * owned by the store from then on (callers pass fresh copies) and handed out frozen in
 * spirit: callers must copy before changing them.
 */
export class ObjectStore {
  readonly #historyLimit: number;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #history: StoreEvent[] = [];
  readonly #listeners = new Set<StoreListener>();
  #resourceVersion = 0;
  /** Watches from a resourceVersion below this are answered 410 Gone. */
  #oldestKept = 0;

  constructor(options: ObjectStoreOptions = {}) {
    const limit = options.historyLimit ?? 10_000;
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new RangeError(`historyLimit must be a positive integer, got ${limit}`);
    this.#historyLimit = limit;
  }

  /** The resourceVersion of the last change (as a number; the API writes it as a string). */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    return this.#objects.get(resource)?.get(key(namespace, name));
  }

  /** Objects of `resource` (in `namespace`, or all when undefined), sorted by namespace and name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const all = this.#objects.get(resource);
    if (!all) return [];
    const keys = [...all.keys()].sort();
    const items = keys.map((k) => all.get(k)!);
    return namespace === undefined ? items : items.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  /** Every resource key that holds objects. */
  resources(): string[] {
    return [...this.#objects.keys()];
  }

  /**
   * Stores `object` (created or replaced), stamping the next resourceVersion into its
   * metadata, records the change and tells the listeners.
   */
  put(resource: string, object: KubeObject): KubeObject {
    const meta = object.metadata!;
    const map = this.#map(resource);
    const k = key(meta.namespace ?? '', meta.name!);
    const previous = map.get(k);
    const rv = ++this.#resourceVersion;
    meta.resourceVersion = String(rv);
    map.set(k, object);
    this.#record(
      previous
        ? { type: 'MODIFIED', resource, object, previous, resourceVersion: rv }
        : { type: 'ADDED', resource, object, resourceVersion: rv },
    );
    return object;
  }

  /** Removes an object; the DELETED event carries it with a new resourceVersion. */
  remove(resource: string, namespace: string, name: string): KubeObject | undefined {
    const map = this.#objects.get(resource);
    const existing = map?.get(key(namespace, name));
    if (!map || !existing) return undefined;
    map.delete(key(namespace, name));
    const rv = ++this.#resourceVersion;
    const object = { ...existing, metadata: { ...existing.metadata, resourceVersion: String(rv) } };
    this.#record({ type: 'DELETED', resource, object, resourceVersion: rv });
    return object;
  }

  /** Removes every object of `resource` (a CRD went away) without events per object. */
  dropResource(resource: string): void {
    this.#objects.delete(resource);
  }

  /**
   * Subscribes to changes after `from` (a resourceVersion): first the kept history after it,
   * then live changes, in order. `from` older than the kept history throws 410 Gone.
   * @returns the function that unsubscribes.
   */
  subscribe(from: number, listener: StoreListener): () => void {
    if (from < this.#oldestKept) {
      throw gone(`too old resource version: ${from} (${this.#oldestKept})`);
    }
    for (const event of this.#history) if (event.resourceVersion > from) listener(event);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Forgets all history (fault injection): every resume from an older version gets 410. */
  expireHistory(): void {
    this.#history.length = 0;
    this.#oldestKept = this.#resourceVersion;
  }

  #map(resource: string): Map<string, KubeObject> {
    let map = this.#objects.get(resource);
    if (!map) {
      map = new Map();
      this.#objects.set(resource, map);
    }
    return map;
  }

  #record(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.#historyLimit);
      this.#oldestKept = dropped[dropped.length - 1]!.resourceVersion;
    }
    for (const listener of this.#listeners) listener(event);
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
