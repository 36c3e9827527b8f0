// A `tls.options` entry as Node's TLS settings: ciphers, versions, curves, ALPN, client authentication. Pure.
import { constants } from 'node:crypto';
import type { ClientAuthType, TlsOptions } from '@berth/config';
import { nodeTlsVersion, opensslCipherName, TLS13_SUITES } from '@berth/config';
import { ACME_TLS_ALPN } from './acme-tls-alpn.js';

/** Go's curve names (and the `secp256r1` spellings) → OpenSSL's group names. */
const CURVES: Readonly<Record<string, string>> = {
  curvep256: 'P-256',
  curvep384: 'P-384',
  curvep521: 'P-521',
  x25519: 'X25519',
  secp256r1: 'P-256',
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  'p-256': 'P-256',
  'p-384': 'P-384',
  'p-521': 'P-521',
};

/** What the secure context is built from (everything but the certificate). */
export interface ContextSettings {
  /** OpenSSL cipher list, TLS 1.3 suites included (they cannot be disabled). */
  ciphers: string;
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** Colon-separated groups, or undefined for Node's default. */
  ecdhCurve: string | undefined;
  /** `SSL_OP_*` flags. */
  secureOptions: number;
  /** CA PEMs client certificates are verified against. */
  ca: string[];
}

/** What the TLS socket is created with. */
export interface SocketSettings {
  /** ALPN protocols offered to an HTTP client; a TCP router offers none. */
  alpn: string[];
  clientAuth: ClientAuthType;
  /** Ask the client for a certificate. */
  requestCert: boolean;
}

export interface ServerSettings {
  context: ContextSettings;
  socket: SocketSettings;
}

export const DEFAULT_ALPN: readonly string[] = ['h2', 'http/1.1'];

/**
 * Node's settings for one `tls.options` entry. Unknown suite and curve names are dropped (the
 * controller reports them); TLS 1.0 and 1.1 also need OpenSSL's security level 0, since their
 * handshake signatures use SHA-1.
 */
export function serverSettings(options: TlsOptions): ServerSettings {
  const minVersion = nodeTlsVersion(options.minVersion ?? 'VersionTLS12');
  const maxVersion = nodeTlsVersion(options.maxVersion ?? 'VersionTLS13');
  const legacy = minVersion === 'TLSv1' || minVersion === 'TLSv1.1';
  const suites: string[] = [];
  for (const iana of options.cipherSuites ?? []) {
    const name = opensslCipherName(iana);
    if (name !== undefined && !TLS13_SUITES.includes(name) && !suites.includes(name)) suites.push(name);
  }
  const tls12 = options.cipherSuites === undefined || suites.length === 0 ? DEFAULT_TLS12 : suites.join(':');
  const ciphers = `${TLS13_SUITES.join(':')}:${tls12}${legacy ? ':@SECLEVEL=0' : ''}`;
  const curves = (options.curvePreferences ?? [])
    .map((c) => CURVES[c.toLowerCase()])
    .filter((c): c is string => c !== undefined);
  const clientAuth = options.clientAuth?.clientAuthType ?? 'NoClientCert';
  let secureOptions = 0;
  if (options.disableSessionTickets === true) secureOptions |= constants.SSL_OP_NO_TICKET;
  return {
    context: {
      ciphers,
      minVersion,
      maxVersion,
      ecdhCurve: curves.length === 0 ? undefined : [...new Set(curves)].join(':'),
      secureOptions,
      ca: clientAuth === 'NoClientCert' ? [] : [...(options.clientAuth?.caFiles ?? [])],
    },
    socket: {
      // `acme-tls/1` (in Traefik's default list) is negotiated only with a challenge certificate
      // (see acme-tls-alpn.ts), never with the certificate of a route.
      alpn: (options.alpnProtocols ?? DEFAULT_ALPN).filter((p) => p !== ACME_TLS_ALPN),
      clientAuth,
      requestCert: clientAuth !== 'NoClientCert',
    },
  };
}

/** Go's default TLS 1.2 suites (ECDHE with AEAD first, then ECDHE CBC and RSA key exchange), as Traefik serves without `cipherSuites`. */
const DEFAULT_TLS12 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA',
  'AES256-SHA',
].join(':');

/**
 * After the handshake: does the client certificate satisfy the mode? `verifyError` is OpenSSL's
 * verdict on the chain against the CAs (null: verified), `presented` whether a certificate came.
 */
export function clientCertAccepted(
  mode: ClientAuthType,
  presented: boolean,
  verifyError: string | null,
): boolean {
  switch (mode) {
    case 'NoClientCert':
    case 'RequestClientCert':
      return true;
    case 'RequireAnyClientCert':
      return presented;
    case 'VerifyClientCertIfGiven':
      return !presented || verifyError === null;
    case 'RequireAndVerifyClientCert':
      return presented && verifyError === null;
  }
}
