import { promises as dns } from 'node:dns';
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';

/**
 * Host name resolution for the runtimes (gateway, proxy, push dial canonical member hosts
 * such as `im-3.im.default.svc.cluster.local`). In a cluster, system DNS answers; on the local
 * control plane, its DNS controller writes an `/etc/hosts`-format file and `IMRING_HOSTS_FILE`
 * points at it. Names found in the file win; others go to system DNS, except cluster service
 * names (a `svc` label before the cluster domain, as in `im-0.im.default.svc.cluster.local`):
 * with a hosts file those are the control plane's alone, so a name it does not list (a pod
 * gone) fails at once, as cluster DNS answers NXDOMAIN, instead of waiting out a system
 * resolver that has no such zone.
 */
export interface Resolver {
  /** An IP address for `host` (an IP literal is returned as it is). Rejects naming the host. */
  resolve(host: string): Promise<string>;
  /** Stops resolving; later calls reject. Idempotent. */
  close(): void;
}

/**
 * The variable naming the hosts file the resolver reads before DNS: `imring local` sets it on its
 * pods (they have no cluster DNS); unset on a cluster.
 */
export const HOSTS_FILE_ENV = 'IMRING_HOSTS_FILE';

/** Options of {@link createResolver}; all have defaults. */
export interface ResolverOptions {
  /** The hosts file to read. Default `process.env.IMRING_HOSTS_FILE`; unset or empty: none. */
  readonly hostsFile?: string;
  /**
   * Resolution of names not in the file (cluster service names excepted, when there is a file).
   * Default: `dns.promises.lookup`, first address.
   */
  readonly lookup?: (host: string) => Promise<string>;
  /** Told once each time the hosts file goes missing or unreadable (it then counts as empty). */
  readonly onWarning?: (message: string) => void;
  /** Shortest interval between checks of the file for changes, in ms. Default 250. */
  readonly checkIntervalMs?: number;
  /** The clock, in ms. Default `Date.now`. */
  readonly now?: () => number;
}

const DEFAULTS = { checkIntervalMs: 250, now: Date.now };

/** Creates a {@link Resolver}. Options are validated at once. */
export function createResolver(options: ResolverOptions = {}): Resolver {
  const hostsFile = options.hostsFile ?? (process.env[HOSTS_FILE_ENV] || undefined);
  const checkIntervalMs = options.checkIntervalMs ?? DEFAULTS.checkIntervalMs;
  if (!Number.isFinite(checkIntervalMs) || checkIntervalMs < 0)
    throw new RangeError(`checkIntervalMs must be a non-negative number of ms, got ${checkIntervalMs}`);
  if (hostsFile !== undefined && (typeof hostsFile !== 'string' || hostsFile === ''))
    throw new TypeError('hostsFile must be a non-empty path');
  const lookup = options.lookup ?? systemLookup;
  const hosts =
    hostsFile === undefined
      ? undefined
      : new HostsFile({
          file: hostsFile,
          checkIntervalMs,
          now: options.now ?? DEFAULTS.now,
          onWarning: options.onWarning,
        });
  let closed = false;
  return {
    async resolve(host: string): Promise<string> {
      if (closed) throw new Error(`cannot resolve ${host}: the resolver is closed`);
      const literal = ipLiteral(host);
      if (literal !== undefined) return literal;
      const name = normalize(host);
      try {
        if (hosts === undefined) return await lookup(name);
        const listed = await hosts.lookup(name);
        if (listed !== undefined) return listed;
        if (isClusterServiceName(name)) throw new Error(`${name} is not in the hosts file ${hostsFile}`);
        return await lookup(name);
      } catch (error) {
        throw new Error(`cannot resolve ${host}`, { cause: error });
      }
    },
    close(): void {
      closed = true;
    },
  };
}

/**
 * Parses `/etc/hosts` text: `address name [alias…]` per line, `#` comments. The first address
 * listed for a name wins (as glibc's files backend answers). Names are case-insensitive.
 */
export function parseHosts(text: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#');
    const [address, ...names] = (hash < 0 ? raw : raw.slice(0, hash)).trim().split(/\s+/);
    if (!address || isIP(address) === 0) continue;
    for (const name of names) {
      const key = normalize(name);
      if (!entries.has(key)) entries.set(key, address);
    }
  }
  return entries;
}

/** The address of an IP literal (`[::1]` → `::1`), or undefined for a name. */
function ipLiteral(host: string): string | undefined {
  if (isIP(host) !== 0) return host;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : undefined;
  return bare !== undefined && isIP(bare) === 6 ? bare : undefined;
}

/** A Kubernetes service or pod-of-service DNS name: `…<service>.<namespace>.svc.<domain>`. */
function isClusterServiceName(name: string): boolean {
  const labels = name.split('.');
  const svc = labels.indexOf('svc');
  return svc >= 2 && svc < labels.length - 1;
}

/** Lower case, without the root's trailing dot (`a.b.` and `A.b` are one name). */
function normalize(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

async function systemLookup(host: string): Promise<string> {
  const { address } = await dns.lookup(host);
  return address;
}

interface HostsFileInit {
  readonly file: string;
  readonly checkIntervalMs: number;
  readonly now: () => number;
  readonly onWarning: ((message: string) => void) | undefined;
}

/**
 * A hosts file cached as a Map, re-read when it changes. The hot path is one Map lookup: the
 * file is stat'ed at most once per `checkIntervalMs`, and read only when its inode, size or
 * mtime moved (an atomic replace always changes the inode).
 */
class HostsFile {
  readonly #init: HostsFileInit;
  #entries = new Map<string, string>();
  #version = '';
  #checkedAt = Number.NEGATIVE_INFINITY;
  #checking: Promise<void> | undefined;
  #warned = false;

  constructor(init: HostsFileInit) {
    this.#init = init;
  }

  async lookup(name: string): Promise<string | undefined> {
    if (this.#checking === undefined && this.#init.now() - this.#checkedAt >= this.#init.checkIntervalMs) {
      this.#checking = this.#refresh().finally(() => (this.#checking = undefined));
    }
    // Concurrent lookups share one check, and every lookup that arrives during it waits for
    // it: answering from the entries it is replacing (empty at first) would miss names.
    if (this.#checking !== undefined) await this.#checking;
    return this.#entries.get(name);
  }

  async #refresh(): Promise<void> {
    this.#checkedAt = this.#init.now();
    try {
      const info = await stat(this.#init.file);
      const version = `${info.ino}:${info.size}:${info.mtimeMs}`;
      if (version === this.#version) return;
      this.#entries = parseHosts(await readFile(this.#init.file, 'utf8'));
      this.#version = version;
      this.#warned = false;
    } catch (error) {
      // Missing = no entries, like an empty file: the names go to system DNS.
      this.#entries = new Map();
      this.#version = '';
      this.#warnOnce(`hosts file ${this.#init.file} not read (${(error as Error).message}); using system DNS only`);
    }
  }

  #warnOnce(message: string): void {
    if (this.#warned) return;
    this.#warned = true;
    this.#init.onWarning?.(message);
  }
}
