// The name Berth gives a server it opens TLS to: SNI for a DNS name, never an IP literal (RFC 6066 §3), and the certificate checked against either.
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { buildConnector } from 'undici';
import { undici } from '../http/undici-loader.js';

/** `tls.connect` options naming the server. */
export interface ServerNameOptions {
  /** Empty for an IP address: no SNI, and node:https does not fill one in from the Host header. */
  servername: string;
  checkServerIdentity?: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** An IP address, with or without the brackets of a URL's IPv6 host. */
export function isIpLiteral(name: string): boolean {
  return isIP(unbracketed(name)) !== 0;
}

/**
 * SNI `name` for a DNS name. An IP address cannot be sent as SNI (Node warns, DEP0123, and will
 * refuse it): no SNI then, and the certificate must name that address (an IP SAN), as it would
 * have had to with the address in SNI.
 */
export function serverNameOptions(name: string): ServerNameOptions {
  const address = unbracketed(name);
  if (isIP(address) === 0) return { servername: name };
  return { servername: '', checkServerIdentity: (_host, cert) => checkServerIdentity(address, cert) };
}

/**
 * undici's connector for these options, never sending an IP as SNI. The forwarder names an IP
 * server by its address so that undici does not take the client's Host header instead; that
 * name is dropped before the handshake, and undici's connector then sends no SNI for an IP
 * origin (and the configured name otherwise), checking the certificate against the address.
 */
export function serverConnector(options: buildConnector.BuildOptions): buildConnector.connector {
  const servername = (options as { servername?: unknown }).servername;
  const connector = undici().buildConnector(
    typeof servername === 'string' && servername !== ''
      ? { ...options, ...serverNameOptions(servername) }
      : options,
  );
  return (opts, callback) => {
    if (!opts.servername || !isIpLiteral(opts.servername)) {
      connector(opts, callback);
      return;
    }
    const { servername: _ip, ...named } = opts;
    connector(named, callback);
  };
}

/**
 * The name a server's certificate is checked against: the transport's `serverName`, else the
 * URL's host, as Traefik does (never the client's Host header).
 */
export function serverNameFor(url: URL, configured: string | undefined): string {
  return configured ?? unbracketed(url.hostname);
}

function unbracketed(name: string): string {
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}
