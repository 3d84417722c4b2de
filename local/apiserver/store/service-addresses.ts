import { formatIPv4, isLoopback, LAST_LOOPBACK, parseIPv4 } from '../../ipv4.js';

/** Options of {@link ServiceAddresses}. */
export interface ServiceAddressesOptions {
  /** The first address of the range (127.0.0.0/8). */
  readonly first: string;
  /** How many addresses the range holds (fewer when 127.255.255.254 comes first). Default 65,534. */
  readonly size?: number;
  /** Picks where a search for a free address starts, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

const DEFAULTS = { size: 65_534, random: Math.random };

/**
 * A random first Service address, 127.[240..254].x.1: with a 65,534-address range it stays in
 * 127.240.0.0–127.255.255.254, above every pod range that starts below 127.240.0.0 (see
 * `randomFirstPodAddress`), and two clusters on one machine are unlikely to share it.
 */
export function randomFirstServiceAddress(random: () => number = Math.random): string {
  return `127.${240 + Math.floor(random() * 15)}.${Math.floor(random() * 256)}.1`;
}

/**
 * A cluster's Service IP range: which addresses it holds, and a free one picked at random, as
 * the API server's allocator picks. Pure: what is in use is handed in (the stored Services'
 * addresses), so a deleted Service releases its address and a dry run reserves none.
 */
export class ServiceAddresses {
  readonly #first: number;
  readonly #size: number;
  readonly #random: () => number;

  constructor(options: ServiceAddressesOptions) {
    const resolved = { ...DEFAULTS, ...options };
    const first = parseIPv4(resolved.first);
    if (first === undefined || !isLoopback(first) || first > LAST_LOOPBACK) {
      throw new RangeError(`firstServiceAddress must be an IPv4 address in 127.0.0.0/8, got ${resolved.first}`);
    }
    if (!Number.isInteger(resolved.size) || resolved.size < 1) {
      throw new RangeError(`serviceAddressCount must be a positive integer, got ${resolved.size}`);
    }
    this.#first = first;
    this.#size = Math.min(resolved.size, LAST_LOOPBACK - first + 1);
    this.#random = resolved.random;
  }

  /** The range as the API server's messages name it: `first-last`. */
  get range(): string {
    return `${formatIPv4(this.#first)}-${formatIPv4(this.#first + this.#size - 1)}`;
  }

  /** Whether `address` is in the range. */
  contains(address: string): boolean {
    const n = parseIPv4(address);
    return n !== undefined && n >= this.#first && n < this.#first + this.#size;
  }

  /** A free address (random start, then the next free one), or undefined when all are in use. */
  pick(inUse: ReadonlySet<string>): string | undefined {
    const start = Math.floor(this.#random() * this.#size);
    for (let tried = 0; tried < this.#size; tried++) {
      const candidate = formatIPv4(this.#first + ((start + tried) % this.#size));
      if (!inUse.has(candidate)) return candidate;
    }
    return undefined;
  }
}
