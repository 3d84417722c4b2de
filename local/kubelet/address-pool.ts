/**
 * Pod addresses: loopback IPv4 addresses handed out in turn from a first address up to
 * 127.255.255.254, never one that is in use. Round-robin rather than lowest-free so that an
 * address just released (a deleted pod still named in a hosts file or a client's cache) is
 * not handed to the next pod at once. Pure (no sockets).
 */
export class AddressPool {
  readonly #first: number;
  readonly #size: number;
  readonly #inUse = new Set<number>();
  #next = 0;

  /** @param first the first address, e.g. `127.1.0.1`; must be in 127.0.0.0/8. */
  constructor(first: string) {
    const n = parseIPv4(first);
    if (n === undefined || n >>> 24 !== 127)
      throw new RangeError(`firstAddress must be an IPv4 address in 127.0.0.0/8, got ${first}`);
    this.#first = n;
    this.#size = LAST - n + 1;
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

/** 127.255.255.254: 127.255.255.255 is the /8's broadcast address. */
const LAST = (127 * 2 ** 24 + 255 * 2 ** 16 + 255 * 2 ** 8 + 254) >>> 0;

function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
