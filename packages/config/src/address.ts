// Entry point listen addresses: `:port`, `host:port` and `[ipv6]:port`, parsed and printed.

export interface HostPort {
  /** Host name or IP literal without brackets; '' means all interfaces. */
  host: string;
  port: number;
}

const PORT = /^[0-9]{1,5}$/;
const NAME = /^[A-Za-z0-9._-]+$/;
// Hex, colons and dots cover every IPv6 form including embedded IPv4; `%zone` is for link-local.
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(%[A-Za-z0-9._-]+)?$/;

/** Returns null rather than throwing: callers turn that into a located configuration error. */
export function parseAddress(address: string): HostPort | null {
  const colon = address.lastIndexOf(':');
  if (colon < 0) return null;
  const portText = address.slice(colon + 1);
  if (!PORT.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;

  const hostText = address.slice(0, colon);
  if (hostText === '') return { host: '', port };
  if (hostText.startsWith('[')) {
    if (!hostText.endsWith(']')) return null;
    const inner = hostText.slice(1, -1);
    return IPV6.test(inner) ? { host: inner, port } : null;
  }
  return NAME.test(hostText) ? { host: hostText, port } : null;
}

export function formatAddress(address: HostPort): string {
  const { host, port } = address;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export type EntryPointProtocol = 'tcp' | 'udp';

/**
 * An entry point's `address` as Traefik reads it: `host:port` optionally followed by `/tcp` or
 * `/udp` (any case; absent means TCP). Null when the protocol or the address is not valid.
 */
export function parseEntryPointAddress(
  address: string,
): (HostPort & { protocol: EntryPointProtocol }) | null {
  const slash = address.indexOf('/');
  const protocol = slash < 0 ? 'tcp' : address.slice(slash + 1).toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') return null;
  const parsed = parseAddress(slash < 0 ? address : address.slice(0, slash));
  return parsed === null ? null : { ...parsed, protocol };
}

/** Whether an entry point address names UDP (`:53/udp`); a broken address is not UDP. */
export function isUdpAddress(address: string): boolean {
  return parseEntryPointAddress(address)?.protocol === 'udp';
}

/** The `host:port` part of an entry point address, without its `/tcp` or `/udp`. */
export function stripProtocol(address: string): string {
  const slash = address.indexOf('/');
  return slash < 0 ? address : address.slice(0, slash);
}
