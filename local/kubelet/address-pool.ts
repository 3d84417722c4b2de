import { formatIPv4, isLoopback, LAST_LOOPBACK, LAST_POD_ADDRESS, parseIPv4 } from '../ipv4.js';

/**
 * Pod addresses: loopback IPv4 addresses handed out in turn from a first address, never one
 * that is in use, up to 127.239.255.254 (127.255.255.254 for a first address above it), so
 * that pods of a range starting below 127.240.0.0 never take a Service's virtual address
 * (see `../ipv4.ts`). Round-robin rather than lowest-free so that an address just released (a
 * deleted pod still named in a hosts file or a client's cache) is not handed to the next pod at
 * once. Pure (no sockets).
 */
export class AddressPool {
  readonly #first: number;
  readonly #size: number;
  readonly #inUse = new Set<number>();
  #next = 0;

  /** @param first the first address, e.g. `127.1.0.1`; must be in 127.0.0.0/8. */
  constructor(first: string) {
    const n = parseIPv4(first);
    if (n === undefined || !isLoopback(n))
      throw new RangeError(`firstAddress must be an IPv4 address in 127.0.0.0/8, got ${first}`);
    this.#first = n;
    this.#size = (n <= LAST_POD_ADDRESS ? LAST_POD_ADDRESS : LAST_LOOPBACK) - n + 1;
  }

  /** Takes a free address. @throws RangeError when every address is in use. */
  allocate(): string {
    for (let tried = 0; tried < this.#size; tried++) {
      const candidate = this.#first + ((this.#next + tried) % this.#size);
      if (this.#inUse.has(candidate)) continue;
      this.#inUse.add(candidate);
      this.#next = (candidate - this.#first + 1) % this.#size;
      return formatIPv4(candidate);
    }
    throw new RangeError(`all ${this.#size} pod addresses are in use`);
  }

  /** Gives an address back; unknown addresses are ignored. */
  release(address: string): void {
    const n = parseIPv4(address);
    if (n !== undefined) this.#inUse.delete(n);
  }

  /** Addresses in use. */
  get size(): number {
    return this.#inUse.size;
  }
}
