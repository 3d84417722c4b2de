/**
 * IPv4 addresses as numbers, and the loopback ranges the local control plane splits between
 * pods and Services, so that a Service's virtual address never meets a pod's.
 */

/** 127.255.255.254: 127.255.255.255 is the /8's broadcast address. */
export const LAST_LOOPBACK = ipv4Number(127, 255, 255, 254);

/** 127.239.255.254: the last pod address of a pod range that starts below the Service ranges. */
export const LAST_POD_ADDRESS = ipv4Number(127, 239, 255, 254);

/** The address as a number, or undefined when `text` is not a dotted-quad IPv4 address. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/** The dotted-quad form of an address number. */
export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Whether `n` lies in 127.0.0.0/8. */
export function isLoopback(n: number): boolean {
  return n >>> 24 === 127;
}

function ipv4Number(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
