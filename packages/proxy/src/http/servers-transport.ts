// `http.serversTransports` turned into undici pool options, one entry per name, built once per snapshot. Pure.
import { createHash } from 'node:crypto';
import type { HttpService, ServersTransport } from '@berth/config';
import { nodeTlsVersion, opensslCipherName, TLS13_SUITES } from '@berth/config';
import type { Pool } from 'undici';
import { durationMs } from './entry-point-settings.js';

/** How connections to servers are made; pools are shared only between equal transports. */
export interface TransportSettings {
  /** Equal for equal settings, so an unchanged transport keeps its warm pools across snapshots. */
  key: string;
  pool: Pool.Options;
  /** The same settings for connections made outside undici (Upgrade requests). */
  dialTimeoutMs: number;
  responseHeaderTimeoutMs: number;
  tls: TlsSettings;
  /** PROXY protocol version sent on every connection: such pools are per client connection. */
  proxyProtocol?: 1 | 2;
}

export interface TlsSettings {
  servername?: string;
  ca?: string[];
  rejectUnauthorized?: boolean;
  /** Client certificate and key (PEM) for servers that require mTLS. */
  cert?: string;
  key?: string;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list: the configured TLS 1.2 suites, TLS 1.3 suites always (as Go). */
  ciphers?: string;
}

/** The transport used when a service names none (Traefik's `default`). */
export const DEFAULT_TRANSPORT_NAME = 'default';

/**
 * Traefik-like defaults: no response-header or body deadline (long polls and streams are
 * legitimate), a bounded connect, idle connections kept 90 s.
 */
const DEFAULT_DIAL_MS = 30_000;
const DEFAULT_IDLE_CONN_MS = 90_000;

export function transportSettings(transport: ServersTransport | undefined): TransportSettings {
  const t = transport ?? {};
  const timeouts = t.forwardingTimeouts;
  const idle = durationMs(timeouts?.idleConnTimeout, DEFAULT_IDLE_CONN_MS);
  const dialTimeoutMs = durationMs(timeouts?.dialTimeout, DEFAULT_DIAL_MS);
  const responseHeaderTimeoutMs = durationMs(timeouts?.responseHeaderTimeout, 0);
  const tls: TlsSettings = {};
  if (t.serverName) tls.servername = t.serverName;
  if (t.rootCAs?.length) tls.ca = t.rootCAs;
  if (t.insecureSkipVerify) tls.rejectUnauthorized = false;
  if (t.minVersion) tls.minVersion = nodeTlsVersion(t.minVersion);
  if (t.maxVersion) tls.maxVersion = nodeTlsVersion(t.maxVersion);
  const ciphers = clientCiphers(t.cipherSuites, tls.minVersion);
  if (ciphers !== undefined) tls.ciphers = ciphers;
  // The controller replaced the files by their PEM text; Traefik presents the first pair too.
  const client = t.certificates?.[0];
  if (client?.certFile.includes('-----BEGIN') && client.keyFile.includes('-----BEGIN')) {
    tls.cert = client.certFile;
    tls.key = client.keyFile;
  }
  // As Go's transport in Traefik: HTTP/2 offered to https servers (ALPN) unless `disableHTTP2`.
  const allowH2 = t.disableHTTP2 !== true;
  const connect = { timeout: dialTimeoutMs, ...tls, allowH2 };
  // The pool key must tell client identities apart without carrying the private key around.
  const identity =
    tls.cert === undefined ? '' : createHash('sha256').update(`${tls.cert}\0${tls.key}`).digest('hex');
  const keyed = { ...connect, cert: identity, key: undefined };
  const pool: Pool.Options = {
    headersTimeout: responseHeaderTimeoutMs,
    bodyTimeout: 0,
    // undici takes the server's Keep-Alive hint when given; both bounds keep it within ours.
    keepAliveTimeout: idle > 0 ? idle : 1,
    keepAliveMaxTimeout: idle > 0 ? idle : 1,
    connect,
    allowH2,
  };
  const max = t.maxConnsPerHost;
  if (typeof max === 'number' && Number.isInteger(max) && max > 0) pool.connections = max;
  // undici cannot bound idle connections apart from all connections: maxIdleConnsPerHost is not applied.
  const proxyProtocol = t.proxyProtocol ? (t.proxyProtocol.version ?? 2) : undefined;
  return {
    key: JSON.stringify([responseHeaderTimeoutMs, idle, keyed, pool.connections ?? 0, proxyProtocol ?? 0]),
    pool,
    dialTimeoutMs,
    responseHeaderTimeoutMs,
    tls,
    ...(proxyProtocol !== undefined ? { proxyProtocol } : {}),
  };
}

