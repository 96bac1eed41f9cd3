// The address a request really comes from, which the login and register throttles key
// on. Behind a load balancer every connection comes from the balancer, so its
// X-Forwarded-For is believed — but only when the connection comes from a configured
// proxy CIDR (anyone else can write any header), and only up to the right-most entry not
// written by a trusted proxy: entries to its left were supplied by the client itself.
import { BlockList, isIP } from 'node:net';

/** Entries of X-Forwarded-For looked at, from the right (bounded work per request). */
const MAX_HOPS = 16;

/** `::ffff:10.0.0.1` -> `10.0.0.1`, `[::1]:443` -> `::1`, `10.0.0.1:80` -> `10.0.0.1`. */
export function normalizeAddress(text: string): string {
  let s = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1];
  else if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(s)) s = s.slice(0, s.lastIndexOf(':'));
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return (mapped ? mapped[1] : s).toLowerCase();
}

export class ClientAddressResolver {
  private readonly trusted = new BlockList();
  private readonly anyTrusted: boolean;

  /** @param trustedProxies CIDRs (or bare addresses) of the proxies in front of this node. */
  constructor(trustedProxies: readonly string[] = []) {
    for (const entry of trustedProxies) {
      const [address, bits] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      const prefix = bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits);
      this.trusted.addSubnet(normalizeAddress(address), prefix, family);
    }
    this.anyTrusted = trustedProxies.length > 0;
  }

  isTrusted(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.trusted.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }

  /**
   * @param peer the TCP peer of the connection
   * @param forwardedFor the X-Forwarded-For header(s), if any
   */
  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    let client = normalizeAddress(peer ?? 'unknown');
    if (!this.anyTrusted || forwardedFor === undefined || !this.isTrusted(client)) return client;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_HOPS; i--, seen++) {
      const hop = normalizeAddress(hops[i]);
      if (hop === '') continue;
      // Not an address: whoever wrote it is not a proxy we trust; its writer (the
      // trusted hop to its right) is the best we know.
      if (isIP(hop) === 0) return client;
      client = hop;
      if (!this.isTrusted(hop)) return hop;
    }
    return client;
  }
}
