// `host:port` addresses (listen addresses, peers' gRPC addresses), parsed in one place.

/** `host:port`, `[v6]:port` or `:port` (host '': every interface). Throws on anything else. */
export function parseHostPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65_535) throw new Error(`bad address ${address}; expected host:port`);
  return { host: match[1] ?? match[2], port };
}