/**
 * Node's cipher list for `cipherSuites` (Go/IANA names; unknown ones were reported by the
 * controller and are dropped). TLS 1.0 and 1.1 sign with SHA-1, which needs security level 0.
 */
function clientCiphers(
  suites: readonly string[] | undefined,
  min: TlsSettings['minVersion'],
): string | undefined {
  const legacy = min === 'TLSv1' || min === 'TLSv1.1';
  const names = [
    ...new Set(
      (suites ?? []).map(opensslCipherName).filter((n) => n !== undefined && !TLS13_SUITES.includes(n)),
    ),
  ];
  if (names.length === 0) return legacy ? `DEFAULT:@SECLEVEL=0` : undefined;
  return `${TLS13_SUITES.join(':')}:${names.join(':')}${legacy ? ':@SECLEVEL=0' : ''}`;
}

export const DEFAULT_TRANSPORT: TransportSettings = transportSettings(undefined);

/** A snapshot's transports by name, and which one each load-balanced service uses. */
export class TransportTable {
  readonly #byName = new Map<string, TransportSettings>();
  readonly #byService = new Map<string, string>();
  readonly #default: TransportSettings;

  constructor(
    transports: Readonly<Record<string, ServersTransport>> | undefined,
    services: Readonly<Record<string, HttpService>> | undefined,
  ) {
    for (const [name, t] of Object.entries(transports ?? {})) this.#byName.set(name, transportSettings(t));
    // Traefik lets a `default` entry replace the built-in default transport.
    this.#default = this.#byName.get(DEFAULT_TRANSPORT_NAME) ?? DEFAULT_TRANSPORT;
    // Object.keys, not entries: no pair per service at 10,000 services.
    const all = services ?? {};
    for (const name of Object.keys(all)) {
      const ref = all[name]?.loadBalancer?.serversTransport;
      if (typeof ref === 'string' && ref !== '') this.#byService.set(name, ref);
    }
  }

  /**
   * Services `names` of `services` changed (a delta's): their transports are looked up again,
   * in place. The table is the live one, so call it when swapping in the runtime they belong to.
   */
  updateServices(services: Readonly<Record<string, HttpService>>, names: Iterable<string>): void {
    for (const name of names) {
      const ref = Object.hasOwn(services, name) ? services[name]?.loadBalancer?.serversTransport : undefined;
      if (typeof ref === 'string' && ref !== '') this.#byService.set(name, ref);
      else this.#byService.delete(name);
    }
  }

  /** The named transport; the default one for no name or an unknown name (validation reports those). */
  get(name: string | undefined): TransportSettings {
    if (name === undefined) return this.#default;
    return this.#byName.get(name) ?? this.#default;
  }

  /** The transport name a service's `loadBalancer.serversTransport` gives, if any. */
  nameForService(service: string): string | undefined {
    return this.#byService.get(service);
  }

  /** Keys of every transport in the table, so pools of the others can be retired. */
  keys(): Set<string> {
    const keys = new Set<string>([this.#default.key]);
    for (const t of this.#byName.values()) keys.add(t.key);
    return keys;
  }
}
