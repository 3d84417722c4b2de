/**
 * The part of `hashring` 3.2 (node_modules/hashring/index.js, CommonJS, no bundled types)
 * that the ring benchmark uses, including the internal continuum it reads for exact arcs.
 */
declare module 'hashring' {
  /** One continuum point: `value` is a uint32 position, `server` the server string. */
  interface HashRingNode {
    readonly value: number;
    readonly server: string;
  }

  class HashRing {
    /** Default options: md5, 40 vnodes x 4 replicas = 160 points per server, LRU of 5000 keys. */
    constructor(servers?: readonly string[], algorithm?: string, options?: Record<string, unknown>);
    /** The continuum, sorted by `value` (internal, read-only here). */
    readonly ring: readonly HashRingNode[];
    /** Number of continuum points. */
    readonly size: number;
    /** The server owning `key`: first point with value >= hashValue(key), wrapping to 0. */
    get(key: string): string | undefined;
    /** Index in `ring` of the point owning a hash value. */
    find(hashValue: number): number;
    /** The uint32 hash of a key (first 4 bytes of its md5, little-endian). */
    hashValue(key: string): number;
  }

  export = HashRing;
}
